"""Friends, as the classic instant messengers had them: a list per account, kept in the store, and
where each friend is across the whole server.

- ``/friend NICK`` adds the account NICK to yours (at most ``max_friends``), ``/unfriend NICK`` takes it
  off, ``/friends`` answers with the list (a ``friends`` message, pgboard/protocol_friends.py). Only
  logged-in accounts keep friends: a guest gets ``error not_logged_in``, a server without accounts
  ``error no_accounts``; a name that is no account is ``no_such_user`` (paced like every answer that
  tells whether a name is registered, ``name_lookup_rate``).
- A friend's online state and room are told only when the friendship is **mutual** (they added you
  too): nobody can follow someone around the server by adding them alone. The one added hears of it
  once (a notice, at most once per adder per server run) with the command that returns the favour.
- After each logged-in join the account gets its list (``friends``, ``asked`` false), and its mutual
  friends' connections get a ``friend`` update when it comes online, changes room or goes offline. An
  account that is gone is announced offline only after ``friend_offline_grace`` seconds (the heartbeat
  looks, on the server's injectable clock): the client's ``/join`` is a new connection and a dropped
  link comes back, so its friends hear "moved to ROOM" instead of offline then online. A room the
  server hides from listings (``--hidden-rooms``) is not named: online, room "".
- A private line (``/msg``) to someone on your list is not paced as a name lookup: you know they are
  an account. It reaches them live in any room, or their mailbox while they are offline
  (server/accounts.py ``send_private``).

Locks: ``Friends._lock`` comes right after a room's lock (room -> friends -> rooms -> accounts ->
... -> store): a kick closes a session under its room's lock, and the close tells us. Under it we
read the store and who is logged in; messages are queued in order under it and sent after it is
released (``_flush``: one thread at a time sends, in queue order; the sender lock is only ever tried,
never waited for), because a send can close a slow connection, which leaves its room.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pgboard_server import lockorder

from pgboard import names
from pgboard.protocol import Error, Message, Notice
from pgboard.protocol_friends import MAX_FRIENDS_LISTED, FriendInfo, Friends, FriendUpdate

if TYPE_CHECKING:
    from pgboard_server.accounts import Account, Accounts
    from pgboard_server.chat import ChatCommands
    from pgboard_server.limits import Limits
    from pgboard_server.room import Room
    from pgboard_server.session import Session
    from pgboard_server.store import Store

log = logging.getLogger(__name__)


class Presence(Protocol):
    """Where else an account's joins are told (cluster mode: server/cluster/directory.py)."""

    def joined(self, folded: str, room: str) -> None: ...

    def left(self, folded: str) -> None: ...

    def elsewhere(self, folded: str) -> str | None:
        """The room the account is in on another process, None when on none (or not known)."""
        ...

    def tell(self, folded: str, msg: Message) -> None:
        """Send ``msg`` to the account's connections on other processes (none: dropped)."""
        ...


TOLD_KEPT = 10_000  # (adder, added) pairs remembered so the added hears of it once; past it, forgotten
USAGE = "/friend NICK adds, /unfriend NICK removes, /friends lists"


Handler = Callable[["ChatCommands", "Session", "Room", str], None]

HELP = (
    ("/friend NICK, /unfriend NICK", "keep (or drop) an account on your friend list (log in first)"),
    ("/friends", "your friends, and where those who added you too are now"),
)


