"""The server's rooms: created on first join (or loaded from the store), capped per server and per
creating address, forgotten when empty and worth nothing, put away when idle to make room; and
joining one (names, account, password, bans, the catch-up), under the room's lock.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from typing import TYPE_CHECKING

from pgboard_server import confusables, game_room, lockorder, presenting
from pgboard_server.budget import RoomBudget
from pgboard_server.limits import MAX_ROOMS, MAX_ROOMS_PER_ADDRESS
from pgboard_server.rights import address_of
from pgboard_server.room import Room, author_id
from pgboard_server.store_damage import DamagedRooms, RoomDamaged, damage_of, describe

from pgboard import ids, names
from pgboard.board import MAX_OBJECTS
from pgboard.protocol import (
    Error,
    Join,
    JoinError,
    Notice,
    RoomInfo,
    UserJoined,
    Welcome,
)
from pgboard.protocol import Rooms as RoomList

if TYPE_CHECKING:
    from pgboard_server.accounts import Accounts
    from pgboard_server.cluster.node import Cluster
    from pgboard_server.limits import Limits
    from pgboard_server.room_passwords import RoomPasswords
    from pgboard_server.session import Session
    from pgboard_server.store import Store


log = logging.getLogger(__name__)

JOIN_ATTEMPTS = 3  # a room put away while its joiner waited for its lock is held again, this often


class Rooms:
    """The rooms a server holds in memory: at most ``max_rooms``, of which at most
    ``max_rooms_per_address`` created from one address (a join that would create another gets
    join_error too_many_rooms / too_many_rooms_from_address).

    A room is held from its first join (or from the start, loaded from the store). When its last member
    leaves, a room with nothing worth keeping (Room.worth_keeping) is forgotten, store rows included;
    one with content stays, and is put away (dropped from memory: its log is in the store) when a new
    room needs its place, least recently joined first, and loaded again when someone joins it. So a
    flood of rooms costs memory for ``max_rooms`` rooms at most, and disk for what was said in them.
    Lock order: a room's lock, then this one (put away only with the room's lock taken without waiting).
    """

    def __init__(
        self,
        store: Store,
        max_members: int,
        chat_history: int,
        catchup_chunk: int,
        *,
        max_rooms: int = MAX_ROOMS,
        max_objects: int = MAX_OBJECTS,
        budget: RoomBudget | None = None,
        max_rooms_per_address: int = MAX_ROOMS_PER_ADDRESS,
        accounts: Accounts,
        passwords: RoomPasswords,
    ) -> None:
        self.store = store
        self.accounts = accounts  # who is logged in as whom: a join takes the account's name and id
        self.passwords = passwords  # rooms' passwords, checked at join
        self.budget = budget
        self.max_members = max_members
        self.max_rooms = max_rooms
        self.max_rooms_per_address = max_rooms_per_address
        self.max_objects = max_objects
        self.chat_history = chat_history
        self.catchup_chunk = catchup_chunk
        self._lock = lockorder.lock("rooms")
        self._rooms: dict[str, Room] = {}  # by folded name, least recently joined first
        self._created: Counter[str] = Counter()  # rooms held, by the address that created them
        self.damaged = DamagedRooms(store.path)  # rooms whose rows cannot be read: never held
        self.cluster: Cluster | None = None  # cluster mode: who owns which room (server/cluster/node.py)

    def get(self, name: str) -> Room:
        """The room called ``name``, loaded (created if new; never refused: the server's own use)."""
        room = self._hold(name, "", capped=False)
        assert isinstance(room, Room)
        with room.lock:
            room.ensure_loaded()
        return room

    def all(self) -> list[Room]:
        with self._lock:
            return list(self._rooms.values())

    def listing(self, limits: Limits) -> RoomList:
        """The answer to a `rooms` request: the held rooms someone is in (in a cluster, those the other
        processes own too: server/cluster/directory.py), busiest first, at most
        ``limits.rooms_listed``, none of ``limits.hidden_rooms``; whether each takes a password."""
        hidden = {names.fold(name) for name in limits.hidden_rooms}
        with self._lock:  # len() of a members dict is one read: no room's lock is needed for a count
            held = [(len(r.members), r.name) for k, r in self._rooms.items() if k not in hidden]
        open_ = [(count, name) for count, name in held if count]
        remote: dict[str, bool] = {}  # cluster mode: rooms other processes own -> has a password
        if self.cluster is not None:
            here = {names.fold(name) for _, name in held}
            for count, name, pw in self.cluster.remote_rooms():
                key = names.fold(name)
                if key not in hidden and key not in here and key not in remote:  # a room moving: once
                    remote[key] = pw
                    open_.append((count, name))
        open_.sort(key=lambda item: (-item[0], names.fold(item[1])))
        shown = open_[: limits.rooms_listed]
        try:
            locked = [
                remote[k] if (k := names.fold(n)) in remote else self.store.room_password(k) is not None
                for _, n in shown
            ]
            listed = tuple(RoomInfo(n, u, pw) for (u, n), pw in zip(shown, locked, strict=True))
        except sqlite3.Error as exc:  # the password rows cannot be read: list none rather than lie
            self.store.health.failed("listing the rooms", exc)
            listed = ()
        return RoomList(listed, len(open_) - len(listed))

    def created_from(self, address: str) -> int:
        """Rooms held now that ``address`` created."""
        with self._lock:
            return self._created[address]

    def replay_all(self) -> int:
        """Load the rooms of the store, ``max_rooms`` at most (the others load when joined)."""
        total = 0
        for name in self.store.rooms()[: self.max_rooms]:
            try:
                room = self._hold(name, "", capped=False)
                assert isinstance(room, Room)
                with room.lock:
                    n = room.ensure_loaded()
            except (sqlite3.Error, RoomDamaged) as exc:  # said once; the other rooms load and serve
                self._unloadable(name, exc)
                continue
            log.info("room %r: replayed %d operations (board at seq %d)", name, n, room.board.seq)
            total += n
        return total

    def _hold(self, name: str, address: str, *, capped: bool) -> Room | JoinError:
        """The room called ``name`` (not loaded yet if it was not held), most recently joined now; or
        why a join may not create it."""
        key = names.fold(name)
        with self._lock:
            room = self._rooms.pop(key, None)
            if room is not None:
                self._rooms[key] = room
                return room
            room = Room(
                name, self.store, self.chat_history, self.catchup_chunk, self.max_objects, self.budget
            )
            fresh = not room.rights.exists
            cap = self.max_rooms_per_address
            if capped and fresh and cap and self._created[address] >= cap:
                detail = f"at most {cap} rooms created from one address are open at once; join one"
                return JoinError("too_many_rooms_from_address", detail)
            if capped and len(self._rooms) >= self.max_rooms and not self._put_away_one():
                return JoinError("too_many_rooms", f"this server holds at most {self.max_rooms} rooms")
            creator = room.rights.known.get(room.rights.creator, ("", ""))[1]
            room.created_from = address if fresh else creator
            room.on_empty = self._emptied
            self._rooms[key] = room
            if room.created_from:
                self._created[room.created_from] += 1
            return room

    def _unloadable(self, name: str, exc: sqlite3.Error | RoomDamaged) -> JoinError | Error:
        """Room ``name`` could not be loaded (under its lock, if held): it is not held, half loaded; a
        damaged one is said once and refused from now on (join_error damaged), another failure to
        read is said and the next join tries again (error store_failed)."""
        with self._lock:
            key = names.fold(name)
            room = self._rooms.get(key)
            if room is not None and not room.members:
                self._drop(key, room)
        damage = damage_of(name, exc)
        if damage is not None:
            self.damaged.report(damage)
            refusal = self.damaged.refusal(name)
            assert refusal is not None
            return refusal
        assert isinstance(exc, sqlite3.Error)
        log.error("room %r could not be loaded: %s", name, describe(self.store.path, exc))
        return Error("store_failed", "the server could not read this room; try again")

    def _put_away_one(self) -> bool:
        """Under self._lock: drop the least recently joined room nobody is in (nor joining: its lock
        is free) from memory. False if every room is in use."""
        for key, room in self._rooms.items():
            if room.members or not room.lock.acquire(blocking=False):
                continue
            try:
                if room.members:
                    continue
                self._drop(key, room)
            finally:
                room.lock.release()
            log.info("room %r: put away, nobody in it (%d rooms held)", room.name, len(self._rooms))
            return True
        return False

    def _drop(self, key: str, room: Room) -> None:
        del self._rooms[key]
        room.gone = True
        if room.created_from:
            self._created[room.created_from] -= 1
            if not self._created[room.created_from]:
                del self._created[room.created_from]

    def evict(self, name: str, detail: str, *, drop_queue: bool = False) -> None:
        """Cluster mode: this process does not own room ``name`` (any more). Its members are closed
        with error ``moved`` (not fatal: they reconnect) and it is dropped from memory; with
        ``drop_queue``, what was queued for them is not sent (answers to operations they will resend)."""
        key = names.fold(name)
        with self._lock:
            room = self._rooms.get(key)
        if room is None:
            return
        with room.lock:
            room.gone = True  # it moves: its last member leaving must not forget it (_emptied)
            for member in list(room.members.values()):
                member.close("room moved", Error("moved", detail, retry=1.0), drop_queue=drop_queue)
            with self._lock:
                if self._rooms.get(key) is room:
                    self._drop(key, room)

    def _emptied(self, room: Room) -> None:
        """Under the room's lock, nobody in it: forget it if nothing in it is worth keeping."""
        if room.gone or room.members or room.entering or not room.loaded or room.worth_keeping():
            return  # (a room not loaded yet is kept: what it holds is not known; it may be put away)
        try:
            self.store.forget_room(room.rights.key)
        except sqlite3.Error as exc:
            self.store.health.failed(f"forgetting the empty room {room.name!r}", exc)
            return  # held as it is: it still counts
        with self._lock:
            key = names.fold(room.name)
            if self._rooms.get(key) is room:
                self._drop(key, room)
            room.gone = True
        log.info("room %r: forgotten, empty with nothing to keep", room.name)

    def join(self, session: Session, msg: Join) -> None:
        try:
            room_name = names.check_room(msg.room)
            nick = names.check_nick(msg.nick)
        except names.NameError_ as exc:
            session.send(JoinError(exc.reason, exc.detail))
            return
        accounts, passwords = self.accounts, self.passwords
        account = accounts.account_of(session)
        if account is not None:  # logged in: the account's name and id, on every machine
            nick, user = account.nick, account.user
        else:
            user = author_id(msg.client)
        address = address_of(session.peer)
        refused = self.damaged.refusal(room_name)
        if refused is not None:
            session.send(refused)
            return
        for _ in range(JOIN_ATTEMPTS):
            if self.cluster is not None and not self.cluster.claim(session, room_name):
                return  # redirected to the room's owner, or told to come back
            try:
                room = self._hold(room_name, address, capped=True)
            except sqlite3.Error as exc:  # its rights cannot be read
                session.send(self._unloadable(room_name, exc))
                return
            if isinstance(room, JoinError):
                session.send(room)
                return
            with room.lock:  # a nickname in use is refused before any slow password check
                taken = room.taken_nicks(except_user=user)
                known = room.rights.known.get(user, ("", ""))[0]
                refused = _name_refusal(room, nick, user, taken)
            if refused is None and account is None:  # a registered name, or a look-alike (paced)
                refused = accounts.name_refusal(session, nick, known=names.fold(known) == names.fold(nick))
            if refused is not None:
                session.send(refused)
                return
            refused = passwords.check(room, msg.password, session.peer)  # slow hashes: outside the lock
            if refused is not None:
                session.send(refused)
                return
            new_password = passwords.prepare(room, msg.password)
            with room.lock:
                if room.gone:  # put away or forgotten while we waited: hold it again
                    continue
                if self.cluster is not None and not self.cluster.owns(room_name):
                    continue  # forgotten (its lease with it) since the claim: claimed again
                try:
                    room.ensure_loaded()
                except (sqlite3.Error, RoomDamaged) as exc:
                    session.send(self._unloadable(room_name, exc))
                    return
                room.entering = True  # a ghost replaced by this join leaves an empty room behind
                try:
                    self._enter(session, msg, room, nick, user, address, new_password)
                finally:
                    room.entering = False
                    if not room.members:  # a refused join leaves nothing behind
                        self._emptied(room)
            if self.cluster is not None and session.room is room:  # listed on every process now
                self.cluster.directory.listed(room)
            return
        session.send(JoinError("too_many_rooms", "the server is busy putting rooms away; try again"))

    def _enter(
        self,
        session: Session,
        msg: Join,
        room: Room,
        nick: str,
        user: str,
        address: str,
        new_password: str | None,
    ) -> None:
        """Under the room's lock: make ``session`` a member of ``room``, or tell it why not."""
        passwords = self.passwords
        ghost = room.members.get(user)
        refused = _name_refusal(room, nick, user, room.taken_nicks(except_user=user))
        if refused is not None:
            session.send(refused)
            return
        if ghost is None and len(room.members) >= self.max_members:
            session.send(JoinError("room_full", f"a room has at most {self.max_members} members"))
            return
        guest = session.server.accounts.account_of(session) is None
        held = session.server.bans.refusal(room, user, address, guest)  # timed bans end, kicks, holds
        if held is None and room.rights.banned(user, address):
            held = JoinError("banned", "An operator banned you from this room.")
        if held is not None:
            session.send(held)
            return
        try:
            created = room.rights.arrive(user, nick, address)
        except sqlite3.Error as exc:
            self.store.health.failed(f"{nick!r} joining room {room.name!r}", exc)
            session.send(Error("store_failed", "the server could not record your joining; try again"))
            return
        if ghost is not None:
            ghost.close("reconnected", Error("replaced", "you connected again from elsewhere", fatal=True))
            room.leave(ghost, "reconnected")  # in case its own close was already under way
        if created and new_password is not None:
            passwords.keep(room, new_password)
        session.user, session.nick = user, nick
        session.id_prefix = ids.device_id(msg.client) if msg.client else user
        if not session.attach(room):
            return
        room.members[user] = session
        session.send(Welcome(user, nick, room.name, room.users(), room.board.seq))
        session.send(room.rights.state_for(user))
        session.send_lazy(room.catch_up(msg.since, msg.packed, msg.snapshot))
        if created:
            log.info("room %r: created by %s (%s), its operator", room.name, nick, user)
        if session.limits.motd and msg.since is None:  # the greeting, after the catch-up; not again
            # on a reconnect (a join with since: the client has this room's board and chat already)
            session.send(Notice(session.limits.motd))
        presenting.greet(room, session)
        game_room.greet(room, session)
        room.broadcast(UserJoined(user, nick), exclude=session)
        log.info("room %r: %s (%s) joined from %s, since=%s", room.name, nick, user, session.peer, msg.since)


def _name_refusal(room: Room, nick: str, user: str, taken: set[str]) -> JoinError | None:
    """Under the room's lock: ``nick`` is a member's (taken) or looks like one (confusable, TR39)."""
    if confusables.invisible(nick):
        return JoinError("invalid", confusables.INVISIBLE)
    if names.fold(nick) in taken:
        return JoinError("taken", f"{nick!r} is already in this room", names.suggest(nick, taken))
    other = confusables.clash(nick, (s.nick for u, s in room.members.items() if u != user))
    if other is not None:
        return JoinError("confusable", f"{nick!r} looks like {other!r}, who is in this room: pick another")
    return None
