"""Cluster test helpers: a real redis-server on a free port in a temporary directory, cluster server
processes, and a real client Connection (net.py) on the real clock, which follows redirects.

``redis_server`` (a pytest fixture in tests/test_cluster.py uses ``RedisServer``) skips the test with
the reason when redis-server or redis-py is missing (``.ci/run`` installs both). Every wait is bounded;
processes are ended by their own PIDs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import WAIT, ServerProcess, passed_on, wait_for_fds

from bench import fdselect
from pgboard import ids
from pgboard.net import Connection
from pgboard.protocol import OPERATIONS, Ack, Add, BoardObject, Message, Obj
from pgboard.protocol_snapshot import Snapshot
from pgboard.scheduler import Scheduler

REDIS_READY = b"Ready to accept connections"
LEASE = "1.0"  # seconds: the tests' lease time (the default is 5 s)
POLL = 0.05


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """redis-server on 127.0.0.1, persistence in ``directory`` (AOF on, RDB off), until stop()."""

    def __init__(self, directory: Path, *, appendonly: bool = True, port: int = 0) -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        cmd = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        cmd += ["--save", "", "--appendonly", "yes" if self.appendonly else "no", "--loglevel", "notice"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        seen = b""
        deadline = time.monotonic() + WAIT * 2
        while REDIS_READY not in seen:  # its log says when it listens (and has loaded the AOF)
            left = deadline - time.monotonic()
            ready, _, _ = fdselect.select([fd], [], [], max(0.0, left))
            if not ready:
                self.kill()
                raise TimeoutError(f"redis-server did not start: {seen[-500:]!r}")
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError(f"redis-server exited: {seen[-500:]!r}")
            seen += chunk
        self.proc.stdout.close()  # later log lines go nowhere (a full pipe would block redis)

    def kill(self) -> None:
        """SIGKILL: what was acknowledged is in the AOF file already (written before each reply)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(WAIT)

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)


def cluster_server(db: Path, redis: RedisServer, *args: str, lease: str = LEASE) -> ServerProcess:
    return ServerProcess(db, "--redis", redis.url, "--lease-time", lease, *args, log_path=f"{db}.log")


class ClusterClient:
    """A pgboard client Connection on the real clock (its back-off and redirects happen as for users)."""

    def __init__(self, address: tuple[str, int], nick: str, room: str) -> None:
        self.secret = f"secret-{nick}"
        self.sched = Scheduler(now=time.monotonic)
        self.conn = Connection(self.sched, address[0], address[1], nick, room, self.secret)
        self.drawn = 0
        self.echoes: dict[int, str] = {}  # seq -> oid of every echo or ack seen, across reconnects
        self.objects: list[str] = []  # ids of the objects board catch-ups listed
        self.seen: list[Message] = []  # every message the session passed on, in order

    def oid(self, n: int) -> str:
        return ids.scoped(ids.device_id(self.secret), f"o{n}")

    def draw(self) -> str:
        """One more line, drawn here before its echo (as the pencil does)."""
        n = self.drawn
        self.drawn += 1
        obj = BoardObject(self.oid(n), "line", ((n % 3000, 10), (n % 3000 + 5, 60)), "#ff0000", 2)
        self.conn.submit(Add(f"op-{self.conn.nick}-{n}", obj), drawn=True)
        return obj.id

    def pump(self, wait: float = 0.0) -> None:
        conn = self.conn
        conn.pump()
        self.sched.run_due()
        for msg in passed_on(conn):
            self.seen.append(msg)
            if isinstance(msg, (*OPERATIONS, Ack)) and msg.seq:
                self.echoes[msg.seq] = msg.oid
            elif isinstance(msg, Obj):
                self.objects.append(msg.obj.id)
            elif isinstance(msg, Snapshot):  # the client asks its board catch-ups as snapshot frames
                self.objects.extend(o.id for o in msg.objects)
        conn.events.clear()
        if wait > 0:
            fd = conn.fileno()
            nxt = self.sched.time_until_next()
            limit = wait if nxt is None else min(wait, max(nxt, 0.0))
            wait_for_fds([fd] if fd >= 0 else [], [fd] if fd >= 0 and conn.wants_write() else [], limit)

    def close(self) -> None:
        self.conn.close()


def pump_until(clients: list[ClusterClient], predicate: Callable[[], bool], timeout: float = WAIT) -> float:
    """Pump every client until ``predicate()``; returns the seconds it took (bounded by ``timeout``)."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        for c in clients:
            c.pump()
        if predicate():
            return time.monotonic() - started
        left = deadline - time.monotonic()
        if left <= 0:
            states = [(c.conn.nick, c.conn.state, c.conn.pending, c.conn.last_error) for c in clients]
            raise AssertionError(f"condition not met in {timeout} s: {states}")
        fds = [c.conn.fileno() for c in clients if c.conn.fileno() >= 0]
        writes = [c.conn.fileno() for c in clients if c.conn.fileno() >= 0 and c.conn.wants_write()]
        timers = [t for c in clients if (t := c.sched.time_until_next()) is not None]
        wait_for_fds(fds, writes, max(0.0, min([left, POLL, *timers])))


def late_joiner(
    address: tuple[str, int], nick: str, room: str, timeout: float = WAIT * 2
) -> tuple[list[str], int]:
    """A fresh client joining ``room`` at ``address`` as a user's would (redirects followed, retries
    while the room moves): (the ids its board catch-up listed, in order, the seq it caught up to)."""
    late = ClusterClient(address, nick, room)
    try:
        late.conn.start()
        pump_until([late], lambda: late.conn.state == "online", timeout)
        return late.objects, late.conn.last_seq
    finally:
        late.close()


def stop_all(*things: Any) -> None:
    """Close clients and SIGKILL processes (by their PIDs), whatever failed before."""
    for thing in things:
        with contextlib.suppress(Exception):
            if isinstance(thing, ClusterClient):
                thing.close()
            else:
                thing.kill()
