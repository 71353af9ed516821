"""The client's connection: a non-blocking socket pump that survives the network.

The frame calls :meth:`Connection.pump` once (and :meth:`Scheduler.run_due` once); nothing here blocks,
sleeps or starts a thread, and nothing imports pygame. The pump completes a non-blocking connect when the
socket turns writable, reads until the socket would block or the frame's share of reading is spent
(``READ_TIME``, ``MAX_READ_PER_PUMP``: a big catch-up is spread over frames) feeding the
:class:`~pgboard.protocol.Codec` (a ``recv()`` may cut a frame anywhere), and writes only what the socket
accepts from an outgoing buffer.

What it keeps, so that nothing drawn is lost or doubled:

- The outbox: every operation passed to :meth:`Connection.send_op` stays there, in order, until its echo
  (same author and oid) or an ``ack`` arrives, or an ``error`` naming its oid refuses it. While offline
  the user keeps drawing into it. After a reconnect the client joins with ``since=last_seq``; once the
  catch-up ends (``caught_up``) it resends what the catch-up did not echo, in order. The server answers an
  oid it already applied with ``ack``, so a resend never doubles an object.
- Flow: at most ``MAX_IN_FLIGHT`` operations are sent and not yet confirmed at once; the rest wait in
  the outbox (a reconnect after a long time offline sends its backlog at the pace of the echoes). An
  operation the server refuses with ``rate_limited`` stays in the outbox: sending pauses for the error's
  ``retry`` seconds, then every operation not confirmed goes again, in order (the server refuses all
  operations while it holds a client back, so the order on the board is the order drawn).
- Chat typed while offline waits in a bounded queue and is sent after the catch-up; cursor positions are
  ephemeral and dropped while offline.
- Private lines kept for the account while it was offline (``chat`` with a ``mail`` id) are
  acknowledged with ``mail_ack`` once the app has shown them (:meth:`Connection.mail_shown`), one
  ``mail_ack`` per pump at most; the server keeps what was never acknowledged for the next login.

When the connection drops (the server closed it, a socket error, a fatal protocol error, or nothing
heard for ``TIMEOUT`` seconds although we ping every ``PING_INTERVAL``), the state turns "offline" and a
reconnect is scheduled with exponential back-off and jitter (``BACKOFF_INITIAL`` doubling up to
``BACKOFF_MAX``, +-``BACKOFF_JITTER``). It never gives up while the app runs: a server that comes back
hours later gets the outbox drawn meanwhile. After ``LONG_OUTAGE_ATTEMPTS`` failed tries in a row (about
five minutes) :attr:`Connection.long_outage` turns true (the app then keeps the board in a recovery file,
once per outage, and the status line says the server is down) and the retries go on every
``BACKOFF_MAX`` seconds. :meth:`Connection.retry_now` (F5, or a click on the status bar) tries at once.

States: "closed" (not started, or after :meth:`Connection.close`), "connecting" (TCP), "joining" (the
socket is up; hello, log-in and join), "catching_up" (welcomed; the board is being replayed), "online",
"offline" (a retry is scheduled), "refused" (a ``join_error`` or an ``account_error``; kept in
``join_error`` / ``account_error``; no retry).

With :class:`Credentials` (an account), every connection, the automatic reconnects included, sends
``login`` (or first ``signup`` or ``passwd``) after ``hello`` and joins once the server answers
``account``: the user is never asked again. The password lives in this object's memory only.

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
import math
import os
import random
import secrets
import select
import socket
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pgboard.protocol import (
    OPERATIONS,
    PROTOCOL_VERSION,
    AccountError,
    AccountOk,
    Ack,
    CatchUp,
    CaughtUp,
    Codec,
    Cursor,
    Error,
    Hello,
    Join,
    JoinError,
    LocalProtocolError,
    Login,
    MailAck,
    Message,
    Obj,
    Operation,
    Passwd,
    Ping,
    Pong,
    ProtocolError,
    Renamed,
    Say,
    Signup,
    Welcome,
    encode,
)
from pgboard.scheduler import DelayedCall, LoopingCall, Scheduler
from pgboard.tls import ClientTls, FingerprintMismatch, TlsFailure, Untrusted, normal_fingerprint

logger = logging.getLogger(__name__)

PING_INTERVAL = 5.0  # seconds between two pings of ours (latency, and keeping the link alive)
TIMEOUT = 15.0  # seconds without a byte from the server (connecting included) before we drop it
BACKOFF_INITIAL = 0.5  # seconds before the first reconnect attempt
BACKOFF_FACTOR = 2.0
BACKOFF_MAX = 30.0  # the back-off stops doubling here
BACKOFF_JITTER = 0.2  # each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER]
LONG_OUTAGE_ATTEMPTS = 15  # failed tries in a row (0.5+1+...+16 + 9*30 s, about 5 minutes) after which
# the outage counts as long: the app writes a recovery file and says "Server down"; the retries go on
STABLE_AFTER = 10.0  # seconds online after which a drop starts the back-off afresh (a server that
# welcomes and then drops every client at once gets the growing back-off, not a reconnect storm)
RECV_SIZE = 64 * 1024  # bytes asked of one recv()
MAX_READ_PER_PUMP = 4 * 1024 * 1024  # bytes read in one pump, so a huge catch-up cannot freeze a frame
READ_TIME = 0.025  # seconds of reading and decoding in one pump, after which the rest waits a frame
MAX_QUEUED_CHAT = 100  # chat lines typed while offline, kept for the reconnect
MAX_PINGS_WAITING = 8  # unanswered pings remembered for measuring a late answer
CURSOR_BACKLOG = 64 * 1024  # bytes already waiting to be sent above which cursor positions are dropped
MAX_IN_FLIGHT = 100  # operations sent and not yet confirmed (the server's burst is larger)
DEFAULT_RETRY = 1.0  # seconds to hold operations back after a "rate_limited" without a retry field
# fatal errors after which reconnecting would be wrong
NO_RETRY_ERRORS = frozenset({"replaced", "kicked", "banned", "tls_required"})

STATES = (
    "closed",
    "connecting",
    "joining",
    "catching_up",
    "online",
    "offline",
    "refused",
    "untrusted",
)
RETRY_NOW_GAP = 1.0  # seconds between two tries asked for by hand: F5 held down (key repeat, ~30 a
# second) would otherwise open a connection a frame; a press sooner is one try at the gap's end
RETRY_KEY = "F5"  # pgboard/shortcuts.py binds it to "reconnect" (retry_now); a click on the status bar too
DOWN_TEXT = "Server down: still retrying"  # the status line after LONG_OUTAGE_ATTEMPTS failed tries
_CONNECT_PENDING = frozenset({0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY, errno.EINTR})
_LOCAL_NAMES = {"": "127.0.0.1", "localhost": "127.0.0.1"}


@dataclass(frozen=True)
class Credentials:
    """How to log in before each join: ``action`` "login", "signup" or "passwd" (``new`` is then the
    new password). Kept in memory only, for the automatic re-login after a drop; never in a repr."""

    action: str
    password: str = field(repr=False)
    new: str = field(default="", repr=False)

    def message(self, nick: str) -> Signup | Login | Passwd:
        if self.action == "signup":
            return Signup(nick, self.password)
        if self.action == "passwd":
            return Passwd(nick, self.password, self.new)
        return Login(nick, self.password)


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Seconds to wait before reconnect ``attempt`` (1 for the first retry after a drop)."""
    doublings = min(max(0, attempt - 1), 32)  # retries go on for hours: 2.0 ** 1024 would overflow
    base = min(BACKOFF_MAX, BACKOFF_INITIAL * BACKOFF_FACTOR**doublings)
    return base * (1.0 + rng.uniform(-BACKOFF_JITTER, BACKOFF_JITTER))


