"""The pgboard-server command in a subprocess: crash safety (SIGKILL), clean shutdown, --help."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import reliability
from support import WAIT, Closed, RawClient, ServerProcess

from pgboard import ids
from pgboard.protocol import (
    Add,
    BoardObject,
    CatchUp,
    Codec,
    Error,
    Hello,
    Message,
    Obj,
    UserJoined,
    UserLeft,
)

BATCH = 100


ARTIST = ids.scoped(ids.device_id("artist-secret"), "")  # the prefix of the artist's object ids


def batch(n: int) -> bytes:
    return b"".join(
        Codec.send(Add(f"op{i}", BoardObject(f"{ARTIST}o{i}", "line", ((i % 3000, 5), (i % 3000 + 40, 90)))))
        for i in range(n * BATCH, (n + 1) * BATCH)
    )


def read_to_the_end(c: RawClient, into: list[Message]) -> None:
    try:
        while True:
            into.append(c.recv(WAIT))
    except (Closed, ConnectionError):
        pass


@pytest.mark.reliability
def test_sigkill_during_heavy_drawing_loses_nothing_that_was_echoed(tmp_path: Path) -> None:
    started = time.monotonic()
    db = tmp_path / "board.sqlite3"
    server = ServerProcess(db, "--no-rate-limits", log_path=tmp_path / "server.log")  # drawing flat out
    seen_a: list[Message] = []
    seen_b: list[Message] = []
    try:
        a, b = RawClient(server.address), RawClient(server.address)
        a.join("artist", client="artist-secret")
        a.catch_up()
        b.join("watcher")
        b.catch_up()
        watcher = threading.Thread(target=read_to_the_end, args=(b, seen_b))
        watcher.start()
        for n in range(20):  # 2000 operations, acknowledged batch by batch
            a.send_bytes(batch(n))
            a.recv_until(lambda m, last=f"op{(n + 1) * BATCH - 1}": isinstance(m, Add) and m.oid == last)
        a.send_bytes(batch(20) + batch(21))
        a.recv_until(Add)  # at least one of these echoed: the server is busy with them
        rss = reliability.peak_rss_mib(server.proc.pid)  # before the kill: /proc forgets it after
        server.signal(signal.SIGKILL)
        assert server.wait() == -signal.SIGKILL
        read_to_the_end(a, seen_a)
        watcher.join(WAIT)
    finally:
        server.kill()
    echoed = {m.seq: m for m in a.seen + seen_b if isinstance(m, Add)}
    assert len(echoed) > 20 * BATCH
    with ServerProcess(db, log_path=tmp_path / "server2.log") as again, RawClient(again.address) as c:
        c.join("checker", since=0)
        head, log, done = c.catch_up()
        assert head == CatchUp(len(log), "ops")
        assert [m.seq for m in log] == list(range(1, done.seq + 1))  # no gap
        logged = {m.seq: m for m in log}
        missing = [seq for seq, m in echoed.items() if logged.get(seq) != m]
        doubled = sum(n - 1 for n in Counter(m.oid for m in log).values())
        reliability.record(
            reliability.Finding(
                area="fault",
                case="SIGKILL of the server while one raw client draws flat out (batches of 100, "
                "the last 200 sent without waiting for their echoes)",
                outcome=f"every operation echoed before the kill ({len(echoed):,}) is in the log after a "
                f"restart, with no gap; {len(log):,} logged in all; the author keeps its identity",
                tried=22 * BATCH,
                lost=len(missing),
                duplicates=doubled,
                max_rss_mib=max(rss, reliability.peak_rss_mib(again.proc.pid)),
                seconds=time.monotonic() - started,
            )
        )
        assert not missing, f"{len(missing)} echoed operations lost, e.g. seq {missing[:5]}"
        d = RawClient(again.address)
        d.join("viewer")
        _, objs, _ = d.catch_up()
        assert {m.obj.id for m in objs if isinstance(m, Obj)} >= {m.obj.id for m in echoed.values()}
        d.close()
        # and the author is still the same person after the restart: the artist may extend its work
        a2 = RawClient(again.address)
        a2.join("artist", client="artist-secret", since=done.seq)
        a2.catch_up()
        last = echoed[max(echoed)]  # a resend of the last one echoed: the restart still knows it
        a2.send(Add(last.oid, BoardObject(last.obj.id, "line", ((1, 1), (2, 2)))))
        assert a2.recv_until(lambda m: type(m).__name__ == "Ack").seq == last.seq
        a2.close()
    a.close()
    b.close()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_shuts_down_cleanly_telling_every_client(tmp_path: Path, signum: int) -> None:
    port_file = tmp_path / "port"
    server = ServerProcess(
        tmp_path / "b.sqlite3", "--port-file", str(port_file), log_path=tmp_path / "server.log"
    )
    assert int(port_file.read_text()) == server.address[1]
    try:
        with RawClient(server.address) as a, RawClient(server.address) as idle:
            assert isinstance(idle.recv(), Hello)  # accepted, not just waiting in the backlog
            a.join("alice")
            a.catch_up()
            with RawClient(server.address) as b:
                b.join("bob")
                a.recv_until(UserJoined)
                server.signal(signum)
                for c in (a, b, idle):
                    got = c.wait_closed()
                    assert got[-1] == Error("shutdown", "the server is shutting down", fatal=True)
                    assert not any(isinstance(m, UserLeft) for m in got), "no leave each: one shutdown"
                    c.close()
            assert server.wait() == 0
    finally:
        server.kill()
    log = (tmp_path / "server.log").read_text()
    assert "shutting down" in log and "stopped" in log


def test_help_documents_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pgboard_server.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=WAIT * 2,
    )
    assert out.returncode == 0
    for option in (
        "--host",
        "--port",
        "--db",
        "--name",
        "--log-level",
        "--port-file",
        "--max-connections",
        "--max-room-members",
        "--ping-interval",
        "--timeout",
        "--send-queue-limit",
        "--send-buffer",
        "--send-timeout",
        "--chat-history",
        "--backlog",
    ):
        assert option in out.stdout
    assert "127.0.0.1" in out.stdout and "5151" in out.stdout
