"""Rooms: each has its members, its Board (the authority over its log) and its recent chat.

Joining registers the member and takes the catch-up (a snapshot of the board, or the range of logged
operations the client missed) atomically under the room's lock, and queues the catch-up on the
joiner's connection ahead of any live frame: live operations follow CaughtUp with no gap and no
duplicate. The catch-up itself is encoded later by the joiner's writer thread, outside the lock.

Who writes what: ``apply_all`` (and ``cursor``) queue frames on members without writing them and
return those members; the caller, a connection's reader thread, writes each once at the end of its
input chunk (``Session.flush``). Frames are queued under the room's lock, so every member gets the
echoes in seq order whichever thread writes them. Other sends (chat, joins, leaves, rights) are
written when queued.

Lock order (server/lockorder.py checks it when PGBOARD_DEBUG_LOCKS=1, as in the test suite): a
thread holding a lock takes only locks further down this list, never one above it.

    Room.lock (re-entrant)       a room's board, members and chat
    FriendList._lock             where logged-in accounts are, for their friends (server/friends.py)
    Rooms._lock                  which rooms are held (put away: the room's lock taken without waiting)
    Accounts._lock               who is logged in
    Session._state               a connection's closing flag and room (join racing a close)
    Session._lock                a connection's send queue, and writing to its socket
    Store._lock                  the SQLite connection

So: Room -> Session state -> Session lock; Room -> Store; Room -> Accounts; Rooms -> Store. A
session closes itself (``Session.close``) holding its own locks only, then leaves its room. The
locks held for a few operations that call out to nothing (TlsWire's, LogCompactor's, StoreHealth's,
the rate limiters') come after all of these.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING

from pgboard_server import echo as echo_bytes
from pgboard_server import game_room, lockorder, logform, presenting, rounds
from pgboard_server.budget import BudgetMeter, RoomBudget, growth
from pgboard_server.compaction import LogCompactor
from pgboard_server.limits import Limits
from pgboard_server.rights import RoomRights
from pgboard_server.snapshot_frames import SnapshotFrames
from pgboard_server.store_damage import RoomDamaged, decoded, describe

from pgboard import board_batch, ids, names
from pgboard.board import MAX_OBJECTS, Board, BoardError, DuplicateOperation
from pgboard.history import purge_oid
from pgboard.protocol import (
    OPERATIONS,
    Ack,
    Add,
    Batch,
    BoardObject,
    CatchUp,
    CaughtUp,
    Chat,
    Clear,
    Cursor,
    Error,
    LocalProtocolError,
    Message,
    Operation,
    UserInfo,
    UserLeft,
    decode_frame,
    encode,
    encode_obj,
    frame_of,
    payload_of,
)
from pgboard.protocol_presence import View

if TYPE_CHECKING:
    from pgboard_server.game import Game
    from pgboard_server.session import Session
    from pgboard_server.store import Store

log = logging.getLogger(__name__)
SHUTDOWN_REASON = "server shutdown"  # every member leaves at once: no user_left for each (N^2 lines)

AUTHOR_ID_HEX = ids.DEVICE_ID_HEX  # hex characters of sha256(client secret) that make the author id
OBJ_CACHE_SLACK = 1000  # cached obj frames beyond the board's size before the cache is pruned
LOCKED_DETAIL = "an operator locked the board: only operators draw until it is unlocked"
WATCH_ONLY_DETAIL = "you watch only in this room: an operator can let you draw (/readwrite)"


def author_id(secret: str) -> str:
    """The author id for a client secret: stable across reconnects, random for an empty secret."""
    if not secret:
        secret = secrets.token_hex(16)
    return ids.device_id(secret)


class Room:
    """One board. Every mutation happens under ``lock`` (re-entrant: a drop may happen mid-broadcast)."""

    def __init__(
        self,
        name: str,
        store: Store,
        chat_history: int,
        catchup_chunk: int,
        max_objects: int = MAX_OBJECTS,
        budget: RoomBudget | None = None,
    ) -> None:
        self.name = name
        self.store = store
        self.lock = lockorder.rlock("room")
        self.rights = RoomRights(store, name)
        self.max_objects = max_objects
        self.budget = budget or Limits().budget()
        self.meter = BudgetMeter()  # the board's points and bytes, whichever Board is installed
        self.compaction = LogCompactor(self)
        self.rounds = rounds.Rounds(self)  # the readers' chunks, applied in rounds
        self.board = Board(may_edit=self.rights.may_edit, edit_scope=self.rights.editable_authors)
        self.board.max_objects = max_objects
        self.members: dict[str, Session] = {}  # author id -> session
        self.chat: deque[str] = deque(maxlen=chat_history)  # payloads of recent room chat lines
        self.catchup_chunk = catchup_chunk
        # encoded obj frames of board catch-ups (points as lists, and packed), reused by the next joiner
        # while the object is unchanged (written by writer threads: single dict operations, atomic)
        self._obj_frames: dict[bool, dict[str, tuple[BoardObject, bytes]]] = {False: {}, True: {}}
        self._snapshots = SnapshotFrames()  # the snapshot frames of the last board catch-up
        # the room's life in Rooms: loaded from the store on first use; "gone" once put away or
        # forgotten (a joiner who finds it gone asks Rooms again); created_from counts it against
        # MAX_ROOMS_PER_ADDRESS; on_empty is told when the last member leaves (under the lock)
        self.loaded = False
        self.gone = False
        self.entering = False  # a join is under way (under the lock): the room is not empty for long
        self.chatted = False  # a chat line of this room is in the store
        self.log_unreadable = False  # a catch-up could not read the log: joiners get the board (whole)
        self.created_from = ""
        self.on_empty: Callable[[Room], None] | None = None
        self.presenter = ""  # who /present-s (their author id): members are asked to follow their view
        self.game: Game | None = None  # the drawing game running here (server/game_room.py), in memory
        self.custom_words: tuple[str, ...] = ()  # an operator's word list (/game words)

    @property
    def board(self) -> Board:
        return self._board

    @board.setter
    def board(self, board: Board) -> None:
        self._board = board
        self.meter.watch(board)

    def replay(self) -> int:
        """Rebuild the board from the store's log (undo history included) and the recent chat."""
        count = self._replay_ops()
        lines = self.store.recent_chat(self.name, max(1, self.chat.maxlen or 0))
        for line in lines:  # decoded again for each joiner (_history_frames): a damaged one fails here
            if not isinstance(decoded(self.name, line, "chat"), Chat):
                raise RoomDamaged(self.name, "its chat holds a line that is not chat")
        self.chatted = bool(lines)
        self.chat.extend(lines[-(self.chat.maxlen or 0) :] if self.chat.maxlen else [])
        self.loaded = True
        return count

    def ensure_loaded(self) -> int:
        """Under the lock: replay the room from the store unless that was done (operations replayed)."""
        return 0 if self.loaded else self.replay()

    def worth_keeping(self) -> bool:
        """Whether an empty room keeps its place: anything in its log (an operation or a chat line
        ever), a password, a lock, a ban, a grant or an operator besides its creator. A room with
        none of those is forgotten, store rows included, when its last member leaves: joining it
        again creates it afresh, and its first member is its operator as before."""
        r = self.rights
        return bool(
            self.board.seq
            or self.chatted
            or r.locked
            or r.bans
            or r.grants
            or r.operators - {r.creator}
            or self.store.room_password(r.key) is not None
        )

    def _replay_ops(self) -> int:
        """The board from the room's snapshot, if it has one, and the log after it."""
        snap = self.compaction.load()
        count = 0
        for echo in self.store.ops(self.name, after=self.compaction.floor, chunk=self.catchup_chunk):
            # a row that does not decode makes the room damaged (store_damage): skipping it would serve,
            # and then compact for good, a board without it; and a catch-up would send it to joiners
            msg = decoded(self.name, echo, "log")
            if not isinstance(msg, OPERATIONS):
                raise RoomDamaged(self.name, f"its log holds a {type(msg).__name__}, not an operation")
            if msg.seq <= snap:  # kept for a catch-up; in the board
                continue
            self.board.apply_echo(msg)
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
            if reason != SHUTDOWN_REASON:  # at a shutdown everyone is told so, and keeps who was there
                self.broadcast(UserLeft(session.user, session.nick, reason))
            if self.presenter == session.user:
                presenting.end(self)
            game_room.left(self, session.user, session.server.clock())
            if not self.members and self.on_empty is not None:
                self.on_empty(self)

    # -- sending

    def broadcast(self, msg: Message, *, exclude: Session | None = None) -> None:
        frame = encode(msg)
        for s in list(self.members.values()):
            if s is not exclude:
                s.send_frame(frame)

    def broadcast_chat(self, line: Chat) -> bool:
        """Room chat to everyone who does not ignore it, kept in the log for joiners. False when the
        store could not keep it: then nobody got it (the sayer is told store_failed by the caller)."""
        frame = encode(line)
        with self.lock:
            try:
                self.store.append_chat(self.name, payload_of(frame), keep=self.budget.chat_kept)
            except sqlite3.Error as exc:
                self.store.health.failed(f"a chat line in room {self.name!r}", exc)
                return False
            self.store.health.ok()
            self.chatted = True
            self.chat.append(payload_of(frame))
            for s in list(self.members.values()):
                if not s.ignoring_chat or s.user == line.user:
                    s.send_frame(frame)
        return True

    # -- the board log

    def apply(self, session: Session, op: Operation) -> None:
        for s in self.apply_all(session, [op]):
            s.flush()

    def apply_all(
        self, session: Session, ops: Sequence[Operation], raws: Sequence[bytes] = ()
    ) -> list[Session]:
        """Apply ``session``'s operations (one input chunk's) in a round of their own
        (server/rounds.py ``apply_round``): returns the members queued on, whom the caller flushes."""
        return rounds.apply_round(self, [(session, ops, raws, None)])

    def _apply_one(self, session: Session, op: Operation) -> Message:
        """The echo of ``op`` applied to the board (not logged yet), or the answer to send back."""
        device = session.id_prefix or session.user  # resends are per device: an oid is unique per secret
        done = self.board.seen(device, op.oid)
        if done is None:
            done = self.compaction.resent.get((device, op.oid))
        if done is not None:  # a resend is acknowledged even on a locked board
            return Ack(op.oid, done)
        refusal = game_room.may_draw(self, session.user)
        if refusal is not None:
            return Error(refusal.code, refusal.detail, oid=op.oid)
        if not self.rights.may_draw(session.user):
            if self.rights.watching(session.user):
                return Error("watch_only", WATCH_ONLY_DETAIL, oid=op.oid)
            return Error("locked", LOCKED_DETAIL, oid=op.oid)
        added = (op.obj,) if isinstance(op, Add) else op.put if isinstance(op, Batch) else ()
        if isinstance(op, Batch):  # a replacement keeps the id of the object it replaces (board_batch.py)
            kept = board_batch.replaced_ids(op)
            added = tuple(o for o in added if o.id not in kept)
        if any(not ids.owned_by(obj.id, session.id_prefix) for obj in added):
            # ids are scoped to their device: nobody can use up the ids another client will draw with
            detail = f"an object id must begin with {ids.scoped(session.id_prefix, '')!r} (yours)"
            return Error("bad_id", detail, oid=op.oid)
        try:
            refused = self._over_budget(op, session.user)
            if refused is not None:
                return refused
            return self.board.apply(op, session.user, device)
        except DuplicateOperation as dup:
            return Ack(op.oid, dup.seq)
        except BoardError as exc:
            return Error(exc.code, exc.detail, oid=op.oid)

    def _over_budget(self, op: Operation, author: str) -> Error | None:
        """``board_full`` if ``op`` would take the board past its points or bytes (RoomBudget)."""
        points, size = growth(self.board, op, author)
        if points <= 0 and size <= 0:
            return None
        b, m = self.budget, self.meter
        if points > 0 and m.points + points > b.max_points:
            return Error("board_full", f"a board holds at most {b.max_points} points", oid=op.oid)
        if size > 0 and m.bytes + size > b.max_bytes:
            return Error("board_full", f"a board holds at most {b.max_bytes} bytes", oid=op.oid)
        return None

    def commit(self, session: Session, echo: Operation) -> bool:
        """Log the ``echo`` applied since ``board.begin()`` and send it to every member; on failure
        the board takes it back and ``session`` is told. Called under the lock."""
        result = self._log([echo])[echo.seq]
        if not isinstance(result, bytes):
            session.send(result)
            return False
        for s in list(self.members.values()):
            s.send_frame(result)
        return True

    def _log(self, echoes: list[Operation], raws: dict[int, bytes] | None = None) -> dict[int, bytes | Error]:
        """Commit applied ``echoes`` to the store in one transaction (committed before echoed).
        Returns, by seq, each echo's frame, or the error its author gets instead: if the store fails,
        the board takes back what it applied since ``board.begin()`` (nobody saw it: the journal undoes
        it in O(chunk), pgboard/board_journal.py, where replaying the log cost O(log) under this lock)
        and every one of them is refused. Called under the lock."""
        logged: dict[int, bytes | Error] = {}
        frames: dict[int, bytes] = {}
        rows: list[tuple[int, str]] = []
        for echo in echoes:
            raw = raws.get(echo.seq) if raws else None
            frame = echo_bytes.splice(raw, echo) if raw is not None else None
            if frame is not None:
                frames[echo.seq] = frame
                rows.append((echo.seq, echo_bytes.stored(echo, frame) or logform.stored(echo)))
                continue
            try:
                frames[echo.seq] = encode(echo, check=False)  # made of checked parts: see encode
                rows.append((echo.seq, logform.stored(echo)))
            except LocalProtocolError as exc:  # cannot happen: Board.apply refuses effects that do not fit
                log.error("room %r: echo of %s does not fit a frame: %s", self.name, echo.oid, exc)
                detail = "the effect of this operation is too large"
                logged[echo.seq] = Error("too_large", detail, oid=echo.oid)
        if not frames:
            return logged
        try:
            self.store.append_ops(self.name, rows)
        except sqlite3.Error as exc:
            self.store.health.failed(f"{len(frames)} operations in room {self.name!r}", exc)
            self.board.rollback()  # forget them: nobody saw them, and the board must match its log
            detail = "the server could not save this; try again"
            return {echo.seq: Error("store_failed", detail, oid=echo.oid) for echo in echoes}
        self.store.health.ok()
        logged.update(frames)
        return logged

    def purge(self, session: Session, author: str) -> int:
        """Remove every object of ``author`` now on the board, for good: a ``clear`` echo of
        ``session``'s (an operator's) listing them, whose oid names ``author``; no step of anyone's
        history puts back what ``author`` drew before it (pgboard/history.py). Logged even when
        nothing of theirs is on the board (their history may keep some). Returns how many."""
        with self.lock:
            ids = self.board.ids_of(author)  # the index by author: O(what is purged)
            done = self.server_clear(session, purge_oid(author, secrets.token_hex(4)), ids)
            if done is None:
                session.send(Error("too_large", f"{len(ids)} objects are too many to purge in one step"))
            return len(ids) if done else 0

    def server_clear(self, session: Session, oid: str, ids: tuple[str, ...]) -> bool | None:
        """Under the lock: a ``clear`` of ``ids`` made by the server in ``session``'s name (a purge, a
        game's new turn), applied and committed; None when it is too large for one frame, else whether
        it was committed."""
        echo = Clear(oid, removed=ids, seq=self.board.seq + 1, author=session.user)
        try:
            encode(echo)
        except LocalProtocolError:
            return None
        self.board.begin()
        try:
            self.board.apply_echo(echo)
            return self.commit(session, echo)
        finally:
            self.board.end()

    # -- rights

    def send_state(self, users: Iterable[str] | None = None) -> None:
        """Tell members (all, or those in ``users``) what they may do now. Called under the lock."""
        for user, s in list(self.members.items()):
            if users is None or user in users:
                s.send(self.rights.state_for(user))

    def cursor(self, session: Session, msg: Cursor | View) -> list[Session]:
        """Queue ``session``'s cursor (or view) on the others, unwritten: returns them, for the caller
        to flush. Stamped with its user; relayed, never logged."""
        if isinstance(msg, View):
            frame = encode(View(msg.x, msg.y, msg.w, msg.h, session.user))
        else:
            frame = encode(Cursor(msg.x, msg.y, session.user, msg.laser))
        with self.lock:
            others = [s for s in self.members.values() if s is not session]
            for s in others:
                s.send_frame(frame, flush=False)
            return others

    # -- catch-up

    def catch_up(self, since: int | None, packed: bool = False, snapshot: bool = False) -> Iterator[bytes]:
        """Called under the lock: the frames that bring a joiner from ``since`` to now, produced
        lazily (the objects are frozen, so a snapshot list is safe to encode later); points
        ``packed`` if the joiner asked for that. A ``since`` the compacted log no longer reaches back
        to gets the board; an ops catch-up pins the log after ``since`` until it is read."""
        seq = self.board.seq
        history = list(self.chat)
        if since is None or since > seq or since < self.compaction.floor or self.log_unreadable:
            objects = self.board.snapshot()
            return self._board_frames(objects, seq, history, packed, snapshot)
        return self.compaction.pinned(since, self._ops_frames(since, seq, history, packed))

    def packed_frames(self) -> dict[str, tuple[BoardObject, bytes]]:
        """The packed obj frames board catch-ups encoded (by id, with the object they encode)."""
        return self._obj_frames[True]

    def _board_frames(
        self, objects: list[BoardObject], seq: int, history: list[str], packed: bool, snapshot: bool = False
    ) -> Iterator[bytes]:
        yield encode(CatchUp(len(objects), "board"))
        if snapshot:  # the joiner asked for snapshot frames (pgboard/protocol_snapshot.py)
            yield from self._snapshots.frames(objects)
            yield encode(CaughtUp(seq))
            yield from _history_frames(history)
            return
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

    def _ops_frames(self, since: int, seq: int, history: list[str], packed: bool) -> Iterator[bytes]:
        try:
            yield encode(CatchUp(seq - since, "ops"))
            try:
                for echo in self.store.ops(self.name, since, seq, chunk=self.catchup_chunk):
                    yield frame_of(echo) if packed else logform.as_lists(echo)
            except sqlite3.Error as exc:  # damaged under the running room, whose board in memory is whole
                self.log_unreadable = True
                why = describe(self.store.path, exc)
                log.error(
                    "room %r: its log cannot be read; joiners get its board from now on: %s", self.name, why
                )
                yield encode(
                    Error("store_failed", "the server could not read this room's log; join again", fatal=True)
                )
                return
        finally:
            self.compaction.unpin(since)
        yield encode(CaughtUp(seq))
        yield from _history_frames(history)


def _history_frames(history: list[str]) -> Iterator[bytes]:
    for line in history:
        msg = decode_frame(line.encode("ascii"))
        assert isinstance(msg, Chat)
        yield encode(Chat(msg.kind, msg.user, msg.nick, msg.text, msg.to, True, msg.time))
