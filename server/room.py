"""Rooms: each has its members, its Board (the authority over its log) and its recent chat.

Joining registers the member and takes the catch-up (a snapshot of the board, or the range of logged
operations the client missed) atomically under the room's lock, and queues the catch-up on the
joiner's connection ahead of any live frame: live operations follow CaughtUp with no gap and no
duplicate. The catch-up itself is encoded later by the joiner's writer thread, outside the lock.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from pgboard_server.limits import MAX_ROOMS
from pgboard_server.rights import RoomRights, address_of

from pgboard import names
from pgboard.board import MAX_OBJECTS, Board, BoardError, DuplicateOperation, Operation
from pgboard.protocol import (
    OPERATIONS,
    TERMINATOR,
    Ack,
    BoardObject,
    CatchUp,
    CaughtUp,
    Chat,
    Clear,
    Cursor,
    Error,
    Join,
    JoinError,
    LocalProtocolError,
    Message,
    ProtocolError,
    UserInfo,
    UserJoined,
    UserLeft,
    Welcome,
    decode_frame,
    encode,
    encode_obj,
)

if TYPE_CHECKING:
    from pgboard_server.session import Session
    from pgboard_server.store import Store

log = logging.getLogger(__name__)

AUTHOR_ID_HEX = 16  # hex characters of sha256(client secret) that make the author id
OBJ_CACHE_SLACK = 1000  # cached obj frames beyond the board's size before the cache is pruned
LOCKED_DETAIL = "an operator locked the board: only operators draw until it is unlocked"


def author_id(secret: str) -> str:
    """The author id for a client secret: stable across reconnects, random for an empty secret."""
    if not secret:
        secret = secrets.token_hex(16)
    return hashlib.sha256(secret.encode()).hexdigest()[:AUTHOR_ID_HEX]


def payload(frame: bytes) -> str:
    return frame[: -len(TERMINATOR)].decode("ascii")


class Room:
    """One board. Every mutation happens under ``lock`` (re-entrant: a drop may happen mid-broadcast)."""

    def __init__(
        self, name: str, store: Store, chat_history: int, catchup_chunk: int, max_objects: int = MAX_OBJECTS
    ) -> None:
        self.name = name
        self.store = store
        self.lock = threading.RLock()
        self.rights = RoomRights(store, name)
        self.max_objects = max_objects
        self.board = Board(may_edit=self.rights.may_edit)
        self.board.max_objects = max_objects
        self.members: dict[str, Session] = {}  # author id -> session
        self.chat: deque[str] = deque(maxlen=chat_history)  # payloads of recent room chat lines
        self.catchup_chunk = catchup_chunk
        # encoded obj frames of board catch-ups (points as lists, and packed), reused by the next joiner
        # while the object is unchanged (written by writer threads: single dict operations, atomic)
        self._obj_frames: dict[bool, dict[str, tuple[BoardObject, bytes]]] = {False: {}, True: {}}

    def rebuild(self) -> None:
        """Throw the board away and replay it from the store: what was not committed is gone."""
        self.board = Board(may_edit=self.rights.may_edit)
        self.board.max_objects = self.max_objects
        self._replay_ops()

    def replay(self) -> int:
        """Rebuild the board from the store's log (undo history included) and the recent chat."""
        count = self._replay_ops()
        self.chat.extend(self.store.recent_chat(self.name, self.chat.maxlen or 0))
        return count

    def _replay_ops(self) -> int:
        count = 0
        for echo in self.store.ops(self.name, chunk=self.catchup_chunk):
            try:
                msg = decode_frame(echo.encode("ascii"))
                self.board.apply_echo(msg)
            except (ProtocolError, TypeError) as exc:
                log.error("room %r: skipping a damaged log entry: %s", self.name, exc)
                continue
            count += 1
        return count

    # -- membership

    def taken_nicks(self, except_user: str = "") -> set[str]:
        return {names.fold(s.nick) for u, s in self.members.items() if u != except_user}

    def find(self, nick: str) -> Session | None:
        key = names.fold(nick.strip())
        return next((s for s in self.members.values() if names.fold(s.nick) == key), None)

    def users(self) -> tuple[UserInfo, ...]:
        return tuple(UserInfo(s.user, s.nick) for s in self.members.values())

    def leave(self, session: Session, reason: str) -> None:
        with self.lock:
            if self.members.get(session.user) is not session:
                return
            del self.members[session.user]
            session.detach()
            log.info("room %r: %s (%s) left: %s", self.name, session.nick, session.user, reason)
            self.broadcast(UserLeft(session.user, session.nick, reason))

    # -- sending

    def broadcast(self, msg: Message, *, exclude: Session | None = None) -> None:
        frame = encode(msg)
        for s in list(self.members.values()):
            if s is not exclude:
                s.send_frame(frame)

    def broadcast_chat(self, line: Chat) -> None:
        """Room chat to everyone who does not ignore it, kept in the log for joiners."""
        frame = encode(line)
        with self.lock:
            self.store.append_chat(self.name, payload(frame))
            self.chat.append(payload(frame))
            for s in list(self.members.values()):
                if not s.ignoring_chat or s.user == line.user:
                    s.send_frame(frame)

    # -- the board log

    def apply(self, session: Session, op: Operation) -> None:
        self.apply_all(session, [op])

    def apply_all(self, session: Session, ops: Sequence[Operation]) -> None:
        """Apply ``session``'s operations (one input chunk's, in order) under one hold of the lock,
        commit their echoes in one transaction, then send them: each echo to every member, each
        answer (an ack of a resend, a refusal) to ``session`` alone, all in the order of ``ops``."""
        with self.lock:
            if self.members.get(session.user) is not session:
                # A connection its author's reconnect replaced (or one that left) applies nothing more:
                # read late by its reader thread, the operation would land behind the catch-up of the
                # new connection, which still has it to resend; a client that caught up on a compacted
                # board would then take its echo for the acknowledgement of something already drawn.
                return
            replies = [self._apply_one(session, op) for op in ops]
            echoes: list[Operation] = [r for r in replies if isinstance(r, OPERATIONS)]  # type: ignore[misc]
            logged = self._log(echoes) if echoes else {}
            everyone: list[bytes] = []  # the echoes, for the others
            mine: list[bytes] = []  # the echoes and the answers, for the sender, in the order sent
            for reply in replies:
                if isinstance(reply, OPERATIONS):
                    result = logged[reply.seq]
                    if isinstance(result, bytes):
                        everyone.append(result)
                        mine.append(result)
                        continue
                    reply = result
                mine.append(encode(reply))
            for s in list(self.members.values()):
                if s is session:
                    s.send_frames(mine)
                elif everyone:
                    s.send_frames(everyone)

    def _apply_one(self, session: Session, op: Operation) -> Message:
        """The echo of ``op`` applied to the board (not logged yet), or the answer to send back."""
        done = self.board.seen(session.user, op.oid)
        if done is not None:  # a resend is acknowledged even on a locked board
            return Ack(op.oid, done)
        if not self.rights.may_draw(session.user):
            return Error("locked", LOCKED_DETAIL, oid=op.oid)
        try:
            return self.board.apply(op, session.user)
        except DuplicateOperation as dup:
            return Ack(op.oid, dup.seq)
        except BoardError as exc:
            return Error(exc.code, exc.detail, oid=op.oid)

    def commit(self, session: Session, echo: Operation) -> bool:
        """Log the applied ``echo`` and send it to every member; on failure the board is rebuilt
        from its log and ``session`` is told. Called under the lock."""
        result = self._log([echo])[echo.seq]
        if not isinstance(result, bytes):
            session.send(result)
            return False
        for s in list(self.members.values()):
            s.send_frame(result)
        return True

    def _log(self, echoes: list[Operation]) -> dict[int, bytes | Error]:
        """Commit applied ``echoes`` to the store in one transaction (committed before echoed).
        Returns, by seq, each echo's frame, or the error its author gets instead: if the store fails,
        the board is rebuilt from its log (nobody saw them) and every one of them is refused. Called
        under the lock."""
        logged: dict[int, bytes | Error] = {}
        frames: dict[int, bytes] = {}
        for echo in echoes:
            try:
                frames[echo.seq] = encode(echo, check=False)  # made of checked parts: see encode
            except LocalProtocolError as exc:  # cannot happen: Board.apply refuses effects that do not fit
                log.error("room %r: echo of %s does not fit a frame: %s", self.name, echo.oid, exc)
                detail = "the effect of this operation is too large"
                logged[echo.seq] = Error("too_large", detail, oid=echo.oid)
        if not frames:
            return logged
        try:
            self.store.append_ops(self.name, [(seq, payload(frame)) for seq, frame in frames.items()])
        except sqlite3.Error as exc:
            log.error("room %r: could not store operations %s: %s", self.name, list(frames), exc)
            self.rebuild()  # forget them: nobody saw them, and the board must match its log
            detail = "the server could not save this; try again"
            return {echo.seq: Error("store_failed", detail, oid=echo.oid) for echo in echoes}
        logged.update(frames)
        return logged

    def purge(self, session: Session, author: str) -> int:
        """Remove every object of ``author`` now on the board, as one step of ``session``'s (an
        operator's) that its undo puts back: a ``clear`` echo listing them. Returns how many."""
        with self.lock:
            ids = tuple(i for i, o in self.board.objects.items() if o.author == author)
            if not ids:
                return 0
            oid = f"purge.{secrets.token_hex(4)}"
            echo = Clear(oid, self.board.seq + 1, session.user, removed=ids)
            try:
                encode(echo)
            except LocalProtocolError:
                session.send(Error("too_large", f"{len(ids)} objects are too many to purge in one step"))
                return 0
            self.board.apply_echo(echo)
            return len(ids) if self.commit(session, echo) else 0

    # -- rights

    def send_state(self, users: Iterable[str] | None = None) -> None:
        """Tell members (all, or those in ``users``) what they may do now. Called under the lock."""
        for user, s in list(self.members.items()):
            if users is None or user in users:
                s.send(self.rights.state_for(user))

    def cursor(self, session: Session, msg: Cursor) -> None:
        with self.lock:
            self.broadcast(Cursor(msg.x, msg.y, session.user), exclude=session)

    # -- catch-up

    def catch_up(self, since: int | None, packed: bool = False) -> Iterator[bytes]:
        """Called under the lock: the frames that bring a joiner from ``since`` to now, produced
        lazily (the objects are frozen, so a snapshot list is safe to encode later); a board's points
        ``packed`` if the joiner asked for that."""
        seq = self.board.seq
        history = list(self.chat)
        if since is None or since > seq:
            objects = self.board.snapshot()
            return self._board_frames(objects, seq, history, packed)
        return self._ops_frames(since, seq, history)

    def _board_frames(
        self, objects: list[BoardObject], seq: int, history: list[str], packed: bool
    ) -> Iterator[bytes]:
        yield encode(CatchUp(len(objects), "board"))
        cache = self._obj_frames[packed]
        for obj in objects:
            hit = cache.get(obj.id)
            if hit is not None and hit[0] is obj:  # objects are immutable: same object, same frame
                yield hit[1]
            else:
                frame = encode_obj(obj, packed=packed)
                cache[obj.id] = (obj, frame)
                yield frame
        if len(cache) > 2 * len(objects) + OBJ_CACHE_SLACK:  # forget deleted objects now and then
            live = {o.id for o in objects}
            for oid in [i for i in list(cache) if i not in live]:
                cache.pop(oid, None)
        yield encode(CaughtUp(seq))
        yield from _history_frames(history)

    def _ops_frames(self, since: int, seq: int, history: list[str]) -> Iterator[bytes]:
        yield encode(CatchUp(seq - since, "ops"))
        for echo in self.store.ops(self.name, since, seq, chunk=self.catchup_chunk):
            yield echo.encode("ascii") + TERMINATOR
        yield encode(CaughtUp(seq))
        yield from _history_frames(history)


