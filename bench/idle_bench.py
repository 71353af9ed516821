"""Idle connections at scale: N clients joined (spread over rooms of at most MAX_ROOM_MEMBERS), then
silent, and the server's RSS per connection once its writer threads had WRITER_IDLE to end (issue 16:
at most 16 KiB each, 2,000 held). The peers' clients only connect (they have no rooms).

Run alone: ``python -m bench.idle_bench [N]`` prints the rows for pgboard and the peers present.
"""

from __future__ import annotations

import json
import socket
import sys
import tempfile
import time
from pathlib import Path

from pgboard_server.limits import MAX_ROOM_MEMBERS, WRITER_IDLE

from bench.peers import ServerProcess
from pgboard.protocol import TERMINATOR

TARGET_KIB = 16.0  # server memory per idle connection (issue 16)
SETTLE = WRITER_IDLE + 1.0  # seconds silent before the RSS is read: a joiner's writer ends after WRITER_IDLE
CAUGHT_UP = b'"t":"caught_up"'


def _joined(address: tuple[str, int], n: int) -> list[socket.socket]:
    """``n`` pgboard clients joined and caught up, MAX_ROOM_MEMBERS to a room."""
    socks: list[socket.socket] = []
    for start in range(0, n, MAX_ROOM_MEMBERS):
        batch = []
        for i in range(start, min(n, start + MAX_ROOM_MEMBERS)):
            sock = socket.create_connection(address, timeout=30)
            join = {"t": "join", "nick": f"i{i}", "room": f"idle{start}", "client": f"idle-{i}"}
            sock.sendall(json.dumps(join, separators=(",", ":")).encode() + TERMINATOR)
            batch.append(sock)
        for sock in batch:  # each reads its welcome, catch-up and the others' arrivals up to caught_up
            buf = b""
            while CAUGHT_UP not in buf:
                data = sock.recv(1 << 16)
                if not data:
                    raise ConnectionError("an idle client was closed before caught_up")
                buf += data
        socks += batch
    return socks


def measure(kind: str, n: int, workdir: Path) -> tuple[int, int, int]:
    """(RSS before, RSS after, connections held) of a fresh ``kind`` server with ``n`` idle clients."""
    with ServerProcess(kind, workdir / f"idle-{kind}.sqlite3", log_path=workdir / "idle.log") as srv:
        before = srv.rss()
        if kind == "pgboard":
            socks = _joined(srv.address, n)
        else:
            socks = [socket.create_connection(srv.address, timeout=30) for _ in range(n)]
        try:
            time.sleep(SETTLE)  # a benchmark's idle period, not a test's wait
            after = srv.rss()
            held = sum(1 for s in socks if _open(s))
        finally:
            for s in socks:
                s.close()
    return before, after, held


def _open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""  # data waiting (a ping): open
    except BlockingIOError:
        return True  # nothing to read, not closed
    except OSError:
        return False


def rows(kinds: list[str], n: int, workdir: Path, log=print) -> tuple[list[list[str]], list[list[str]]]:  # noqa: ANN001
    """(target rows, memory rows) for the report."""
    targets, memory = [], []
    for kind in kinds:
        before, after, held = measure(kind, n, workdir)
        each = (after - before) / n / 1024
        log(f"  {kind}: {n} idle connections, {each:.1f} KiB each, {held} held")
        memory.append(
            [
                kind,
                f"{n:,} idle connections (after {SETTLE:g} s silent)",
                f"{after / 2**20:.1f} MiB",
                f"{(after - before) / 2**20:+.1f} MiB over the empty server ({each:.1f} KiB each); "
                f"{held:,} held",
            ]
        )
        if kind == "pgboard":
            from bench.report import ratio, verdict

            targets.append(
                [
                    f"{n:,} idle connections held, at most {TARGET_KIB:g} KiB of server memory each",
                    f"{held:,} held, {each:.1f} KiB each",
                    ratio(each, TARGET_KIB),
                    verdict(held == n and each <= TARGET_KIB),
                ]
            )
    return targets, memory


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    with tempfile.TemporaryDirectory(prefix="pgboard-idle-") as tmp:
        found, mem = rows(["pgboard", "asyncio"], count, Path(tmp))
    for row in found + mem:
        print(" | ".join(row))
