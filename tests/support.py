"""Test helpers for the server: a real BoardServer on 127.0.0.1 port 0 and a small blocking client.

- ``running_server(db_path=":memory:", **kw)``: a started in-process BoardServer, stopped after; ``kw``
  are its limits and clocks (``clock=FakeClock()``, ``wall_clock=lambda: 1700000000``).
- ``RawClient(address, tls=None)``: the protocol over a real socket (``tls``: a client context);
  ``send``, ``send_bytes``, ``recv``, ``recv_frame`` (raw bytes), ``recv_until``, ``recv_all_until``,
  ``join``, ``catch_up``,
  ``wait_closed``, ``close``; ``seen`` keeps every message received. Every wait is bounded (``WAIT``).
- ``ServerProcess(db, *args)``: ``python -m pgboard_server.cli`` in a subprocess (crash and signal tests).
- ``FakeClock``: time that moves only when told, for heartbeat tests (``server.heartbeat()``).
No sleeps anywhere: waits are socket timeouts, events and pipes.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from pgboard_server.server import BoardServer

from pgboard.protocol import (
    TERMINATOR,
    CatchUp,
    CaughtUp,
    Codec,
    Join,
    JoinError,
    Message,
    Welcome,
    decode_frame,
)

WAIT = 5.0  # seconds any single wait in a test may take before it fails


@contextlib.contextmanager
def running_server(db_path: Any = ":memory:", **kw: Any) -> Iterator[BoardServer]:
    server = BoardServer("127.0.0.1", 0, db_path, **kw)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Closed(EOFError):
    """The server closed the connection."""


Match = type[Message] | tuple[type[Message], ...] | Callable[[Message], bool]


def _matcher(what: Match) -> Callable[[Message], bool]:
    if isinstance(what, type | tuple):
        return lambda m: isinstance(m, what)  # type: ignore[arg-type]
    return what


class RawClient:
    """A blocking protocol client for tests. ``seen`` keeps every message received, in order."""

    def __init__(
        self,
        address: tuple[str, int],
        timeout: float = WAIT,
        rcvbuf: int | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # a small window: a client that stops reading fills up quickly
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(address)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:  # a blocking TLS client (the handshake happens here)
            self.sock = tls.wrap_socket(self.sock, server_hostname="localhost")
        self._buf = bytearray()
        self.seen: list[Message] = []
        self.welcome: Welcome | None = None
        self.eof = False

    # -- sending

    def send(self, msg: Message) -> None:
        self.sock.sendall(Codec.send(msg))

    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    # -- receiving

    def recv_frame(self, timeout: float = WAIT) -> bytes:
        """The next raw frame, terminator included (whitespace before it kept, as sent)."""
        deadline = time.monotonic() + timeout
        while (end := self._buf.find(TERMINATOR)) < 0:
            if self.eof:
                raise Closed(f"connection closed; {len(self._buf)} bytes left unframed")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no frame within {timeout} s")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                raise TimeoutError(f"no frame within {timeout} s") from None
            except ConnectionResetError:
                data = b""
            if not data:
                self.eof = True
            self._buf += data
        frame = bytes(self._buf[: end + len(TERMINATOR)])
        del self._buf[: end + len(TERMINATOR)]
        return frame

    def recv(self, timeout: float = WAIT) -> Message:
        msg = decode_frame(self.recv_frame(timeout)[: -len(TERMINATOR)])
        self.seen.append(msg)
        return msg

    def recv_until(self, what: Match, timeout: float = WAIT) -> Message:
        """Read until a message matches (a type, a tuple of types or a predicate); returns it."""
        match = _matcher(what)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.recv(max(0.0, deadline - time.monotonic()))
            if match(msg):
                return msg

    def recv_all_until(self, what: Match, timeout: float = WAIT) -> list[Message]:
        """Every message up to and including the first that matches."""
        start = len(self.seen)
        self.recv_until(what, timeout)
        return self.seen[start:]

    def wait_closed(self, timeout: float = WAIT) -> list[Message]:
        """Read until the server closes the connection; returns what arrived meanwhile."""
        start = len(self.seen)
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.recv(max(0.0, deadline - time.monotonic()))
        except Closed:
            return self.seen[start:]

    # -- the handshake

    def join(
        self, nick: str, room: str = "", since: int | None = None, client: str = "", timeout: float = WAIT
    ) -> Welcome:
        """Join and return the Welcome (raises AssertionError on a JoinError)."""
        self.send(Join(nick=nick, room=room, since=since, client=client))
        reply = self.recv_until((Welcome, JoinError), timeout)
        if isinstance(reply, JoinError):
            raise AssertionError(f"join refused: {reply}")
        assert isinstance(reply, Welcome)
        self.welcome = reply
        return reply

    def catch_up(self, timeout: float = WAIT) -> tuple[CatchUp, list[Message], CaughtUp]:
        """After join: the CatchUp header, the frames it announced, and CaughtUp."""
        head = self.recv_until(CatchUp, timeout)
        assert isinstance(head, CatchUp)
        frames = self.recv_all_until(CaughtUp, timeout)
        done = frames.pop()
        assert isinstance(done, CaughtUp)
        return head, frames, done

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeClock:
    """A clock that moves only when told: pass ``clock=FakeClock()`` and call server.heartbeat()."""

    def __init__(self, start: float = 1000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class ServerProcess:
    """``python -m pgboard_server.cli`` in a subprocess on 127.0.0.1 port 0; the port is read from the
    first stdout line ("listening on HOST:PORT"). Ended by its own PID only."""

    def __init__(self, db: Any, *args: str, log_path: Any = None) -> None:
        cmd = [sys.executable, "-m", "pgboard_server.cli", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--db", str(db), "--log-level", "INFO", *args]
        self._log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log)
        line = self._first_line(WAIT * 2)
        host, _, port = line.removeprefix("listening on ").rpartition(":")
        self.address = (host, int(port))

    def _first_line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        while b"\n" not in data:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([fd], [], [], max(0.0, left))
            if not ready:
                self.kill()
                raise TimeoutError(f"the server printed no address within {timeout} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"the server exited: {self.proc.wait(WAIT)}")
            data += chunk
        return data.split(b"\n", 1)[0].decode()

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.wait()

    def wait(self, timeout: float = WAIT * 2) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self._log.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()
