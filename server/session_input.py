"""What a connection does with a message that is not a drawing operation, how it refuses input over
a rate limit, and its heartbeat: the parts of :class:`~pgboard_server.session.Session` that decide,
kept apart from its reading and writing (server/session.py). Each function takes the session as
``self``: they were its methods.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from pgboard_server import history
from pgboard_server.limits import OBJECTS_PER_OP

from pgboard.protocol import (
    ACCOUNT_MESSAGES,
    OPERATIONS,
    Cursor,
    Error,
    Join,
    MailAck,
    Message,
    Ping,
    Pong,
    Rooms,
    Say,
)
from pgboard.protocol_history import History
from pgboard.protocol_presence import Leave, View

if TYPE_CHECKING:
    from pgboard_server.session import Session

log = logging.getLogger("pgboard_server.session")

LEFT = "left"  # the close reason of a member that said `leave` (its UserLeft's reason)

# what a client sends (and ping, pong, error)
CLIENT_MESSAGES = (Join, Say, Cursor, View, Leave, MailAck, Rooms, History, *OPERATIONS, *ACCOUNT_MESSAGES)


def dispatch(self: Session, msg: Message, to_flush: dict[Session, None]) -> None:
    """Act on a message that is not a drawing operation (those go to the room in rounds)."""
    room = self.room  # read once: a kick or a close on another thread may detach it meanwhile
    if isinstance(msg, Ping):
        self.send(Pong(msg.n))
    elif isinstance(msg, Pong):
        pass  # any input counts as a sign of life
    elif isinstance(msg, Error):
        log.info("%r reports an error: %s %s", self, msg.code, msg.detail)
    elif not isinstance(msg, CLIENT_MESSAGES):
        self.send(Error("unexpected_type", f"a client does not send {msg.TYPE!r}"))
    elif isinstance(msg, Join):
        retry = 0.0 if room is not None else self.throttle.admit("join")
        if room is not None:
            self.send(Error("already_joined", f"you are already in room {room.name!r}"))
        elif retry:  # each costs store reads (and maybe a slow hash): paced, per connection and address
            self._refuse("join", f"more than {self.limits.join_rate:g} joins a second", retry)
        else:
            self.server.rooms.join(self, msg)
            self.server.friends.joined(self)  # the friend list; friends hear where this account is
            self.server.accounts.deliver_mail(self)  # after the catch-up, in order
    elif isinstance(msg, (*ACCOUNT_MESSAGES, Rooms)):
        retry = self.throttle.admit("chat")  # a slow hash, or a look at every room: paced like chat
        if retry:
            self._refuse("chat", f"more than {self.limits.chat_rate:g} requests a second", retry)
        elif isinstance(msg, Rooms):
            self.send(self.server.rooms.listing(self.limits))
        else:
            self.server.accounts.handle(self, msg)
    elif room is None:
        self.send(Error("not_joined", f"join a room before sending {msg.TYPE!r}"))
    elif isinstance(msg, Leave):
        self.close(LEFT)  # the client closes next; its reason is "left", not the end of file's "quit"
    elif isinstance(msg, MailAck):
        retry = self.throttle.admit("chat")  # one delete each: paced like chat lines
        if retry:
            self._refuse("chat", f"more than {self.limits.chat_rate:g} mail_ack a second", retry)
        else:
            self.server.accounts.ack_mail(self, msg)
    elif isinstance(msg, History):
        history.serve(self, room, msg)  # server/history.py: paced and read like a catch-up
    elif isinstance(msg, (Cursor, View)):
        if not self.throttle.admit("cursor"):  # cursors are ephemeral: too many are dropped quietly
            to_flush.update(dict.fromkeys(room.cursor(self, msg)))
    elif isinstance(msg, Say):
        retry = self.throttle.admit("chat")
        if retry:
            self._refuse("chat", f"more than {self.limits.chat_rate:g} chat lines a second", retry)
        else:
            self.server.chat.say(self, msg.text)


def op_cost(op: Message) -> float:
    """What a drawing operation costs of the op rate's tokens: one, and one more per OBJECTS_PER_OP
    objects it lists (a batch, a clear: every client in the room repaints each of them)."""
    listed = len(getattr(op, "removed", ())) + len(getattr(op, "put", ()))
    return 1.0 + listed / OBJECTS_PER_OP


def refuse(self: Session, kind: str, detail: str, retry: float, oid: str = "") -> None:
    """Answer input over a rate limit with "rate_limited"; too many refusals drop the connection."""
    self.server.metrics.refused(kind)
    if self.throttle.refused():
        log.warning(
            "%r: %d refusals in %g s, dropping",
            self,
            self.limits.abuse_refusals,
            self.limits.abuse_window,
        )
        self.close(
            "flooding",
            Error(
                "flooding",
                "you kept sending faster than the server allows and were disconnected",
                fatal=True,
            ),
        )
        return
    log.debug("%r: rate limited (%s), retry in %g s", self, kind, retry)
    self.send(Error("rate_limited", f"{detail}; retry in {retry:g} s", oid=oid, retry=retry))


def heartbeat(self: Session, now: float) -> None:
    """Close a stranger past JOIN_TIMEOUT or a silent peer past TIMEOUT; ping one silent a while."""
    if self._closing:
        return
    if self.room is None and now - self.connected_at > self.limits.join_timeout:
        # a stranger's input never keeps it: white space or half a frame is not a join
        log.info("%r: not in a room after %.0f s, closing", self, now - self.connected_at)
        detail = f"join a room within {self.limits.join_timeout:g} s of connecting"
        self.close("join timeout", Error("join_timeout", detail, fatal=True))
        return
    # a client busy reading a long catch-up cannot answer the ping queued behind it: while the
    # catch-up moves, it counts as alive
    silent = now - max(self.last_heard, self.last_progress)
    if silent > self.limits.timeout:
        self.close("timed out", Error("timeout", f"nothing heard for {silent:.0f} s", fatal=True))
    elif silent >= self.limits.ping_interval and now - self.last_ping >= self.limits.ping_interval:
        self.last_ping = now
        self.pings += 1
        self.send(Ping(self.pings))


def pause_input(self: Session, seconds: float) -> None:
    """Stop reading for ``seconds``, or until the connection closes. The event is made for the first
    pause only (an Event is about 1 KiB, of every idle connection's memory otherwise)."""
    with self._state:  # close() sets _closing under it, then sets the event if there is one
        if self._closing:
            return
        if self.stop_reading is None:
            self.stop_reading = threading.Event()
        stop = self.stop_reading
    stop.wait(seconds)
