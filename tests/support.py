"""Test helpers for the server: a real BoardServer on 127.0.0.1 port 0 and a small blocking client.

- ``running_server(db_path=":memory:", **kw)``: a started in-process BoardServer, stopped after; ``kw``
  are its limits and clocks (``clock=FakeClock()``, ``wall_clock=lambda: 1700000000``).
- ``RawClient(address, tls=None, source=None)``: the protocol over a real socket (``tls``: a client
  context; ``source``: the local address to connect from, such as 127.0.0.2);
  ``send``, ``send_bytes``, ``recv``, ``recv_frame`` (raw bytes), ``recv_until``, ``recv_all_until``,
  ``join``, ``catch_up``, ``obj_id`` (an object id in its scope),
  ``wait_closed``, ``close``; ``seen`` keeps every message received. Every wait is bounded (``WAIT``).
- ``ServerProcess(db, *args)``: ``python -m pgboard_server.cli`` in a subprocess (crash and signal tests).
- ``FakeClock``: time that moves only when told, for heartbeat tests (``server.heartbeat()``).
- ``CutProxy(upstream)``: a TCP proxy that cuts every connection in the middle of a frame, or stalls
  them, when told (network fault tests of real clients).
No sleeps anywhere: waits are socket timeouts, events and pipes.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from pgboard_server.server import BoardServer

from bench import fdselect
from pgboard import ids
from pgboard.client_session import Event
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
        source: str | None = None,
    ) -> None:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET  # "::1": an IPv6 peer
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        if source is not None:  # another loopback address (127.0.0.2...): another "host" to the server
            self.sock.bind((source, 0))
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
        self.secret = ""  # the client secret of the last join: it makes the id prefix
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
        self,
        nick: str,
        room: str = "",
        since: int | None = None,
        client: str = "",
        timeout: float = WAIT,
        packed: bool = False,
    ) -> Welcome:
        """Join and return the Welcome (raises AssertionError on a JoinError)."""
        self.secret = client
        self.send(Join(nick=nick, room=room, since=since, client=client, packed=packed))
        reply = self.recv_until((Welcome, JoinError), timeout)
        if isinstance(reply, JoinError):
            raise AssertionError(f"join refused: {reply}")
        assert isinstance(reply, Welcome)
        self.welcome = reply
        return reply

    def obj_id(self, local: str) -> str:
        """An object id in this client's scope (docs/PROTOCOL.md, "Objects"): its device id (its
        welcome's user without a secret), ":", then ``local``."""
        assert self.welcome is not None, "the id prefix is known after join"
        return ids.scoped(ids.device_id(self.secret) if self.secret else self.welcome.user, local)

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

    def __init__(self, db: Any, *args: str, log_path: Any = None, start_wait: float = WAIT * 2) -> None:
        cmd = [sys.executable, "-m", "pgboard_server.cli", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--db", str(db), "--log-level", "INFO", *args]
        self._log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed in wait()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log)
        self._printed = b""  # what it printed past the lines read
        line = self.next_line(start_wait)  # a long log replays before the server listens
        host, _, port = line.removeprefix("listening on ").rpartition(":")
        self.address = (host, int(port))

    def next_line(self, timeout: float = WAIT) -> str:
        """The next line the server prints on stdout (its address first, then "metrics on URL")."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = self._printed
        while b"\n" not in data:
            left = deadline - time.monotonic()
            ready, _, _ = fdselect.select([fd], [], [], max(0.0, left))
            if not ready:
                self.kill()
                raise TimeoutError(f"the server printed no address within {timeout} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"the server exited: {self.proc.wait(WAIT)}")
            data += chunk
        line, self._printed = data.split(b"\n", 1)
        return line.decode()

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


class CutProxy:
    """A TCP proxy on 127.0.0.1 port 0 that forwards bytes to ``upstream`` and breaks the network on
    demand, for fault tests of real clients (point them at ``address``). One thread with a selector;
    every socket is non-blocking, so a peer that stops reading never blocks the others.

    - ``cut_after(n, direction)``: after ``n`` more bytes in ``direction`` ("up": client to server,
      "down": server to client, "both": either), cut every connection. The cut lands strictly inside a
      frame of the connection that triggers it (never just after a ``TERMINATOR``): that connection's
      peer gets a partial frame, then the end of the stream. Each cut is kept in ``cuts``.
    - ``stall()``: the connections open now stop forwarding in both directions without closing (a dead
      link the ends must notice by their own timeouts); connections made later forward normally.
      ``close_stalled()`` ends them.
    - ``connections``: how many client connections were accepted so far.
    ``close()`` stops the thread and closes everything. Every wait inside is bounded.
    """

    RECV = 64 * 1024
    MAX_BUFFER = 1024 * 1024  # bytes waiting for a slow peer before the proxy stops reading its other side
    CLOSE_GRACE = 1.0  # seconds a cut connection may take to deliver what it already forwarded

    class _Pipe:
        def __init__(self, client: socket.socket, server: socket.socket) -> None:
            self.ends = {"up": (client, server), "down": (server, client)}  # direction -> (src, dst)
            self.out = {"up": bytearray(), "down": bytearray()}  # bytes waiting for dst, by direction
            self.tail = {"up": b"", "down": b""}  # the last bytes forwarded: is a frame boundary next?
            self.stalled = False
            self.closing_since: float | None = None

    def __init__(self, upstream: tuple[str, int], terminator: bytes = TERMINATOR) -> None:
        self.upstream = upstream
        self.terminator = terminator
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._pipes: list[CutProxy._Pipe] = []
        self._cut: tuple[str, int] | None = None  # (direction, bytes still to forward) while armed
        self._commands: list[str] = []  # "stall", "close_stalled": applied by the thread, in order
        self._issued = self._applied = 0  # commands given, and applied by the thread
        self._done = threading.Condition(self._lock)
        self._stop = False
        self.cuts: list[tuple[str, bool]] = []  # (direction that triggered, landed inside a frame)
        self.connections = 0
        self.forwarded = {"up": 0, "down": 0}
        self._thread = threading.Thread(target=self._run, name="cut-proxy", daemon=True)
        self._thread.start()

    # -- the test's side

    def cut_after(self, nbytes: int, direction: str = "both") -> None:
        if direction not in ("up", "down", "both") or nbytes < 0:
            raise ValueError(f"bad cut: {nbytes} bytes {direction!r}")
        with self._lock:
            self._cut = (direction, nbytes)
        self._wake()

    @property
    def armed(self) -> bool:
        """A cut was asked for and has not happened yet."""
        with self._lock:
            return self._cut is not None

    def stall(self) -> None:
        self._command("stall")

    def close_stalled(self) -> None:
        self._command("close_stalled")

    def _command(self, command: str) -> None:
        """Have the thread apply ``command``, and return once it has: a connection accepted after
        this returns is not affected."""
        with self._lock:
            self._commands.append(command)
            self._issued += 1
            mine = self._issued
        self._wake()
        with self._lock:
            if not self._done.wait_for(lambda: self._applied >= mine, WAIT):
                raise TimeoutError(f"the proxy did not {command} within {WAIT} s")

    def close(self) -> None:
        with self._lock:
            self._stop = True
        self._wake()
        self._thread.join(WAIT)
        for s in (self._listener, self._wake_r, self._wake_w):
            s.close()

    def __enter__(self) -> CutProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    # -- the proxy thread

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            while True:
                with self._lock:
                    if self._stop:
                        break
                    self._apply_controls()
                    wanted = self._interest()
                sel.close()  # rebuilt each pass: a handful of sockets, and always in step with the pipes
                sel = selectors.DefaultSelector()
                sel.register(self._listener, selectors.EVENT_READ, None)
                sel.register(self._wake_r, selectors.EVENT_READ, None)
                for sock, (events, pipe) in wanted.items():
                    sel.register(sock, events, pipe)
                ready = sel.select(timeout=0.1 if any(p.closing_since for p in self._pipes) else None)
                for key, events in ready:
                    if key.fileobj is self._wake_r:
                        self._wake_r.recv(4096)
                    elif key.fileobj is self._listener:
                        self._accept()
                    else:
                        with self._lock:
                            self._service(key.fileobj, key.data, events)  # type: ignore[arg-type]
        finally:
            sel.close()
            with self._lock:
                for pipe in list(self._pipes):
                    self._close_pipe(pipe)

    def _apply_controls(self) -> None:
        for command in self._commands:  # in the order given: a stall after a close stalls the new ones
            for pipe in list(self._pipes):
                if command == "stall":
                    pipe.stalled = True
                elif pipe.stalled:
                    self._close_pipe(pipe)
        self._applied += len(self._commands)
        self._commands.clear()
        self._done.notify_all()
        now = time.monotonic()
        for pipe in list(self._pipes):
            since = pipe.closing_since
            if since is not None and (not any(pipe.out.values()) or now - since > self.CLOSE_GRACE):
                self._close_pipe(pipe)

    def _interest(self) -> dict[socket.socket, tuple[int, CutProxy._Pipe]]:
        wanted: dict[socket.socket, tuple[int, CutProxy._Pipe]] = {}
        for pipe in self._pipes:
            if pipe.stalled:
                continue
            for direction, (src, dst) in pipe.ends.items():
                if pipe.closing_since is None and len(pipe.out[direction]) < self.MAX_BUFFER:
                    ev, _ = wanted.get(src, (0, pipe))
                    wanted[src] = (ev | selectors.EVENT_READ, pipe)
                if pipe.out[direction]:
                    ev, _ = wanted.get(dst, (0, pipe))
                    wanted[dst] = (ev | selectors.EVENT_WRITE, pipe)
        return wanted

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=WAIT)
        except OSError:
            client.close()  # the server is down: the client sees its connection end
            return
        for s in (client, server):
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._pipes.append(CutProxy._Pipe(client, server))
            self.connections += 1

    def _service(self, sock: socket.socket, pipe: CutProxy._Pipe, events: int) -> None:
        if pipe not in self._pipes:
            return
        for direction, (src, dst) in pipe.ends.items():
            if dst is sock and events & selectors.EVENT_WRITE and pipe.out[direction]:
                try:
                    sent = dst.send(pipe.out[direction])
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._close_pipe(pipe)
                    return
                del pipe.out[direction][:sent]
            if src is sock and events & selectors.EVENT_READ and pipe.closing_since is None:
                try:
                    data = src.recv(self.RECV)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # one end hung up: so does the other, once it has what was forwarded
                    pipe.closing_since = time.monotonic()
                    continue
                self._forward(pipe, direction, data)
                if pipe.closing_since is not None:
                    return

    def _forward(self, pipe: CutProxy._Pipe, direction: str, data: bytes) -> None:
        cut = self._cut
        if cut is not None and cut[0] in (direction, "both"):
            left = cut[1]
            if len(data) < left:
                self._cut = (cut[0], left - len(data))
            else:
                # Cut inside a frame: never right after a terminator (nor before the first byte of a
                # frame); if this chunk ends exactly on a boundary, the next chunk's first byte goes.
                k = left
                while k <= len(data) and self._at_boundary(pipe.tail[direction] + data[:k]):
                    k += 1
                if k <= len(data):
                    self._queue(pipe, direction, data[:k])
                    self._cut = None
                    self.cuts.append((direction, not self._at_boundary(pipe.tail[direction])))
                    for p in self._pipes:  # every connection, this one once its partial frame is out
                        if p.closing_since is None:
                            p.closing_since = time.monotonic()
                    return
                self._cut = (cut[0], 0)
        self._queue(pipe, direction, data)

    def _at_boundary(self, forwarded: bytes) -> bool:
        """Whether a stream whose last bytes are ``forwarded`` stands between two frames."""
        return not forwarded or forwarded.endswith(self.terminator)

    def _queue(self, pipe: CutProxy._Pipe, direction: str, data: bytes) -> None:
        pipe.out[direction] += data
        pipe.tail[direction] = (pipe.tail[direction] + data)[-len(self.terminator) :]
        self.forwarded[direction] += len(data)

    def _close_pipe(self, pipe: CutProxy._Pipe) -> None:
        if pipe in self._pipes:
            self._pipes.remove(pipe)
        for sock in pipe.ends["up"]:
            with contextlib.suppress(OSError):
                sock.close()


def passed_on(conn: Any) -> list[Any]:
    """The server's messages a session passed on to the view, in order: every event that carries one
    (``conn``: a Connection or a ClientSession, whose ``events`` the view consumes)."""
    events: Any = conn.events
    return [msg for e in events if (msg := getattr(e, "msg", None)) is not None and _is_event(e)]


def _is_event(e: Any) -> bool:
    return isinstance(e, Event.__args__)  # type: ignore[attr-defined]


def wait_for_fds(read: list[int], write: list[int], timeout: float) -> None:
    """select() for any descriptor number (bench/fdselect.py: poll underneath)."""
    fdselect.select(read, write, [], timeout)
