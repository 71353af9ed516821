"""The client's socket shell around its session (pgboard/client_session.py): connect, TLS, read, write.

The frame calls :meth:`Connection.pump` once (and :meth:`Scheduler.run_due` once); nothing here blocks,
sleeps or starts a thread, and nothing imports pygame. The pump completes a non-blocking connect when the
socket turns writable, reads until the socket would block or the frame's share of reading is spent
(``READ_TIME``, ``MAX_READ_PER_PUMP``: a big catch-up is spread over frames), hands the bytes to the
session, and writes only what the socket accepts of what the session wants sent.

Everything about the protocol (the states, log-in and join, the ledger of unconfirmed operations, flow
control, catch-up, heartbeat and back-off bookkeeping) lives in the sans-IO
:class:`~pgboard.client_session.ClientSession` (``self.session``). This shell does what it asks: it opens
the socket when the session turns "connecting", closes it when the session leaves the link, and runs the
timers the session wants on the scheduler. The session's events (``events``) are for the room view and
the app, which are told, never poll.

TLS (``tls=True``): the same pump over :class:`pgboard.tls.ClientTls` (sans-IO), so the handshake never
blocks a frame. The certificate must be trusted by the system and name the host, or match the
fingerprint pinned for this server (``fingerprint``). An untrusted certificate sends the pump on a
short probe that only learns its fingerprint; the state is then "untrusted" with ``tls_fingerprint``
set, and :meth:`Connection.trust` (the user said yes) pins it and connects. A pinned fingerprint that
no longer matches is refused loudly (``tls_changed``), never retried.

Known limit: a host *name* is resolved with a blocking ``getaddrinfo`` (once per :meth:`start`, and
again only if that failed); IP addresses and "localhost" never block.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import select
import socket
from collections import deque
from typing import Any

from pgboard.client_session import (  # noqa: F401 - the session's constants, as the shell's users knew them
    BACKOFF_INITIAL,
    BACKOFF_JITTER,
    BACKOFF_MAX,
    LONG_OUTAGE_ATTEMPTS,
    MAX_IN_FLIGHT,
    MAX_QUEUED_CHAT,
    PING_INTERVAL,
    STABLE_AFTER,
    TIMEOUT,
    ClientSession,
    Credentials,
    Event,
    Operation,
    State,
    StateChanged,
    TimerWanted,
    backoff_delay,
)
from pgboard.protocol import BoardObject, Codec, Cursor, Error, Message, ProtocolError
from pgboard.scheduler import DelayedCall, Scheduler
from pgboard.tls import ClientTls, FingerprintMismatch, TlsFailure, Untrusted, normal_fingerprint

logger = logging.getLogger(__name__)

RECV_SIZE = 64 * 1024  # bytes asked of one recv()
MAX_READ_PER_PUMP = 4 * 1024 * 1024  # bytes read in one pump, so a huge catch-up cannot freeze a frame
READ_TIME = 0.025  # seconds of reading and decoding in one pump, after which the rest waits a frame
CURSOR_BACKLOG = 64 * 1024  # bytes already waiting to be sent above which cursor positions are dropped
_CONNECT_PENDING = frozenset({0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EINTR})
_LOCAL_NAMES = {"": "127.0.0.1", "localhost": "127.0.0.1"}
# the session's states as the app and the tests have always read them (``Connection.state``)
_PHASES = {
    State.LOGGING_IN: "joining",
    State.HELD: "online",
    State.FAILED: "closed",
}


def _writable(sock: socket.socket) -> bool:
    """The connect finished (or failed): poll(), which takes any descriptor; select() refuses one past
    FD_SETSIZE (1024), which a client with many fonts and files open reaches. Windows has no poll()."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(0))
    _, writable, failed = select.select([], [sock], [sock], 0)
    return bool(writable or failed)


def _from_session(name: str, doc: str) -> Any:
    """A fact the session owns, read (and set, before starting) through the shell."""
    return property(
        lambda self: getattr(self.session, name), lambda self, v: setattr(self.session, name, v), doc=doc
    )