class Connection:
    """One client connection to a board server; see the module docstring for the life cycle.

    Read by the app: ``state``, ``incoming`` (a deque of messages to apply: everything except hello,
    ping, pong and ack, which the connection handles itself), ``user_id``, ``nick``, ``room``,
    ``latency`` (seconds, or None), ``catchup_progress`` ((received, total) while catching up, else
    None), ``last_seq``, ``join_error``, ``last_error`` (why the last drop happened), ``pending_ops``
    and :meth:`status_text`.
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
        self.tls = tls
        self.pinned = normal_fingerprint(fingerprint) if fingerprint else ""  # the trusted certificate
        self.tls_fingerprint = ""  # the server certificate's, once seen (shown when it is untrusted)
        self.tls_changed = False  # the pinned fingerprint did not match: a loud refusal
        self._tls: ClientTls | None = None
        self._probing = False  # this connection only learns an untrusted certificate's fingerprint
        self._wire = bytearray()  # TLS records waiting for the socket
        self.host, self.port = host, port
        self.nick, self.room, self.password = nick, room, password  # password: the room's
        self.credentials = credentials  # log in (or sign up) before every join; None: a guest
        self.account: AccountOk | None = None  # the server's last "account" answer
        # without a saved secret, one for this connection's life: its object ids have their prefix
        # (pgboard/ids.py) from the start, and its reconnects stay one author
        self.client_secret = client_secret or secrets.token_hex(16)
        self.rng = rng if rng is not None else random.Random()
        self.state = "closed"
        self.incoming: deque[Message] = deque()
        self.user_id = ""
        self.latency: float | None = None
        self.catchup_progress: tuple[int, int] | None = None
        self.last_seq = 0
        self.join_error: JoinError | None = None
        self.account_error: AccountError | None = None
        self.last_error = ""
        self.attempts = 0  # failed tries in a row since the link was last stable
        self._last_by_hand = -math.inf  # when retry_now last connected (it keeps RETRY_NOW_GAP)
        self._online_since: float | None = None
        self._outbox: dict[str, tuple[Operation, bytes]] = {}  # oid -> (op, its frame), in send order
        self._unsent: deque[str] = deque()  # oids of the outbox to send (or send again), in order
        self._in_flight: set[str] = set()  # oids sent on this connection, not yet confirmed or refused
        self._hold: DelayedCall | None = None  # while the server rate-limits us: sending resumes after it
        self._rejoin: DelayedCall | None = None  # the server paced our join (or login): asked again then
        self._chat: deque[bytes] = deque()
        self._sock: socket.socket | None = None
        self._codec = Codec()
        self._outbuf = bytearray()
        self._address: tuple[int, tuple[Any, ...]] | None = None  # (family, sockaddr), resolved once
        self._retry: DelayedCall | None = None
        self._silence: DelayedCall | None = None
        self._heartbeat: LoopingCall | None = None
        self._last_heard = 0.0
        self._ping_n = 0
        self._pings: dict[int, float] = {}  # our pings not yet answered: number -> time sent
        self._mail_shown = 0  # the highest kept private line (its mail id) the app showed, this link
        self._mail_acked = 0  # ... and the highest we told the server of

    # -- the life cycle

    def start(self) -> None:
        """Begin connecting (non-blocking); a no-op while already connecting or connected."""
        if self.state in ("connecting", "joining", "catching_up", "online"):
            return
        self._cancel_retry()
        self.attempts = 0
        self.join_error = None
        self._probing = False
        self.account_error = None
        self._address = None  # resolve again: the user may have changed the host
        self._connect()

    @property
    def long_outage(self) -> bool:
        """True once LONG_OUTAGE_ATTEMPTS tries in a row failed (the retries go on): time for the app to
        keep the board in a recovery file."""
        return self.attempts >= LONG_OUTAGE_ATTEMPTS and self.state in ("offline", "connecting")

    def retry_now(self) -> None:
        """Skip the back-off (or leave "refused"): try again at once (F5, a click on the status bar)."""
        if self.state in ("offline", "refused"):
            if self.state != "offline":
                self.attempts = 0
                self.join_error = None
                self.account_error = None
            self._cancel_retry()
            now = self.scheduler.now()
            gap_ends = self._last_by_hand + RETRY_NOW_GAP
            if now < gap_ends:
                self._retry = self.scheduler.call_at(gap_ends, self._connect)
                return
            self._last_by_hand = now
            self._connect()

    def close(self) -> None:
        """A clean exit: send what the socket takes at once, close, stop every timer. The outbox is
        kept (``pending_ops``), so the app can still save what the server never confirmed."""
        self._cancel_retry()
        sock = self._sock
        if sock is not None and self.state not in ("connecting",):
            try:
                sock.send(self._wire_bytes())
            except OSError:
                pass
        self._teardown()
        self.state = "closed"
        self.last_error = "closed"

    def fileno(self) -> int:
        """The socket's descriptor for select(), or -1 when there is none."""
        return self._sock.fileno() if self._sock is not None else -1

    def wants_write(self) -> bool:
        """True when the pump waits for the socket to turn writable (connecting, or bytes queued)."""
        if self._sock is None:
            return False
        if self.state == "connecting" or self._wire:
            return True
        return bool(self._outbuf) and (self._tls is None or self._tls.done)

    def trust(self, fingerprint: str) -> None:
        """The user trusts this certificate (shown in ``tls_fingerprint``): pin it and connect."""
        self.pinned = normal_fingerprint(fingerprint)
        self.tls_changed = False
        self.start()

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

    # -- the app's side

    @property
    def pending_ops(self) -> list[Operation]:
        """Operations not yet acknowledged by the server, in the order they were sent."""
        return [op for op, _ in self._outbox.values()]

    def send_op(self, op: Operation) -> None:
        """Queue a drawing operation; it is kept until the server confirms it, across reconnects."""
        if not isinstance(op, OPERATIONS):
            raise LocalProtocolError(f"send_op takes a drawing operation, not {op!r}")
        if op.oid in self._outbox:
            raise LocalProtocolError(f"operation id {op.oid!r} is already waiting for the server")
        frame = encode(op)
        self._outbox[op.oid] = (op, frame)
        self._unsent.append(op.oid)
        self._send_unsent()

    @property
    def held(self) -> bool:
        """True while the server rate-limits us: operations wait in the outbox for the retry delay."""
        return self._hold is not None and self._hold.active

    def _send_unsent(self) -> None:
        if self.state != "online" or self.held:
            return
        while self._unsent and len(self._in_flight) < MAX_IN_FLIGHT:
            oid = self._unsent.popleft()
            entry = self._outbox.get(oid)
            if entry is not None and oid not in self._in_flight:
                self._in_flight.add(oid)
                self._outbuf += entry[1]

    def _confirmed(self, oid: str) -> None:
        """The server echoed, acknowledged or refused ``oid``: it leaves the outbox; the next may go."""
        self._outbox.pop(oid, None)
        if self._in_flight:
            self._in_flight.discard(oid)
            self._send_unsent()

    def _held_back(self, msg: Error) -> None:
        """A rate_limited refusal of one of ours: keep it, pause, then send the rest again in order."""
        self._in_flight.discard(msg.oid)
        if not self.held:
            delay = msg.retry or DEFAULT_RETRY
            logger.info("the server slows us down: sending again in %.3g s", delay)
            self._hold = self.scheduler.call_later(delay, self._end_hold)

    def _end_hold(self) -> None:
        self._hold = None
        self._unsent = deque(oid for oid in self._outbox if oid not in self._in_flight)
        self._send_unsent()

    def mail_shown(self, mail_id: int) -> None:
        """The app showed the kept private line ``mail_id``: acknowledge it (at the next pump, so that
        a whole mailbox shown in one frame costs one mail_ack)."""
        self._mail_shown = max(self._mail_shown, mail_id)

    def send(self, msg: Message) -> bool:
        """Send a chat line (Say) or a cursor position. Returns False when the message was dropped:
        a cursor while not online (or while the link is backed up), chat past MAX_QUEUED_CHAT."""
        if isinstance(msg, OPERATIONS):
            raise LocalProtocolError("drawing operations go through send_op(), which keeps them")
        frame = encode(msg)
        if isinstance(msg, Cursor):
            if self.state != "online" or len(self._outbuf) + len(self._wire) > CURSOR_BACKLOG:
                return False
        elif isinstance(msg, Say) and self.state != "online":
            if len(self._chat) >= MAX_QUEUED_CHAT:
                logger.warning("chat queue full (%d lines): dropping %r", MAX_QUEUED_CHAT, msg.text[:40])
                return False
            self._chat.append(frame)
            return True
        elif self.state != "online":
            logger.debug("not online: dropping %r", msg)
            return False
        self._outbuf += frame
        return True

    def status_text(self) -> str:
        """One line for the status bar."""
        state = self.state
        if state == "connecting":
            tail = f" (attempt {self.attempts + 1})" if self.attempts else ""
            return f"Connecting to {self.host}:{self.port}...{tail}"
        if state == "joining":
            return f"Joining {self.room or 'the lobby'}..."
        if state == "catching_up":
            if self.catchup_progress and self.catchup_progress[1]:
                done, total = self.catchup_progress
                return f"Catching up: {done}/{total}"
            return "Catching up..."
        if state == "online":
            ping = f", {round(self.latency * 1000)} ms" if self.latency is not None else ""
            if self.held:
                return f"Online: {self.nick} in {self.room}{ping}; slowed down by the server, resending"
            return f"Online: {self.nick} in {self.room}{ping}"
        if state == "offline":
            left = self._retry.remaining if self._retry is not None and self._retry.active else 0.0
            kept = len(self._outbox)
            tail = f"; {kept} unsent change{'s' if kept != 1 else ''} kept" if kept else ""
            head = DOWN_TEXT if self.long_outage else "Offline: retrying"
            return f"{head} in {max(1, math.ceil(left))} s{tail} ({RETRY_KEY}: now)"
        if state == "refused":
            err = self.join_error or self.account_error
            if err is None:
                return "Refused by the server"
            text = f"Refused: {err.detail or err.reason}"
            suggestion = getattr(err, "suggestion", "")
            return f"{text}. Try {suggestion!r}?" if suggestion else text
        if state == "untrusted":
            if self.tls_changed:
                return self.last_error
            return f"Untrusted certificate, SHA256 {self.tls_fingerprint}: trust it?"
        return f"Disconnected: {self.last_error}" if self.last_error not in ("", "closed") else "Disconnected"

    # -- the pump

    def pump(self) -> None:
        """Once per frame: finish connecting, read everything available, write what the socket takes."""
        sock = self._sock
        if sock is None:
            return
        if self.state == "connecting" and not self._finish_connect(sock):
            return
        self._read(sock)
        if self._sock is sock:
            if self._mail_shown > self._mail_acked and self.state == "online":
                self._outbuf += encode(MailAck(self._mail_shown))
                self._mail_acked = self._mail_shown
            self._flush(sock)

    def _finish_connect(self, sock: socket.socket) -> bool:
        try:
            _, writable, failed = select.select([], [sock], [sock], 0)
        except (OSError, ValueError) as exc:
            self._drop(f"connect failed: {exc}")
            return False
        if not writable and not failed:
            return False
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._drop(f"cannot connect to {self.host}:{self.port}: {os.strerror(err)}")
            return False
        logger.info("connected to %s:%d", self.host, self.port)
        self.state = "joining"
        self._heard()
        if self.tls:
            self._tls = ClientTls(self.host, pinned=self.pinned, probe=self._probing)
            self._wire += self._tls.outgoing()  # the ClientHello
        self._heartbeat = self.scheduler.looping_call(PING_INTERVAL, self._ping)
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
                self._drop(f"connection lost: {exc}")
                return
            if not data:
                if self._tls is not None:
                    tail = self._decrypt(sock, b"")
                    if self._sock is not sock:
                        return
                    if tail:
                        self._codec.receive_data(tail)
                self._codec.receive_data(b"")
                self._process(sock)
                if self._sock is sock:
                    self._drop("the server closed the connection")
                return
            budget -= len(data)
            self._heard()
            if self._tls is not None:
                data = self._decrypt(sock, data)
                if self._sock is not sock:
                    return
                if not data:  # handshake records, or a record not complete yet
                    continue
            self._codec.receive_data(data)
            self._process(sock)

    def _decrypt(self, sock: socket.socket, data: bytes) -> bytes:
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
            self._teardown()
            self.state = "untrusted"
            self.last_error = f"untrusted certificate, SHA256 {tls.fingerprint}"
            return b""
        self.tls_fingerprint = tls.fingerprint
        self._wire += tls.outgoing()
        return plain

    def _tls_failed(self, tls: ClientTls, exc: TlsFailure) -> None:
        if isinstance(exc, FingerprintMismatch):
            logger.error("%s:%d: %s", self.host, self.port, exc.detail)
            self.tls_fingerprint, self.tls_changed = exc.got, True
            self._teardown()
            self.state, self.last_error = "untrusted", exc.detail
        elif isinstance(exc, Untrusted) and not self._probing:
            logger.warning("%s:%d: %s; learning its fingerprint", self.host, self.port, exc.detail)
            self._probing = True
            self._connect()
        elif tls.plain_reply:  # a plain frame: a plain server's hello, or a refusal (server_full...)
            codec = Codec()
            codec.receive_data(tls.plain_reply)
            try:
                first = codec.next_message()
            except ProtocolError:
                first = None
            if isinstance(first, Error) and first.fatal:
                self._on_error(first)
            else:
                self._drop("the server does not speak TLS: connect without TLS", retry=False)
        else:
            self._drop(exc.detail, retry=exc.retry)

    def _flush(self, sock: socket.socket) -> None:
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
                self._drop(f"connection lost: {exc}")
                return
            del buf[:sent]

    def _process(self, sock: socket.socket) -> None:
        while self._sock is sock:
            try:
                msg = self._codec.next_message()
            except ProtocolError as exc:
                if exc.fatal:
                    self._drop(f"protocol error: {exc}")
                    return
                logger.warning("bad frame from the server: %s", exc)
                continue
            if msg is None:
                return
            handler = self._handlers.get(type(msg))
            if handler is not None:
                handler(self, msg)
            elif isinstance(msg, OPERATIONS):
                self._on_echo(msg)
            else:
                self.incoming.append(msg)

    # -- message handlers

    def _on_hello(self, msg: Hello) -> None:
        if msg.version != PROTOCOL_VERSION:
            logger.warning(
                "server %r speaks protocol %d, we speak %d", msg.server, msg.version, PROTOCOL_VERSION
            )
        if self.credentials is not None:  # every connection logs in again, then joins
            self._outbuf += encode(self.credentials.message(self.nick))
        else:
            self._send_join()

    def _send_join(self) -> None:
        join = Join(
            self.nick, self.room, self.password, self.last_seq or None, self.client_secret, packed=True
        )
        self._outbuf += encode(join)

    def _join_again(self) -> None:
        self._rejoin = None
        if self.state != "joining":
            return
        if self.credentials is not None and self.account is None:
            self._outbuf += encode(self.credentials.message(self.nick))
        else:
            self._send_join()

    def _on_account(self, msg: AccountOk) -> None:
        self.account = msg
        self.nick = msg.nick
        creds = self.credentials
        if creds is not None and creds.action != "login":  # signed up, or changed: log in from now on
            self.credentials = Credentials("login", creds.new if creds.action == "passwd" else creds.password)
        self.incoming.append(msg)
        if self.state == "joining":
            self._send_join()

    def _on_account_error(self, msg: AccountError) -> None:
        self.incoming.append(msg)
        if self.state != "joining":
            return  # a passwd sent from inside a room: nothing else changes
        logger.info("%s refused: %s %s", msg.action, msg.reason, msg.detail)
        if msg.reason == "too_many_attempts" and self.account is not None:
            # we logged in before with this password: someone else is failing from our address
            self._drop(msg.detail or msg.reason, delay=max(msg.retry, BACKOFF_INITIAL))
            return
        self.account_error = msg
        self._teardown()
        self.state = "refused"
        self.last_error = msg.detail or msg.reason

    def _on_welcome(self, msg: Welcome) -> None:
        self.user_id, self.nick, self.room = msg.user, msg.nick, msg.room
        self.state = "catching_up"
        self.catchup_progress = (0, 0)
        self.incoming.append(msg)

    def _on_join_error(self, msg: JoinError) -> None:
        logger.info("join refused: %s %s", msg.reason, msg.detail)
        self.join_error = msg
        self._teardown()
        self.state = "refused"
        self.last_error = msg.detail or msg.reason
        self.incoming.append(msg)

    def _on_catch_up(self, msg: CatchUp) -> None:
        self.catchup_progress = (0, msg.count)
        self.incoming.append(msg)

    def _on_obj(self, msg: Obj) -> None:
        self._count_catchup()
        self.incoming.append(msg)

    def _on_caught_up(self, msg: CaughtUp) -> None:
        self.last_seq = max(self.last_seq, msg.seq)
        self.state = "online"
        self._online_since = self.scheduler.now()
        self.catchup_progress = None
        self.incoming.append(msg)
        # What the catch-up did not echo goes again, in order (the server acks what it already has),
        # then the chat typed while offline.
        self._in_flight.clear()
        self._unsent = deque(self._outbox)
        self._send_unsent()
        while self._chat:
            self._outbuf += self._chat.popleft()

    def _on_echo(self, msg: Operation) -> None:
        if msg.seq:
            self.last_seq = max(self.last_seq, msg.seq)
        self._count_catchup()
        if msg.author and msg.author == self.user_id:
            self._confirmed(msg.oid)
        self.incoming.append(msg)

    def _on_ack(self, msg: Ack) -> None:
        self._confirmed(msg.oid)

    def _on_error(self, msg: Error) -> None:
        if msg.code == "rate_limited" and msg.oid in self._outbox:
            self._held_back(msg)  # not the app's business: nothing is lost, nothing to roll back
            return
        if msg.code == "rate_limited" and not msg.oid and self.state == "joining":
            # joins (and logins) are paced per address (JOIN_RATE): ask again when the server says
            self._rejoin = self.scheduler.call_later(msg.retry or DEFAULT_RETRY, self._join_again)
            return
        if msg.oid and msg.oid in self._outbox:
            logger.info("the server refused operation %s: %s %s", msg.oid, msg.code, msg.detail)
            self._confirmed(msg.oid)
        self.incoming.append(msg)
        if msg.fatal:
            reason = f"{msg.code}: {msg.detail}" if msg.detail else msg.code
            self._drop(reason, retry=msg.code not in NO_RETRY_ERRORS)

    def _on_renamed(self, msg: Renamed) -> None:
        if msg.user == self.user_id:
            self.nick = msg.nick  # a /nick command: rejoin under the new name after a drop
        self.incoming.append(msg)

    def _on_client_message(self, msg: Message) -> None:
        logger.warning("the server sent a client's message, ignored: %r", msg)

    def _on_ping(self, msg: Ping) -> None:
        self._outbuf += encode(Pong(msg.n))

    def _on_pong(self, msg: Pong) -> None:
        sent = self._pings.pop(msg.n, None)
        if sent is not None:  # a late answer still measures its own round trip
            self.latency = self.scheduler.now() - sent
            for n in [n for n in self._pings if n < msg.n]:
                del self._pings[n]

    _handlers: dict[type, Any] = {
        Hello: _on_hello,
        Welcome: _on_welcome,
        JoinError: _on_join_error,
        CatchUp: _on_catch_up,
        Obj: _on_obj,
        CaughtUp: _on_caught_up,
        Ack: _on_ack,
        Error: _on_error,
        Ping: _on_ping,
        Pong: _on_pong,
        Renamed: _on_renamed,
        AccountOk: _on_account,
        AccountError: _on_account_error,
        Join: _on_client_message,
        Say: _on_client_message,
    }

    def _count_catchup(self) -> None:
        if self.state == "catching_up" and self.catchup_progress is not None:
            done, total = self.catchup_progress
            self.catchup_progress = (done + 1, total)

    # -- timers

    def _ping(self) -> None:
        if self._sock is None or self.state == "connecting":
            return
        self._ping_n += 1
        self._pings[self._ping_n] = self.scheduler.now()
        if len(self._pings) > MAX_PINGS_WAITING:
            del self._pings[min(self._pings)]
        self._outbuf += encode(Ping(self._ping_n))
        self._flush(self._sock)  # now, not at the next pump: the round trip should not include a frame

    def _heard(self) -> None:
        self._last_heard = self.scheduler.now()

    def _arm_silence(self) -> None:
        self._silence = self.scheduler.call_at(self._last_heard + TIMEOUT, self._check_silence)

    def _check_silence(self) -> None:
        silent = self.scheduler.now() - self._last_heard
        if silent >= TIMEOUT:
            what = "no connection" if self.state == "connecting" else "nothing heard from the server"
            self._drop(f"{what} for {silent:.0f} s")
        else:
            self._arm_silence()

    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    # -- connecting and dropping

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

    def _connect(self) -> None:
        self._retry = None
        self._teardown()
        self.state = "connecting"
        self._heard()
        try:
            family, sockaddr = self._resolve()
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as exc:
            self._drop(f"cannot reach {self.host}: {exc}")
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        err = sock.connect_ex(sockaddr)
        if err not in _CONNECT_PENDING:
            sock.close()
            self._drop(f"cannot connect to {self.host}:{self.port}: {os.strerror(err)}")
            return
        logger.debug("connecting to %s:%d", self.host, self.port)
        self._sock = sock
        self._arm_silence()

    def _teardown(self) -> None:
        """Close the socket and stop its timers; the outbox, chat queue and last_seq stay."""
        if self._silence is not None:
            self._silence.cancel()
            self._silence = None
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None
        self._codec = Codec()
        self._outbuf.clear()
        self._wire.clear()
        self._tls = None
        self._in_flight.clear()
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        if self._rejoin is not None:
            self._rejoin.cancel()
            self._rejoin = None
        self._pings.clear()
        self._mail_shown = self._mail_acked = 0  # a new link gets its mail again, with fresh ids
        self.catchup_progress = None
        self._online_since = None

    def _drop(self, reason: str, *, retry: bool = True, delay: float | None = None) -> None:
        logger.warning("connection to %s:%d dropped: %s", self.host, self.port, reason)
        since = self._online_since
        if since is not None and self.scheduler.now() - since >= STABLE_AFTER:
            self.attempts = 0
        self._teardown()
        self.last_error = reason
        if not retry:
            self.state = "closed"
            return
        self.attempts += 1
        if self.attempts == LONG_OUTAGE_ATTEMPTS:
            logger.warning("%d tries in a row failed; retrying every %g s", self.attempts, BACKOFF_MAX)
        if delay is None:
            delay = backoff_delay(self.attempts, self.rng)
        self.state = "offline"
        self._retry = self.scheduler.call_later(delay, self._connect)