class FriendList:
    """Every account's friends (stored) and where the logged-in ones are (in memory)."""

    def __init__(self, store: Store, limits: Limits, accounts: Accounts, clock: Callable[[], float]) -> None:
        self.store = store
        self.accounts = accounts
        self.max_friends = limits.max_friends
        self.grace = limits.friend_offline_grace
        self.hidden = {names.fold(r) for r in limits.hidden_rooms}
        self.clock = clock
        self._lock = lockorder.lock("friends")
        self._present: dict[str, dict[Session, str]] = {}  # account -> its joined connections' rooms
        self._sessions: dict[Session, str] = {}  # joined connection -> its account (folded)
        self._nicks: dict[str, str] = {}  # account -> its nickname, while present or announced
        self._shown: dict[str, tuple[bool, str]] = {}  # account -> (online, room) its friends were told
        self._leaving: dict[str, float] = {}  # account gone from every room -> when to say offline
        self._told: set[tuple[str, str]] = set()  # (adder, added): the added heard of it
        self._outbox: deque[tuple[Session, Message]] = deque()  # queued under _lock, in order
        self._remote: deque[tuple[str, Message]] = deque()  # cluster mode: for accounts on other processes
        self._sending = threading.Lock()  # only ever tried (blocking=False): see _flush
        self.presence: Presence | None = None  # cluster mode: who is online, told to the other processes

    # -- the store (called under _lock)

    def _friends_of(self, folded: str) -> list[str]:
        return self.store.friends_of(folded)

    def _mutual(self, folded: str) -> list[str]:
        """The accounts ``folded`` has as friends that have it as a friend too."""
        return self.store.mutual_friends(folded)

    def _has(self, owner: str, friend: str) -> bool:
        return self.store.has_friend(owner, friend)

    def _nick(self, folded: str) -> str:
        nick = self._nicks.get(folded)
        if nick is None:
            row = self.store.account(folded)
            nick = row[0] if row is not None else folded
        return nick

    # -- presence

    def _state(self, folded: str) -> tuple[bool, str]:
        """(online, room) of an account now: the room its latest connection joined."""
        where = self._present.get(folded)
        if where:
            room = list(where.values())[-1]
        elif self.presence is not None and (found := self.presence.elsewhere(folded)) is not None:
            room = found  # cluster mode: joined on another process
        else:
            return False, ""
        return True, "" if names.fold(room) in self.hidden else room

    def _info(self, folded: str, mutual: bool) -> FriendInfo:
        online, room = self._state(folded) if mutual else (False, "")
        return FriendInfo(self._nick(folded), mutual, online, room)

    def _announce(self, folded: str) -> None:
        """Under _lock: tell the connections of ``folded``'s mutual friends where it is, if that
        changed since they were last told."""
        state = self._state(folded)
        if self._shown.get(folded, (False, "")) == state:
            return
        try:  # never raises: a close (Session.close) calls this
            update = FriendUpdate(self._nick(folded), True, *state)
            mutual = self._mutual(folded)
        except sqlite3.Error as exc:
            self.store.health.failed(f"the friends of {folded!r}", exc)
            return
        if state[0]:
            self._shown[folded] = state
        else:
            self._shown.pop(folded, None)
            self._nicks.pop(folded, None)
        for friend in mutual:
            here = self._present.get(friend)
            for s in here or ():
                self._outbox.append((s, update))
            if not here and self.presence is not None:  # maybe joined on another process: told there
                self._remote.append((friend, update))

    def _listing(self, folded: str, *, asked: bool) -> Friends:
        friends = self._friends_of(folded)
        mutual = set(self._mutual(folded))
        listed = [self._info(f, f in mutual) for f in friends]
        listed.sort(key=lambda f: names.fold(f.nick))
        return Friends(tuple(listed[:MAX_FRIENDS_LISTED]), asked)  # more rows only if the store was edited

    def joined(self, session: Session) -> None:
        """After a join: a logged-in connection gets its list; its friends hear where it is."""
        account = self.accounts.account_of(session) if self.accounts.enabled else None
        if account is None:
            return
        with self._lock:
            room = session.room
            if session.closing or room is None:
                return  # closed meanwhile: left() came first, or will find nothing
            self._sessions[session] = account.folded
            self._present.setdefault(account.folded, {})[session] = room.name
            self._nicks[account.folded] = account.nick
            self._leaving.pop(account.folded, None)
            try:
                self._outbox.append((session, self._listing(account.folded, asked=False)))
                self._announce(account.folded)
            except sqlite3.Error as exc:
                self.store.health.failed(f"the friends of {account.nick!r}", exc)
        self._flush()
        if self.presence is not None:
            self.presence.joined(account.folded, room.name)

    def left(self, session: Session) -> None:
        """A connection closed (left its room): its account's friends hear, after the grace if it was
        its last."""
        with self._lock:
            folded = self._sessions.pop(session, None)
            if folded is None:
                return
            where = self._present.get(folded, {})
            where.pop(session, None)
            if where:
                self._announce(folded)  # still online: maybe in another room now
            else:
                self._present.pop(folded, None)
                if self.grace > 0:
                    self._leaving[folded] = self.clock() + self.grace
                else:
                    self._announce(folded)
        self._flush()
        if self.presence is not None:
            self.presence.left(folded)

    def tick(self, now: float) -> None:
        """The heartbeat: accounts gone longer than the grace are announced offline."""
        with self._lock:
            due = [f for f, t in self._leaving.items() if t <= now]
            for folded in due:
                del self._leaving[folded]
                if folded not in self._present:
                    self._announce(folded)
        if due:
            self._flush()

    def _flush(self) -> None:
        """Send what was queued, in order, from one thread at a time. A thread that finds another
        sending leaves its messages to it: the sender looks again after it lets go."""
        while self._outbox or self._remote:
            if not self._sending.acquire(blocking=False):
                return
            try:
                while self._outbox:
                    session, msg = self._outbox.popleft()
                    session.send(msg)
                while self._remote and self.presence is not None:  # Redis calls: outside _lock
                    folded, msg = self._remote.popleft()
                    self.presence.tell(folded, msg)
            finally:
                self._sending.release()

    def has(self, session: Session, nick: str) -> bool:
        """Whether ``nick`` is on the list of ``session``'s account."""
        account = self.accounts.account_of(session) if self.accounts.enabled else None
        if account is None:
            return False
        try:
            with self._lock:
                return self._has(account.folded, names.fold(nick.strip()))
        except sqlite3.Error:
            return False

    # -- the commands

    def _account(self, session: Session) -> Account | None:
        if not self.accounts.enabled:
            session.send(Error("no_accounts", "this server has no accounts, so nobody keeps friends here"))
            return None
        account = self.accounts.account_of(session)
        if account is None:
            detail = "friends are kept for accounts: log in (or sign up) on the connect screen first"
            session.send(Error("not_logged_in", detail))
        return account

    def add(self, session: Session, nick: str) -> None:
        account = self._account(session)
        if account is None:
            return
        if not nick:
            session.send(Error("bad_command", f"usage: {USAGE}"))
            return
        wait = self.accounts.paced(session)  # the answer tells whether a name is registered
        if wait:
            detail = f"too many names looked up from your address; try again in {wait} s"
            session.send(Error("rate_limited", detail, retry=wait))
            return
        other = self.accounts.registered(nick)
        if other is None:
            detail = f"{nick[:40]!r} is not a registered name: only accounts can be friends"
            session.send(Error("no_such_user", detail))
            return
        if other.folded == account.folded:
            session.send(Error("bad_command", "you are always your own friend"))
            return
        with self._lock:
            try:
                self._add(session, account, other)
            except sqlite3.Error as exc:
                self.store.health.failed(f"the friends of {account.nick!r}", exc)
                session.send(Error("store_failed", "the server could not save your friend list; try again"))
        self._flush()

    def _add(self, session: Session, account: Account, other: Account) -> None:
        me, them = account.folded, other.folded
        out = self._outbox
        if self._has(me, them):
            out.append((session, Notice(f"{other.nick} is already your friend")))
            return
        if len(self._friends_of(me)) >= self.max_friends:
            detail = f"a friend list holds at most {self.max_friends} friends; /unfriend someone first"
            out.append((session, Error("too_many_friends", detail)))
            return
        self.store.add_friend(me, them)
        mutual = self._has(them, me)
        info = self._info(them, mutual)
        for s in self._present.get(me, ()):
            out.append((s, FriendUpdate(info.nick, info.mutual, info.online, info.room)))
        if mutual:
            text = f"{other.nick} is now your friend, and you are theirs: each of you sees where the other is"
            online, room = self._state(me)
            told = FriendUpdate(account.nick, True, online, room)
            for s in self._present.get(them, ()):
                out.append((s, told))
            if not self._present.get(them) and self.presence is not None:
                self._remote.append((them, told))
        else:
            text = (
                f"{other.nick} is now your friend; you see where they are (and they you) once they "
                f"add you too"
            )
            if (me, them) not in self._told:
                if len(self._told) >= TOLD_KEPT:
                    self._told.clear()
                self._told.add((me, them))
                hint = Notice(
                    f"{account.nick} added you as a friend; /friend {account.nick} to see each other"
                )
                for s in self._present.get(them, ()):
                    out.append((s, hint))
        out.append((session, Notice(text)))
        log.info("%s added %s as a friend (mutual: %s)", account.nick, other.nick, mutual)

    def remove(self, session: Session, nick: str) -> None:
        account = self._account(session)
        if account is None:
            return
        if not nick:
            session.send(Error("bad_command", f"usage: {USAGE}"))
            return
        me, them = account.folded, names.fold(nick)
        with self._lock:
            try:
                gone = self.store.remove_friend(me, them)
                if not gone:
                    self._outbox.append((session, Error("no_such_user", f"{nick[:40]!r} is not your friend")))
                else:
                    shown = self._nick(them)
                    for s in self._present.get(me, ()):
                        self._outbox.append((s, FriendUpdate(shown, gone=True)))
                    if self._has(them, me):  # they keep you, and no longer see where you are
                        for s in self._present.get(them, ()):
                            self._outbox.append((s, FriendUpdate(account.nick, False)))
            except sqlite3.Error as exc:
                self.store.health.failed(f"the friends of {account.nick!r}", exc)
                session.send(Error("store_failed", "the server could not save your friend list; try again"))
        self._flush()

    def listing(self, session: Session) -> None:
        account = self._account(session)
        if account is None:
            return
        with self._lock:
            try:
                self._outbox.append((session, self._listing(account.folded, asked=True)))
            except sqlite3.Error as exc:
                self.store.health.failed(f"the friends of {account.nick!r}", exc)
                session.send(Error("store_failed", "the server could not read your friend list; try again"))
        self._flush()


def _friend(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    session.server.friends.add(session, rest.strip())


def _unfriend(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    session.server.friends.remove(session, rest.strip())


def _friends(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    session.server.friends.listing(session)


COMMANDS: dict[str, Handler] = {"friend": _friend, "unfriend": _unfriend, "friends": _friends}
