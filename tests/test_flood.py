"""A connection flood: 1,000 connections opened at a server in a subprocess, past one of its limits.

Each test exercises one limit (docs/PROTOCOL.md, "Limits"), so that the refusal is the one it names:

- ``--max-connections`` (server_full): the cap on open connections, with the per-address cap turned off
  (``--max-connections-per-address 0``) because from 127.0.0.1 the per-address cap (64) bites first;
- ``--max-connections-per-address`` (too_many_connections): the flood comes from 127.0.0.2 (every
  127/8 address is loopback on Linux) so that the two users on 127.0.0.1 are another address, whose
  connections the cap must leave untouched.

Every flood connection must get ``hello`` or the documented polite refusal (a fatal ``error``, then the
server's close) within ``FLOOD_WAIT``: none left hanging. Two users joined before the flood draw and chat
after every hundred connections and after the flood, and get their echoes within ``ECHO_WAIT``. Once
the flood's sockets are closed, the server's thread count (/proc/PID/status) returns to what it was
before. The server is a subprocess (support.ServerProcess) so its descriptors and threads are its own.
The flood is one selector loop in this process: no threads, bounded in count and time, loopback only.
"""

from __future__ import annotations

import errno
import resource
import selectors
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import reliability
from support import RawClient, ServerProcess

from pgboard.protocol import TERMINATOR, Add, BoardObject, Chat, Error, Hello, Ping, Pong, Say, decode_frame

pytestmark = pytest.mark.reliability

FLOOD = 1000  # connections opened
STEP = 100  # connections opened between two rounds of the users' drawing and chatting
FLOOD_WAIT = 30.0  # seconds every flood connection has to get its hello or its refusal and close
ECHO_WAIT = 5.0  # seconds a user may wait for the echo of its drawing or its chat line
THREAD_WAIT = 15.0  # seconds the server has to end the threads of the closed flood connections
FD_SLACK = 64  # descriptors of this process besides the flood's (pytest, the users, the server's pipe)


def ensure_descriptors(wanted: int) -> None:
    """Raise this process's soft limit on open files to ``wanted`` (up to the hard limit), or skip."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft >= wanted:
        return
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"the hard limit on open files ({hard}) is below the {wanted} this flood needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def server_threads(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise ValueError(f"no thread count for pid {pid}")


class Users:
    """Two users in one room who draw and chat; ``slowest`` is the longest wait for an echo."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.a, self.b = RawClient(address), RawClient(address)
        for c, nick in ((self.a, "ann"), (self.b, "ben")):
            c.join(nick, room="flood")
            c.catch_up()
        self.rounds = 0
        self.slowest = 0.0

    def round(self) -> None:
        """Each draws a line and says a line; both see both echoes within ECHO_WAIT."""
        self.rounds += 1
        n = self.rounds
        for who, c in (("a", self.a), ("b", self.b)):
            started = time.monotonic()
            oid = f"{who}{n}"
            c.send(
                Add(oid, BoardObject(c.obj_id(oid), "line", ((10, 10 + n % 900), (300, 20)), "#aa0000", 3))
            )
            c.send(Say(f"{who} says {n}"))
            for reader in (self.a, self.b):
                reader.recv_until(lambda m, oid=oid: isinstance(m, Add) and m.oid == oid, ECHO_WAIT)
                reader.recv_until(
                    lambda m, who=who, n=n: isinstance(m, Chat) and m.text == f"{who} says {n}", ECHO_WAIT
                )
            self.slowest = max(self.slowest, time.monotonic() - started)

    def ping(self, n: int) -> None:
        self.a.send(Ping(n))
        self.a.recv_until(lambda m: isinstance(m, Pong) and m.n == n, ECHO_WAIT)

    def close(self) -> None:
        self.a.close()
        self.b.close()


@dataclass
class FloodConn:
    sock: socket.socket
    buf: bytes = b""
    first: object = None  # the first message: Hello, or the refusal
    closed: bool = False  # the server closed it (after a refusal)
    failed: str = ""