def _history_frames(history: list[str]) -> Iterator[bytes]:
    for line in history:
        msg = decode_frame(line.encode("ascii"))
        assert isinstance(msg, Chat)
        yield encode(Chat(msg.kind, msg.user, msg.nick, msg.text, msg.to, True, msg.time))


class Rooms:
    """Every room of the server, created on first join (or at start, from the store)."""

    def __init__(
        self,
        store: Store,
        max_members: int,
        chat_history: int,
        catchup_chunk: int,
        *,
        max_rooms: int = MAX_ROOMS,
        max_objects: int = MAX_OBJECTS,
    ) -> None:
        self.store = store
        self.max_members = max_members
        self.max_rooms = max_rooms
        self.max_objects = max_objects
        self.chat_history = chat_history
        self.catchup_chunk = catchup_chunk
        self._lock = threading.Lock()
        self._rooms: dict[str, Room] = {}

    def get(self, name: str, *, capped: bool = False) -> Room | None:
        """The room called ``name``, created if new; None if new and ``capped`` and the server already
        holds ``max_rooms`` rooms (rooms found in the store at start are never refused)."""
        key = names.fold(name)
        with self._lock:
            room = self._rooms.get(key)
            if room is None:
                if capped and len(self._rooms) >= self.max_rooms:
                    return None
                room = Room(name, self.store, self.chat_history, self.catchup_chunk, self.max_objects)
                self._rooms[key] = room
            return room

    def all(self) -> list[Room]:
        with self._lock:
            return list(self._rooms.values())

    def replay_all(self) -> int:
        total = 0
        for name in self.store.rooms():
            room = self.get(name)
            assert room is not None
            with room.lock:
                n = room.replay()
            log.info("room %r: replayed %d operations (board at seq %d)", name, n, room.board.seq)
            total += n
        return total

    def join(self, session: Session, msg: Join) -> None:
        try:
            room_name = names.check_room(msg.room)
            nick = names.check_nick(msg.nick)
        except names.NameError_ as exc:
            session.send(JoinError(exc.reason, exc.detail))
            return
        accounts, passwords = session.server.accounts, session.server.room_passwords
        account = accounts.account_of(session)
        if account is not None:  # logged in: the account's name and id, on every machine
            nick, user = account.nick, account.user
        elif not accounts.may_use(session, nick):
            session.send(JoinError("registered", f"{nick!r} is a registered name: log in to use it"))
            return
        else:
            user = author_id(msg.client)
        room = self.get(room_name, capped=True)
        if room is None:
            session.send(JoinError("too_many_rooms", f"this server holds at most {self.max_rooms} rooms"))
            return
        with room.lock:  # a nickname in use is refused before any slow password check
            taken = room.taken_nicks(except_user=user)
        if names.fold(nick) in taken:
            session.send(JoinError("taken", f"{nick!r} is already in this room", names.suggest(nick, taken)))
            return
        refused = passwords.check(room, msg.password, session.peer)  # slow hashes: outside the lock
        if refused is not None:
            session.send(refused)
            return
        new_password = passwords.prepare(room, msg.password)
        with room.lock:
            ghost = room.members.get(user)
            taken = room.taken_nicks(except_user=user)
            if names.fold(nick) in taken:
                session.send(
                    JoinError("taken", f"{nick!r} is already in this room", names.suggest(nick, taken))
                )
                return
            if ghost is None and len(room.members) >= self.max_members:
                session.send(JoinError("room_full", f"a room has at most {self.max_members} members"))
                return
            address = address_of(session.peer)
            if room.rights.banned(user, address):
                session.send(JoinError("banned", "An operator banned you from this room."))
                return
            try:
                created = room.rights.arrive(user, nick, address)
            except sqlite3.Error as exc:
                log.error("room %r: could not record %s joining: %s", room.name, nick, exc)
                session.send(Error("store_failed", "the server could not record your joining; try again"))
                return
            if ghost is not None:
                ghost.close(
                    "reconnected", Error("replaced", "you connected again from elsewhere", fatal=True)
                )
                room.leave(ghost, "reconnected")  # in case its own close was already under way
            if created and new_password is not None:
                passwords.keep(room, new_password)
            session.user, session.nick = user, nick
            if not session.attach(room):
                return
            room.members[user] = session
            session.send(Welcome(user, nick, room.name, room.users(), room.board.seq))
            session.send(room.rights.state_for(user))
            session.send_lazy(room.catch_up(msg.since, msg.packed))
            if created:
                log.info("room %r: created by %s (%s), its operator", room.name, nick, user)
            room.broadcast(UserJoined(user, nick), exclude=session)
        log.info("room %r: %s (%s) joined from %s, since=%s", room.name, nick, user, session.peer, msg.since)
