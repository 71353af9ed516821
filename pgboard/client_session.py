"""The client's session with a board server as a sans-IO state machine, after h11's ``Connection``.

No socket, clock, thread or pygame: the socket shell (pgboard/net.py) feeds it what happened and does
what it asks. Time comes in as a ``now`` argument where it matters (latency, silence, back-off).

In: ``connect`` / ``connection_made`` / ``receive_data`` (``b""``: the server closed) /
``connection_lost``, ``timer_fired(name)``, and the user's ``submit`` (a drawing operation), ``send``
(chat, cursor), ``mail_shown``, ``retry_now``, ``close``.
Out: ``data_to_send()`` (bytes for the socket) and ``events`` (a deque): :class:`StateChanged`,
:class:`Received` (a message for the view as it came: others' echoes, objects, cursors...),
:class:`UsersChanged` / :class:`ChatLine` / :class:`RightsChanged` (pgboard/session_social.py),
:class:`Confirmed` (my drawn operation echoed or acknowledged), :class:`Refused` (with what its
rollback needs), :class:`CatchUpStarted` / :class:`CatchUpFinished` (always paired: a catch-up the
link loses ends ``aborted``), and :class:`TimerWanted` (for the shell: call ``timer_fired(name)``
after ``delay``, or cancel it when ``delay`` is None).

The states and their legal moves are :data:`TRANSITIONS`; a move outside it raises
:class:`IllegalTransition` (our bug, never the server's: whatever the server sends is handled).

The user's operations wait in ONE ledger (pgboard/ledger.py) until confirmed or refused, across links,
resent with the same oids after a reconnect's catch-up; at most ``MAX_IN_FLIGHT`` in flight; a
``rate_limited`` refusal of one holds them all (``HELD``) for the error's ``retry`` seconds. Chat typed
offline waits (``MAX_QUEUED_CHAT``) for the catch-up's end. The back-off never gives up.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections import deque

from pgboard.ledger import Ledger
from pgboard.protocol import (
    OPERATIONS,
    AccountError,
    AccountOk,
    BoardObject,
    Codec,
    Join,
    JoinError,
    LocalProtocolError,
    MailAck,
    Message,
    Ping,
    ProtocolError,
    Say,
    encode,
)
from pgboard.protocol_presence import Leave
from pgboard.session_catchup import CatchUps
from pgboard.session_cluster import Routes
from pgboard.session_handlers import handle
from pgboard.session_social import Social
from pgboard.session_types import (  # noqa: F401 - the session's vocabulary, importable from here too
    BACKOFF_INITIAL,
    BACKOFF_JITTER,
    BACKOFF_MAX,
    DEFAULT_RETRY,
    LINKED,
    LONG_OUTAGE_ATTEMPTS,
    MAX_IN_FLIGHT,
    MAX_PINGS_WAITING,
    MAX_QUEUED_CHAT,
    NO_RETRY_ERRORS,
    OPTIMISTIC,
    PING_INTERVAL,
    RETRY_NOW_GAP,
    STABLE_AFTER,
    TIMEOUT,
    TRANSITIONS,
    CatchUpFinished,
    CatchUpStarted,
    Confirmed,
    Credentials,
    Entry,
    Event,
    IllegalTransition,
    Operation,
    Received,
    Refused,
    State,
    StateChanged,
    TimerWanted,
    backoff_delay,
)

logger = logging.getLogger(__name__)




class ClientSession:
    """One client's session with a server, across reconnects; see the module docstring."""

    def __init__(
        self,
        nick: str,
        room: str,
        client_secret: str,
        password: str = "",
        *,
        credentials: Credentials | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.nick, self.room, self.password = nick, room, password  # password: the room's
        self.credentials = credentials  # log in (or sign up) before every join; None: a guest
        # without a saved secret, one for this session's life: its object ids have their prefix
        # (pgboard/ids.py) from the start, and its reconnects stay one author
        self.client_secret = client_secret or secrets.token_hex(16)
        self.rng = rng if rng is not None else random.Random()
        self.state = State.CLOSED
        self.events: deque[Event] = deque()
        self.user_id = ""
        self.account: AccountOk | None = None  # the server's last "account" answer
        self.last_seq = 0
        self.join_error: JoinError | None = None
        self.account_error: AccountError | None = None
        self.last_error = ""
        self.latency: float | None = None
        self.catch_ups = CatchUps(self.events)
        self.attempts = 0  # failed tries in a row since the link was last stable
        self.rerouted = False  # the last drop was the server sending us elsewhere or later, no failure
        self.ledger = Ledger()  # my operations not confirmed yet, in order, across links
        self.routes = Routes()  # where the next connection goes, in a cluster (session_cluster.py)
        self.social = Social()  # who is here, the chat lines shown (session_social.py)
        self._chat: deque[bytes] = deque()
        self._out = bytearray()
        self._codec = Codec()
        self._last_heard = 0.0
        self._online_since: float | None = None
        self._last_by_hand = float("-inf")  # when retry_now last connected (it keeps RETRY_NOW_GAP)
        self._ping_n = 0
        self._pings: dict[int, float] = {}  # our pings not yet answered: number -> time sent
        self._mail_shown = 0  # the highest kept private line (its mail id) the app showed, this link
        self._mail_acked = 0  # ... and the highest we told the server of

    # -- states

    def _to(self, new: State, reason: str = "") -> None:
        old = self.state
        if new not in TRANSITIONS[old]:
            raise IllegalTransition(f"{old} -> {new} is not a move of the session")
        self.state = new
        self.events.append(StateChanged(old, new, reason))

    def _want(self, name: str, delay: float | None) -> None:
        self.events.append(TimerWanted(name, delay))

    @property
    def linked(self) -> bool:
        """A socket is (being) open."""
        return self.state in LINKED

    @property
    def online(self) -> bool:
        return self.state in (State.ONLINE, State.HELD)

    @property
    def held(self) -> bool:
        return self.state is State.HELD

    @property
    def long_outage(self) -> bool:
        """True once LONG_OUTAGE_ATTEMPTS tries in a row failed (the retries go on)."""
        return self.attempts >= LONG_OUTAGE_ATTEMPTS and self.state in (State.OFFLINE, State.CONNECTING)

    # -- the shell's side

    def connect(self, now: float) -> None:
        """The shell opens a socket now (from closed, offline, refused or failed)."""
        self._to(State.CONNECTING)
        self._last_heard = now
        self._want("reconnect", None)
        self._want("silence", TIMEOUT)

    def reconnect(self, now: float) -> None:
        """A new socket within the same try, before any welcome (the TLS probe of an untrusted
        certificate): no back-off, no count of tries."""
        self._down(State.CONNECTING, "connecting again")
        self._last_heard = now
        self._want("silence", TIMEOUT)

    def connection_made(self, now: float) -> None:
        """The socket is up: wait for hello, then log in or join."""
        self._to(State.LOGGING_IN if self.credentials is not None else State.JOINING)
        self._last_heard = now
        self.routes.reached()
        self._want("ping", PING_INTERVAL)

    def heard(self, now: float) -> None:
        """Bytes came from the server (TLS records too): the link is alive."""
        self._last_heard = now

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the server (``b""``: it closed the connection), decoded and handled in order."""
        if not self.linked:
            raise IllegalTransition(f"receive_data while {self.state}")
        self._last_heard = now
        codec = self._codec
        codec.receive_data(data)
        while self._codec is codec:  # a drop inside a handler starts a fresh codec: the rest is moot
            try:
                msg = codec.next_message()
            except ProtocolError as exc:
                if exc.fatal:
                    self.connection_lost(f"protocol error: {exc}", now)
                    return
                logger.warning("bad frame from the server: %s", exc)
                continue
            if msg is None:
                break
            handle(self, msg, now)
        if not data and self._codec is codec:
            self.connection_lost("the server closed the connection", now)

    def connection_lost(
        self, reason: str, now: float, *, retry: bool = True, delay: float | None = None
    ) -> None:
        """The link is gone: retry after the back-off (``delay`` if given), or stay failed."""
        logger.warning("connection dropped: %s", reason)
        since = self._online_since
        if since is not None and now - since >= STABLE_AFTER:
            self.attempts = 0
        self.last_error = reason
        if not retry:
            self._down(State.FAILED, reason)
            return
        self.attempts += 1
        if self.attempts == LONG_OUTAGE_ATTEMPTS:
            logger.warning("%d tries in a row failed; retrying every %g s", self.attempts, BACKOFF_MAX)
        told = self.routes.retry_after()  # a cluster said when: the room moves, its owner is gone
        self.rerouted = delay is not None or told is not None  # (before the state change is seen)
        self._down(State.OFFLINE, reason)
        if delay is None:
            delay = backoff_delay(self.routes.round_of(self.attempts), self.rng, told)
        self._want("reconnect", delay)

    def leave(self) -> None:
        """The user goes to another room or the connect screen: ``leave`` is the last frame sent
        (the caller closes next), so the others read that they left, not that they quit."""
        if self.online:
            self._out += encode(Leave())

    def close(self) -> None:
        """The app leaves: no retry. The ledger is kept (``pending_ops``), to be saved."""
        self.last_error = "closed"
        if self.state is not State.CLOSED:
            self._down(State.CLOSED, "closed")
        self._want("reconnect", None)

    def start(self, now: float) -> None:
        """Begin (again): a fresh count of tries, and a no-op while linked."""
        if self.linked:
            return
        self.attempts = 0
        self.join_error = self.account_error = None
        self.connect(now)

    def retry_now(self, now: float) -> bool:
        """Skip the back-off (or leave refused/failed): True when the shell should connect now; a
        press within RETRY_NOW_GAP of the last one schedules one try at the gap's end instead."""
        if self.state not in (State.OFFLINE, State.REFUSED):
            return False
        if self.state is not State.OFFLINE:
            self.attempts = 0
            self.join_error = self.account_error = None
        gap_ends = self._last_by_hand + RETRY_NOW_GAP
        if now < gap_ends:
            self._want("reconnect", gap_ends - now)
            return False
        self._last_by_hand = now
        self.connect(now)
        return True

    def timer_fired(self, name: str, now: float) -> None:
        if name == "reconnect":
            if self.state in (State.OFFLINE, State.REFUSED, State.FAILED):
                self.connect(now)
        elif name == "silence":
            if not self.linked:
                return
            silent = now - self._last_heard
            if silent >= TIMEOUT:
                what = "no connection" if self.state is State.CONNECTING else "nothing heard from the server"
                self.connection_lost(f"{what} for {silent:.0f} s", now)
            else:
                self._want("silence", TIMEOUT - silent)
        elif name == "ping":
            if self.linked and self.state is not State.CONNECTING:
                self._ping_n += 1
                self._pings[self._ping_n] = now
                if len(self._pings) > MAX_PINGS_WAITING:
                    del self._pings[min(self._pings)]
                self._out += encode(Ping(self._ping_n))
                self._want("ping", PING_INTERVAL)
        elif name == "hold":
            if self.state is State.HELD:
                self._to(State.ONLINE, "hold over")
                self.ledger.send_held_again()
                self._send_unsent()
        elif name == "rejoin":
            if self.state is State.LOGGING_IN and self.credentials is not None:
                self._out += encode(self.credentials.message(self.nick))
            elif self.state is State.JOINING:
                self._send_join()
        else:
            raise LocalProtocolError(f"no timer named {name!r}")

    def data_to_send(self) -> bytes:
        """Everything to write, in order (a mail_ack for the kept lines shown, at most one a call)."""
        if self._mail_shown > self._mail_acked and self.online:
            self._out += encode(MailAck(self._mail_shown))
            self._mail_acked = self._mail_shown
        out = bytes(self._out)
        self._out.clear()
        return out

    @property
    def sending(self) -> int:
        """Bytes waiting in data_to_send."""
        return len(self._out)

    # -- the user's side

    @property
    def pending(self) -> int:
        """How many operations are not yet confirmed (a frame's status line asks: O(1))."""
        return len(self.ledger)

    @property
    def pending_ops(self) -> list[Operation]:
        """Operations not yet confirmed by the server, in the order they were submitted."""
        return self.ledger.ops

    def submit(self, op: Message, *, drawn: bool = False, before: BoardObject | None = None) -> None:
        """Queue a drawing operation; it stays in the ledger until the server confirms or refuses it,
        across reconnects. ``drawn``: the view drew it already (its echo only confirms it);
        ``before``: what its rollback puts back (the object a delete takes away)."""
        self.ledger.add(op, drawn, before)
        if drawn:
            self.catch_ups.drawn(op)  # type: ignore[arg-type]  # the ledger took it: an operation
        self._send_unsent()

    def send(self, msg: Message) -> bool:
        """Send a chat line (Say) or a cursor position. False when it was dropped: a cursor or anything
        else while not online, chat past MAX_QUEUED_CHAT."""
        if isinstance(msg, OPERATIONS):
            raise LocalProtocolError("drawing operations go through submit(), which keeps them")
        frame = encode(msg)
        if isinstance(msg, Say) and not self.online:
            if len(self._chat) >= MAX_QUEUED_CHAT:
                logger.warning("chat queue full (%d lines): dropping %r", MAX_QUEUED_CHAT, msg.text[:40])
                return False
            self._chat.append(frame)
            return True
        if not self.online:
            logger.debug("not online: dropping %r", msg)
            return False
        self._out += frame
        return True

    def mail_shown(self, mail_id: int) -> None:
        """The app showed the kept private line ``mail_id``: acknowledged with the next data_to_send."""
        self._mail_shown = max(self._mail_shown, mail_id)

    def catch_up_applied(self) -> list[Operation]:
        """The view installed a caught-up board: what it drew since the session read that caught_up."""
        return self.catch_ups.applied()

    @property
    def catchup_progress(self) -> tuple[int, int] | None:
        """(received, total) while a catch-up comes in, for the status bar."""
        return self.catch_ups.progress

    def unconfirmed_ids(self) -> set[str]:
        """Object ids of my drawn adds not confirmed yet."""
        return self.ledger.drawn_object_ids()

    # -- inside

    def _down(self, state: State, reason: str) -> None:
        """Leave the link: what belongs to it goes; the ledger, chat queue and last_seq stay."""
        for name in ("silence", "ping", "hold", "rejoin"):
            self._want(name, None)
        self._codec = Codec()
        self._out.clear()
        self.ledger.link_lost()
        self._pings.clear()
        self._mail_shown = self._mail_acked = 0  # a new link gets its mail again, with fresh ids
        self._online_since = None
        self._to(state, reason)
        self.catch_ups.link_lost()

    def _send_join(self) -> None:
        self._out += encode(
            Join(
                self.nick,
                self.room,
                self.password,
                self.last_seq or None,
                self.client_secret,
                packed=True,
                snapshot=True,
            )
        )

    def _send_unsent(self) -> None:
        if self.state is not State.ONLINE:
            return
        self._out += self.ledger.frames(MAX_IN_FLIGHT)

    def _confirmed(self, oid: str) -> Entry | None:
        """The server echoed, acknowledged or refused ``oid``: it leaves the ledger; the next may go."""
        entry = self.ledger.pop(oid)
        self._send_unsent()
        return entry