@dataclass
class Flood:
    """``FLOOD`` non-blocking connections from ``source`` and what each got, read by one selector."""

    address: tuple[str, int]
    source: str
    conns: list[FloodConn] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sel = selectors.DefaultSelector()

    def open(self, count: int) -> None:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((self.source, 0))
            sock.setblocking(False)
            err = sock.connect_ex(self.address)
            conn = FloodConn(sock)
            if err not in (0, errno.EINPROGRESS):
                conn.failed = f"connect: {errno.errorcode.get(err, err)}"
            else:
                self.sel.register(sock, selectors.EVENT_READ, conn)
            self.conns.append(conn)

    def settled(self, conn: FloodConn) -> bool:
        """Welcomed, or refused and closed, or failed: nothing more to wait for."""
        return bool(conn.failed) or isinstance(conn.first, Hello) or conn.closed

    def read(self, timeout: float) -> None:
        for key, _ in self.sel.select(timeout):
            conn: FloodConn = key.data
            try:
                data = conn.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                conn.failed = f"recv: {exc!r}"
                self.sel.unregister(conn.sock)
                continue
            if not data:
                conn.closed = True
                if conn.first is None:
                    conn.failed = "closed without a word"
            conn.buf += data
            if conn.first is None and (end := conn.buf.find(TERMINATOR)) >= 0:
                conn.first = decode_frame(conn.buf[:end])  # raises if the server sent garbage
                conn.buf = conn.buf[end + len(TERMINATOR) :]
            if self.settled(conn):
                self.sel.unregister(conn.sock)

    def wait(self, deadline: float) -> None:
        while not all(self.settled(c) for c in self.conns) and time.monotonic() < deadline:
            self.read(max(0.0, min(0.2, deadline - time.monotonic())))

    def close(self) -> None:
        for c in self.conns:
            c.sock.close()
        self.sel.close()


def run_flood(srv: ServerProcess, source: str, refusal: str) -> tuple[int, int, Users, float, int]:
    """The flood against ``srv``: returns (welcomed, refused, the users, seconds, the server's
    thread count before). Asserts nothing was left hanging and every refusal was ``refusal``."""
    ensure_descriptors(FLOOD + FD_SLACK)
    pid = srv.proc.pid
    users = Users(srv.address)
    users.round()
    before = server_threads(pid)
    started = time.monotonic()
    flood = Flood(srv.address, source)
    try:
        for _ in range(FLOOD // STEP):
            flood.open(STEP)
            flood.read(0)
            users.round()  # the room goes on during the flood
        flood.wait(time.monotonic() + FLOOD_WAIT)
        seconds = time.monotonic() - started
        users.round()
        hanging = [c for c in flood.conns if not flood.settled(c)]
        failed = [c.failed for c in flood.conns if c.failed]
        assert not hanging, f"{len(hanging)} flood connections got neither hello nor a refusal"
        assert not failed, f"{len(failed)} flood connections failed: {failed[:5]}"
        refusals = [c.first for c in flood.conns if not isinstance(c.first, Hello)]
        expected = Error(refusal, refusals[0].detail if refusals else "", fatal=True)
        assert all(r == expected for r in refusals), {repr(r) for r in refusals}
        assert all(c.closed for c in flood.conns if not isinstance(c.first, Hello))
        welcomed = len(flood.conns) - len(refusals)
    finally:
        flood.close()
    # the flood's sockets are closed: the server ends their threads (the users' pings pace the wait)
    deadline = time.monotonic() + THREAD_WAIT
    n = 0
    while server_threads(pid) > before and time.monotonic() < deadline:
        n += 1
        users.ping(n)
    # fewer is no leak: the users may be parked meanwhile (a silent member has no thread)
    assert server_threads(pid) <= before, f"server threads {server_threads(pid)}, {before} before the flood"
    users.round()
    return welcomed, len(refusals), users, seconds, before


def record(case: str, srv: ServerProcess, welcomed: int, refused: int, users: Users, seconds: float) -> None:
    reliability.record(
        reliability.Finding(
            area="abuse",
            case=case,
            outcome=(
                f"{welcomed} welcomed, {refused} refused politely (the error, then the close), none left "
                f"hanging; two users drew and chatted {users.rounds} times during and after, slowest echo "
                f"{users.slowest * 1000:.0f} ms; server threads back to where they were"
            ),
            tried=FLOOD,
            max_rss_mib=reliability.peak_rss_mib(srv.proc.pid),
            seconds=seconds,
        )
    )


def test_a_flood_past_max_connections_is_refused_with_server_full(tmp_path: Path) -> None:
    cap = 500
    args = ("--max-connections", str(cap), "--max-connections-per-address", "0")
    with ServerProcess(tmp_path / "flood.sqlite3", *args) as srv:
        welcomed, refused, users, seconds, _ = run_flood(srv, "127.0.0.1", "server_full")
        assert welcomed == cap - 2  # the two users hold two of the places
        assert refused == FLOOD - welcomed
        record(
            f"1,000 connections at once at a server of --max-connections {cap} (per-address cap off)",
            srv,
            welcomed,
            refused,
            users,
            seconds,
        )
        users.close()


def test_a_flood_from_one_address_is_refused_with_too_many_connections(tmp_path: Path) -> None:
    cap = 100
    with ServerProcess(tmp_path / "flood.sqlite3", "--max-connections-per-address", str(cap)) as srv:
        welcomed, refused, users, seconds, _ = run_flood(srv, "127.0.0.2", "too_many_connections")
        assert welcomed == cap  # the users are another address: the flood's has all its places
        assert refused == FLOOD - cap
        record(
            f"1,000 connections at once from one address (127.0.0.2) past --max-connections-per-address "
            f"{cap}, two users on another address",
            srv,
            welcomed,
            refused,
            users,
            seconds,
        )
        users.close()
