"""The client session's answers to what the server sends: :func:`handle` is called by
``ClientSession.receive_data`` for every message decoded (pgboard/client_session.py is the other half,
the state machine, the ledger and the user's side). Pure like it: no socket, clock or pygame.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pgboard.protocol import (
    OPERATIONS,
    PROTOCOL_VERSION,
    AccountError,
    AccountOk,
    Ack,
    CatchUp,
    CaughtUp,
    Error,
    Hello,
    Join,
    JoinError,
    Message,
    Obj,
    Ping,
    Pong,
    Renamed,
    Say,
    Welcome,
    encode,
)
from pgboard.protocol_cluster import Peers, Redirect
from pgboard.protocol_snapshot import Snapshot
from pgboard.session_social import SOCIAL_MESSAGES
from pgboard.session_types import (
    BACKOFF_INITIAL,
    COME_BACK_ERRORS,
    DEFAULT_RETRY,
    NO_RETRY_ERRORS,
    Confirmed,
    Credentials,
    Operation,
    Received,
    Refused,
    State,
)

if TYPE_CHECKING:
    from pgboard.client_session import ClientSession

logger = logging.getLogger("pgboard.client_session")  # one logger for the session's two halves

_OPERATION_TYPES = frozenset(OPERATIONS)


def handle(s: ClientSession, msg: Message, now: float) -> None:
    kind = type(msg)  # the floods first, by exact type (a catch-up is 100,000s of obj)
    if kind is Obj or kind is Snapshot:  # a snapshot frame holds many objects (protocol_snapshot)
        s.catch_ups.count(len(msg.objects) if kind is Snapshot else 1)  # type: ignore[attr-defined]
        s.events.append(Received(msg))
    elif kind in _OPERATION_TYPES:
        _on_echo(s, msg)  # type: ignore[arg-type]
    elif isinstance(msg, Hello):
        if msg.version != PROTOCOL_VERSION:
            logger.warning(
                "server %r speaks protocol %d, we speak %d", msg.server, msg.version, PROTOCOL_VERSION
            )
        if s.credentials is not None:  # every connection logs in again, then joins
            s._out += encode(s.credentials.message(s.nick))
        else:
            s._send_join()
    elif isinstance(msg, Welcome):
        s.user_id, s.nick, s.room = msg.user, msg.nick, msg.room
        s.routes.welcomed()
        if s.state is not State.CATCHING_UP:
            s._to(State.CATCHING_UP)
        s.catch_ups.welcomed()
        _social(s, msg)  # who I am and who is here: UsersChanged
    elif isinstance(msg, CatchUp):
        s.catch_ups.header(msg)
    elif isinstance(msg, CaughtUp):
        _on_caught_up(s, msg, now)
    elif isinstance(msg, Ack):
        entry = s._confirmed(msg.oid)
        if entry is not None and entry.drawn:
            s.events.append(Confirmed(msg, entry.op))
    elif isinstance(msg, Error):
        _on_error(s, msg, now)
    elif isinstance(msg, Ping):
        s._out += encode(Pong(msg.n))
    elif isinstance(msg, Pong):
        sent = s._pings.pop(msg.n, None)
        if sent is not None:  # a late answer still measures its own round trip
            s.latency = now - sent
            for n in [n for n in s._pings if n < msg.n]:
                del s._pings[n]
    elif isinstance(msg, AccountOk):
        _on_account(s, msg)
    elif isinstance(msg, AccountError):
        _on_account_error(s, msg, now)
    elif isinstance(msg, JoinError):
        logger.info("join refused: %s %s", msg.reason, msg.detail)
        s.events.append(Received(msg))
        if s.state in (State.LOGGING_IN, State.JOINING):
            s.join_error = msg
            s.last_error = msg.detail or msg.reason
            s._down(State.REFUSED, s.last_error)
    elif isinstance(msg, (Redirect, Peers)):
        s.routes.handle(s, msg, now)
    elif isinstance(msg, (Join, Say)):
        logger.warning("the server sent a client's message, ignored: %r", msg)
    elif kind in SOCIAL_MESSAGES:
        if isinstance(msg, Renamed) and msg.user == s.user_id:
            s.nick = msg.nick  # a /nick command: rejoin under the new name after a drop
        _social(s, msg)
    else:
        s.events.append(Received(msg))

def _social(s: ClientSession, msg: Message) -> None:
    event = s.social.handle(msg)
    if event is not None:  # None: a replayed chat line already shown
        s.events.append(event)

def _on_caught_up(s: ClientSession, msg: CaughtUp, now: float) -> None:
    s.last_seq = max(s.last_seq, msg.seq)
    if s.state is State.CATCHING_UP:
        s._to(State.ONLINE)
        s._online_since = now
    s.catch_ups.caught_up(msg, s.ledger.drawn())
    # What the catch-up did not echo goes again, in order (the server acks what it already has),
    # then the chat typed while offline.
    s.ledger.send_all_again()
    s._send_unsent()
    while s._chat:
        s._out += s._chat.popleft()

def _on_echo(s: ClientSession, msg: Operation) -> None:
    if msg.seq:
        s.last_seq = max(s.last_seq, msg.seq)
    s.catch_ups.count()
    entry = s._confirmed(msg.oid) if msg.author and msg.author == s.user_id else None
    if entry is not None and entry.drawn:
        s.events.append(Confirmed(msg, entry.op))
    else:
        s.events.append(Received(msg))

def _on_error(s: ClientSession, msg: Error, now: float) -> None:
    if msg.code == "rate_limited" and msg.oid in s.ledger:
        # not the view's business: nothing is lost, nothing to take back
        s.ledger.put_back(msg.oid)
        if s.state is State.ONLINE:
            delay = msg.retry or DEFAULT_RETRY
            logger.info("the server slows us down: sending again in %.3g s", delay)
            s._to(State.HELD, "rate limited")
            s._want("hold", delay)
        return
    if msg.code == "rate_limited" and not msg.oid and s.state in (State.JOINING, State.LOGGING_IN):
        # joins (and logins) are paced per address (JOIN_RATE): ask again when the server says
        s._want("rejoin", msg.retry or DEFAULT_RETRY)
        return
    if msg.code in COME_BACK_ERRORS and msg.retry:  # the close that follows retries then
        s.routes.come_back = msg.retry
    entry = None
    if msg.oid and msg.oid in s.ledger:
        logger.info("the server refused operation %s: %s %s", msg.oid, msg.code, msg.detail)
        entry = s._confirmed(msg.oid)
    s.events.append(Refused(msg, entry))
    if msg.fatal:
        reason = f"{msg.code}: {msg.detail}" if msg.detail else msg.code
        s.connection_lost(reason, now, retry=msg.code not in NO_RETRY_ERRORS)

def _on_account(s: ClientSession, msg: AccountOk) -> None:
    s.account = msg
    s.nick = msg.nick
    creds = s.credentials
    if creds is not None and creds.action != "login":  # signed up, or changed: log in from now on
        s.credentials = Credentials("login", creds.new if creds.action == "passwd" else creds.password)
    s.events.append(Received(msg))
    if s.state is State.LOGGING_IN:
        s._to(State.JOINING)
        s._send_join()

def _on_account_error(s: ClientSession, msg: AccountError, now: float) -> None:
    s.events.append(Received(msg))
    if s.state is not State.LOGGING_IN:
        return  # a passwd sent from inside a room: nothing else changes
    logger.info("%s refused: %s %s", msg.action, msg.reason, msg.detail)
    if msg.reason == "too_many_attempts" and s.account is not None:
        # we logged in before with this password: someone else is failing from our address
        s.connection_lost(msg.detail or msg.reason, now, delay=max(msg.retry, BACKOFF_INITIAL))
        return
    s.account_error = msg
    s.last_error = msg.detail or msg.reason
    s._down(State.REFUSED, s.last_error)