class Connection:
    """One client connection to a board server: the socket side of ``self.session``.

    Read by the app and the view: ``events`` (the session's, in order), ``state`` (the session's state
    as a phase: "closed", "connecting", "joining", "catching_up", "online", "offline", "refused",
    "untrusted"), and the session's facts (``user_id``, ``nick``, ``room``, ``latency``, ...).
    """

    def __init__(
        self,
        scheduler: Scheduler,
        host: str,
        port: int,
        nick: str,
        room: str,
        client_secret: str,
        password: str = "",
        *,
        rng: random.Random | None = None,
        tls: bool = False,
        fingerprint: str = "",
        credentials: Credentials | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.session = ClientSession(nick, room, client_secret, password, credentials=credentials, rng=rng)
        self.events: deque[Event] = deque()
        self.host, self.port = host, port
        self.home = self._routed = (host, port)  # the address given; where routes sent us last
        self.tls = tls
        self.pinned = normal_fingerprint(fingerprint) if fingerprint else ""  # the trusted certificate
        self.tls_fingerprint = ""  # the server certificate's, once seen (shown when it is untrusted)
        self.tls_changed = False  # the pinned fingerprint did not match: a loud refusal
        self.untrusted = False  # the session failed on a certificate the user has not trusted (yet)
        self._tls: ClientTls | None = None
        self._probing = False  # this connection only learns an untrusted certificate's fingerprint
        self._sock: socket.socket | None = None
        self._outbuf = bytearray()  # plaintext from the session waiting for the socket (or the handshake)
        self._wire = bytearray()  # TLS records waiting for the socket
        self._address: tuple[int, tuple[Any, ...]] | None = None  # (family, sockaddr), resolved once
        self._timers: dict[str, DelayedCall] = {}

    nick = _from_session("nick", "my nickname (the server's, once welcomed)")
    user_id = _from_session("user_id", "my author id, from the welcome")
    room = _from_session("room", "the room joined (or asked for)")
    client_secret = _from_session("client_secret", "who this device is to the server")
    credentials = _from_session("credentials", "the account's log-in, or None")
    account = _from_session("account", "the server's last account answer")
    last_seq = _from_session("last_seq", "the last sequence number seen")
    attempts = _from_session("attempts", "failed tries in a row")
    latency = _from_session("latency", "seconds of the last ping's round trip, or None")
    last_error = _from_session("last_error", "why the last drop happened")
    join_error = _from_session("join_error", "the join_error that refused us")
    account_error = _from_session("account_error", "the account_error that refused us")
    catchup_progress = _from_session("catchup_progress", "(received, total) while catching up")
    pending_ops = _from_session("pending_ops", "operations not yet confirmed, in order")
    pending = _from_session("pending", "how many operations are not yet confirmed")
    held = _from_session("held", "the server rate-limits us: operations wait")
    long_outage = _from_session("long_outage", "LONG_OUTAGE_ATTEMPTS tries failed in a row")
    rerouted = _from_session("rerouted", "the last drop was a cluster's redirect or 'come back later'")

    @property
    def state(self) -> str:
        state = self.session.state
        if state is State.FAILED and self.untrusted:
            return "untrusted"
        return _PHASES.get(state, state.value)

    @property
    def retry_in(self) -> float:
        """Seconds before the next reconnect attempt (0 when none is scheduled)."""
        call = self._timers.get("reconnect")
        return call.remaining if call is not None and call.active else 0.0

    # -- the life cycle

    def start(self) -> None:
        """Begin connecting (non-blocking); a no-op while already connecting or connected."""
        if self.session.linked:
            return
        self._probing = self.untrusted = False
        self._address = None  # resolve again: the user may have changed the host
        if (self.host, self.port) != self._routed:
            self.home = self._routed = (self.host, self.port)
        self.session.start(self.scheduler.now())
        self._drain()

    def retry_now(self) -> None:
        """Skip the back-off (or leave "refused"): try again at once (F5, a click on the status bar)."""
        self.session.retry_now(self.scheduler.now())
        self._drain()

    def close(self, leaving_room: bool = False) -> None:
        """A clean exit (``leaving_room``: for another room, said to the server as ``leave``): send
        what the socket takes at once, close, stop every timer. The ledger is
        kept (``pending_ops``), so the app can still save what the server never confirmed."""
        sock = self._sock
        if leaving_room:
            self.session.leave()
        if sock is not None and self.session.state is not State.CONNECTING:
            self._outbuf += self.session.data_to_send()
            try:
                sock.send(self._wire_bytes())
            except OSError:
                pass
        self.session.close()
        self._drain()

    def trust(self, fingerprint: str) -> None:
        """The user trusts this certificate (shown in ``tls_fingerprint``): pin it and connect."""
        self.pinned = normal_fingerprint(fingerprint)
        self.tls_changed = False
        self.start()

    def fileno(self) -> int:
        """The socket's descriptor for select(), or -1 when there is none."""
        return self._sock.fileno() if self._sock is not None else -1

    def wants_write(self) -> bool:
        """True when the pump waits for the socket to turn writable (connecting, or bytes queued)."""
        if self._sock is None:
            return False
        if self.session.state is State.CONNECTING or self._wire:
            return True
        waiting = bool(self._outbuf) or self.session.sending > 0
        return waiting and (self._tls is None or self._tls.done)

    # -- the app's side

    def submit(self, op: Message, *, drawn: bool = False, before: BoardObject | None = None) -> None:
        """A drawing operation into the session's ledger (see ClientSession.submit)."""
        self.session.submit(op, drawn=drawn, before=before)
        self._drain()

    def send_op(self, op: Operation) -> None:
        """Queue a drawing operation not drawn here before its echo."""
        self.submit(op)

    def unconfirmed_ids(self) -> set[str]:
        return self.session.unconfirmed_ids()

    def catch_up_applied(self) -> list[Operation]:
        return self.session.catch_up_applied()

    def mail_shown(self, mail_id: int) -> None:
        self.session.mail_shown(mail_id)

    def send(self, msg: Message) -> bool:
        """Send a chat line (Say) or a cursor position. False when it was dropped: a cursor while not
        online or while the link is backed up, chat past MAX_QUEUED_CHAT."""
        if isinstance(msg, Cursor):
            if len(self._outbuf) + len(self._wire) + self.session.sending > CURSOR_BACKLOG:
                return False
        return self.session.send(msg)

    # -- the session's requests

    def _drain(self) -> None:
        """Do what the session asked (timers, open or close the socket) and pass its events on."""
        events = self.session.events
        while events:
            event = events.popleft()
            if isinstance(event, TimerWanted):
                call = self._timers.pop(event.name, None)
                if call is not None:
                    call.cancel()
                if event.delay is not None:
                    self._timers[event.name] = self.scheduler.call_later(event.delay, self._fire, event.name)
                continue
            if isinstance(event, StateChanged):
                if event.new is State.CONNECTING:
                    self._open()
                elif not self.session.linked:
                    self._teardown()
            self.events.append(event)

    def _fire(self, name: str) -> None:
        self._timers.pop(name, None)
        self.session.timer_fired(name, self.scheduler.now())
        self._drain()
        if name == "ping" and self._sock is not None:
            self._flush(self._sock)  # now, not at the next pump: the round trip should not include a frame

    def _lost(self, reason: str, *, retry: bool = True) -> None:
        logger.warning("connection to %s:%d: %s", self.host, self.port, reason)
        self.session.connection_lost(reason, self.scheduler.now(), retry=retry)
        self._drain()

    # -- the pump

    def pump(self) -> None:
        """Once per frame: finish connecting, read everything available, write what the socket takes."""
        sock = self._sock
        if sock is None:
            return
        if self.session.state is State.CONNECTING and not self._finish_connect(sock):
            return
        self._read(sock)
        if self._sock is sock:
            self._flush(sock)

    def _finish_connect(self, sock: socket.socket) -> bool:
        try:
            if not _writable(sock):
                return False
        except (OSError, ValueError) as exc:
            self._lost(f"connect failed: {exc}")
            return False
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._lost(f"cannot connect to {self.host}:{self.port}: {os.strerror(err)}")
            return False
        logger.info("connected to %s:%d", self.host, self.port)
        if self.tls:
            self._tls = ClientTls(self.host, pinned=self.pinned, probe=self._probing)
            self._wire += self._tls.outgoing()  # the ClientHello
        self.session.connection_made(self.scheduler.now())
        self._drain()
        return True

    def _read(self, sock: socket.socket) -> None:
        budget = MAX_READ_PER_PUMP
        now = self.scheduler.now
        deadline = now() + READ_TIME
        while budget > 0 and self._sock is sock and now() < deadline:
            try:
                data = sock.recv(RECV_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._lost(f"connection lost: {exc}")
                return
            budget -= len(data)
            self.session.heard(now())
            if self._tls is not None and data:
                data = self._decrypt(data)
                if self._sock is not sock or not data:  # a TLS failure, or handshake records only
                    continue
            elif self._tls is not None:  # the server closed: what TLS still holds, then the end
                tail = self._decrypt(b"")
                if self._sock is not sock:
                    return
                if tail:
                    self.session.receive_data(tail, now())
                    self._drain()
                if self._sock is not sock:
                    return
            self.session.receive_data(data, now())
            self._drain()
            if not data:
                return

    def _decrypt(self, data: bytes) -> bytes:
        """Raw bytes through TLS; a failure is handled here (the socket is then gone)."""
        tls = self._tls
        assert tls is not None
        try:
            plain = tls.receive(data)
        except TlsFailure as exc:
            self._tls_failed(tls, exc)
            return b""
        if tls.done and self._probing:  # all we wanted was the fingerprint
            self.tls_fingerprint = tls.fingerprint
            self._probing = False
            self.untrusted = True
            self._lost(f"untrusted certificate, SHA256 {tls.fingerprint}", retry=False)
            return b""
        self.tls_fingerprint = tls.fingerprint
        self._wire += tls.outgoing()
        return plain

    def _tls_failed(self, tls: ClientTls, exc: TlsFailure) -> None:
        if isinstance(exc, FingerprintMismatch):
            logger.error("%s:%d: %s", self.host, self.port, exc.detail)
            self.tls_fingerprint, self.tls_changed, self.untrusted = exc.got, True, True
            self._lost(exc.detail, retry=False)
        elif isinstance(exc, Untrusted) and not self._probing:
            logger.warning("%s:%d: %s; learning its fingerprint", self.host, self.port, exc.detail)
            self._probing = True
            self.session.reconnect(self.scheduler.now())
            self._drain()
        elif tls.plain_reply:  # a plain frame: a plain server's hello, or a refusal (server_full...)
            codec = Codec()
            codec.receive_data(tls.plain_reply)
            try:
                first = codec.next_message()
            except ProtocolError:
                first = None
            if isinstance(first, Error) and first.fatal:
                self.session.receive_data(tls.plain_reply, self.scheduler.now())  # the session's refusal
                self._drain()
            else:
                self._lost("the server does not speak TLS: connect without TLS", retry=False)
        else:
            self._lost(exc.detail, retry=exc.retry)

    def _wire_bytes(self) -> bytes:
        """Everything waiting, as it goes on the wire (plaintext encrypted once the handshake is done)."""
        tls = self._tls
        if tls is None:
            return bytes(self._outbuf)
        if tls.done and self._outbuf:
            tls.send(bytes(self._outbuf))
            self._outbuf.clear()
        self._wire += tls.outgoing()
        return bytes(self._wire)

    def _flush(self, sock: socket.socket) -> None:
        self._outbuf += self.session.data_to_send()
        buf = self._outbuf
        if self._tls is not None:
            self._wire_bytes()
            buf = self._wire
        while buf:
            try:
                sent = sock.send(buf)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._lost(f"connection lost: {exc}")
                return
            del buf[:sent]

    # -- the socket

    def _resolve(self) -> tuple[int, tuple[Any, ...]]:
        if self._address is None:
            host = _LOCAL_NAMES.get(self.host.lower(), self.host)
            try:
                infos = socket.getaddrinfo(
                    host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
                )
            except socket.gaierror:
                logger.info("resolving %r (blocking)", host)
                infos = socket.getaddrinfo(host, self.port, type=socket.SOCK_STREAM)
            family, _, _, _, sockaddr = infos[0]
            self._address = (family, sockaddr)
        return self._address

    def _open(self) -> None:
        self._teardown()
        target = self.session.routes.target(self.home)  # a cluster's redirect or peers (session_cluster)
        if target != (self.host, self.port):
            self.host, self.port = self._routed = target
            self._address = None
        try:
            family, sockaddr = self._resolve()
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            self._lost(f"cannot reach {self.host}: {exc}")
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex(sockaddr)
        if err not in _CONNECT_PENDING:
            sock.close()
            self._lost(f"cannot connect to {self.host}:{self.port}: {os.strerror(err)}")
            return
        logger.debug("connecting to %s:%d", self.host, self.port)
        self._sock = sock

    def _teardown(self) -> None:
        """Close the socket; the session keeps what outlives it."""
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._outbuf.clear()
        self._wire.clear()
        self._tls = None
