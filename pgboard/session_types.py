"""The client session's vocabulary (pgboard/client_session.py): its limits, its states and their legal
moves, the ledger's entry, the events it tells, and the back-off. Pure data: no socket, clock or pygame."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field

from pgboard.protocol import (
    Ack,
    Add,
    BoardObject,
    CatchUp,
    CaughtUp,
    Delete,
    Error,
    Extend,
    LocalProtocolError,
    Login,
    Message,
    Move,
    Operation,
    Passwd,
    Signup,
)
from pgboard.session_social import SocialEvent

PING_INTERVAL = 5.0  # seconds between two pings of ours (latency, and keeping the link alive)
TIMEOUT = 15.0  # seconds without a byte from the server (connecting included) before we drop it
LONG_OUTAGE_ATTEMPTS = 15  # failed tries in a row (0.5+1+...+16 + 9*30 s, about 5 minutes) after which
# the outage counts as long: the app writes a recovery file and says "Server down"; the retries go on
STABLE_AFTER = 10.0  # seconds online after which a drop starts the back-off afresh (a server that
# welcomes and then drops every client at once gets the growing back-off, not a reconnect storm)
MAX_QUEUED_CHAT = 100  # chat lines typed while offline, kept for the reconnect
MAX_PINGS_WAITING = 8  # unanswered pings remembered for measuring a late answer
MAX_IN_FLIGHT = 100  # operations sent and not yet confirmed (the server's burst is larger)
DEFAULT_RETRY = 1.0  # seconds to hold operations back after a "rate_limited" without a retry field
RETRY_NOW_GAP = 1.0  # seconds between two tries asked for by hand: F5 held down (key repeat, ~30 a
# second) would otherwise open a connection a frame; a press sooner is one try at the gap's end
# fatal errors after which reconnecting would be wrong
NO_RETRY_ERRORS = frozenset({"replaced", "kicked", "banned", "tls_required"})
# Errors before a close that say when to come back (``retry``): the room changes process in a cluster
# (server/cluster/); the next try waits that long (with jitter), not the grown back-off
COME_BACK_ERRORS = frozenset({"moving", "moved"})
BACKOFF_INITIAL = 0.5  # seconds before the first reconnect attempt
BACKOFF_FACTOR = 2.0
BACKOFF_MAX = 30.0  # the back-off stops doubling here
BACKOFF_JITTER = 0.2  # each delay is scaled by a random factor in [1 - JITTER, 1 + JITTER]

OPTIMISTIC = (Add, Extend, Move, Delete)  # drawn before their echo; the others wait for it


class State(enum.StrEnum):
    CLOSED = "closed"  # not started, or closed by the app
    CONNECTING = "connecting"  # the shell opens the socket (TCP, TLS)
    LOGGING_IN = "logging_in"  # connected with an account: hello, then login/signup/passwd
    JOINING = "joining"  # connected: hello, then join
    CATCHING_UP = "catching_up"  # welcomed; the board (or the missed operations) comes in
    ONLINE = "online"
    HELD = "held"  # online, but the server rate-limits our operations: they wait for the retry
    OFFLINE = "offline"  # the link dropped; a reconnect is scheduled (never given up)
    REFUSED = "refused"  # a join_error or account_error: no retry until asked (retry_now)
    FAILED = "failed"  # a fatal error (kicked, replaced, TLS...): no retry until asked


LINKED = (State.CONNECTING, State.LOGGING_IN, State.JOINING, State.CATCHING_UP, State.ONLINE, State.HELD)
# welcomed by the server: who is in the room is what it said, not as last seen (held: online, paced)
WELCOMED = (State.CATCHING_UP, State.ONLINE, State.HELD)
_DOWN = (State.OFFLINE, State.FAILED, State.CLOSED)
TRANSITIONS: dict[State, frozenset[State]] = {
    State.CLOSED: frozenset({State.CONNECTING}),
    State.CONNECTING: frozenset({State.LOGGING_IN, State.JOINING, *_DOWN}),
    State.LOGGING_IN: frozenset({State.CONNECTING, State.JOINING, State.CATCHING_UP, State.REFUSED, *_DOWN}),
    State.JOINING: frozenset({State.CONNECTING, State.CATCHING_UP, State.REFUSED, *_DOWN}),
    State.CATCHING_UP: frozenset({State.ONLINE, *_DOWN}),
    State.ONLINE: frozenset({State.HELD, State.CATCHING_UP, *_DOWN}),
    State.HELD: frozenset({State.ONLINE, State.CATCHING_UP, *_DOWN}),
    State.OFFLINE: frozenset({State.CONNECTING, State.CLOSED}),
    State.REFUSED: frozenset({State.CONNECTING, State.CLOSED}),
    State.FAILED: frozenset({State.CONNECTING, State.CLOSED}),
}


class IllegalTransition(LocalProtocolError):
    """The session was asked to do something its state does not allow (our bug, not the server's)."""


@dataclass(frozen=True, slots=True)
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


@dataclass
class Entry:
    """One unconfirmed operation: its frame, whether it was drawn before its echo, and what taking it
    back needs (``before``: the object a delete took off the board)."""

    op: Operation
    frame: bytes
    drawn: bool
    before: BoardObject | None = None


# -- events (what the session tells the shell, the view and the app)


@dataclass(frozen=True, slots=True)
class StateChanged:
    old: State
    new: State
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Received:
    """A message for the view as it came (others' operations, objects, chat, users, rights...)."""

    msg: Message


@dataclass(frozen=True, slots=True)
class Confirmed:
    """My operation, drawn already, left the ledger: its echo (``msg``) or an ``ack``."""

    msg: Operation | Ack
    op: Operation


@dataclass(frozen=True, slots=True)
class Refused:
    """The server refused ``msg`` (an error); ``entry`` is my operation it names, to take back."""

    msg: Error
    entry: Entry | None


@dataclass(frozen=True, slots=True)
class CatchUpStarted:
    msg: CatchUp


@dataclass(frozen=True, slots=True)
class CatchUpFinished:
    """The catch-up ended (``msg`` None: the link dropped first, ``aborted``). ``redraw``: my drawn
    operations still unconfirmed then, to draw again over the board that came in."""

    msg: CaughtUp | None
    redraw: tuple[Operation, ...] = ()

    @property
    def aborted(self) -> bool:
        return self.msg is None


@dataclass(frozen=True, slots=True)
class TimerWanted:
    """For the shell: call ``timer_fired(name, now)`` after ``delay`` seconds (None: cancel it)."""

    name: str
    delay: float | None


Event = (
    StateChanged
    | Received
    | Confirmed
    | Refused
    | CatchUpStarted
    | CatchUpFinished
    | TimerWanted
    | SocialEvent  # UsersChanged, ChatLine, RightsChanged (pgboard/session_social.py)
)


def backoff_delay(attempt: int, rng: random.Random, told: float | None = None) -> float:
    """Seconds to wait before reconnect ``attempt`` (1 for the first retry after a drop), or ``told``
    (what the server said, at most BACKOFF_MAX), with jitter either way (no herd of clients)."""
    doublings = min(max(0, attempt - 1), 32)  # retries go on for hours: 2.0 ** 1024 would overflow
    base = min(BACKOFF_MAX, BACKOFF_INITIAL * BACKOFF_FACTOR**doublings if told is None else told)
    return base * (1.0 + rng.uniform(-BACKOFF_JITTER, BACKOFF_JITTER))
