"""The client's view of the room it joined: the display board, who is here, and what to tell the user.

It sits between the session (pgboard/client_session.py, through its socket shell pgboard/net.py) and
the screen, and applies the session's events in order (``apply_incoming``). Operations the user makes
are applied to the board at once (optimistic drawing: add, extend, move and delete show before the
server answers) and go into the session's ledger as ``drawn``, with what their rollback needs; their
echoes come back as ``Confirmed``. Clear, undo and redo wait for the server's echo, which carries their
concrete effect. A fresh join stages the compacted board as it arrives (each object measured and
indexed in the frame that received it, so a big board costs many short frames, not one long one) and
installs it in one step at ``CatchUpFinished``, then draws again what the user drew that the server
has not confirmed yet. This view keeps no record of unconfirmed operations of its own.

What the user may do follows the server's ``room_state``: the board's edit policy (``Board.may_edit``)
allows your own objects, those of authors who allowed you, and every object when you are an operator,
so the eraser and the drag offer what the server will accept; on a locked board a non-operator's
operations are not drawn nor sent (``on_blocked`` says why). When the server refuses an operation
anyway (the lock arrived while it travelled), what it drew here is taken back.

No pygame here: the app turns the callbacks into widgets.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from pgboard import ids, presence, room_list
from pgboard.board import Board
from pgboard.catchup_gc import CatchUpCollector
from pgboard.client_session import (
    OPTIMISTIC,
    CatchUpFinished,
    CatchUpStarted,
    Confirmed,
    Event,
    Operation,
    Received,
    Refused,
    StateChanged,
    TimerWanted,
)
from pgboard.friends import FriendBook
from pgboard.protocol import (
    OPERATIONS,
    AccountOk,
    Add,
    Batch,
    BoardObject,
    Chat,
    Clear,
    Cursor,
    Delete,
    Error,
    Extend,
    Message,
    Move,
    Notice,
    Obj,
    Redo,
    Rooms,
    RoomState,
    Undo,
)
from pgboard.protocol_friends import Friends, FriendUpdate
from pgboard.protocol_game import GameState
from pgboard.protocol_history import HISTORY_REPLIES
from pgboard.protocol_presence import Follow, View
from pgboard.protocol_snapshot import Snapshot
from pgboard.session_social import ChatLine, RightsChanged, UsersChanged
from pgboard.session_types import State

log = logging.getLogger(__name__)

ECHOES = OPERATIONS  # every operation is echoed (protocol.py says which they are)
# Received messages applied in one frame, in work units: an add or an extend counts its points, any other
# message MESSAGE_WORK (a clear, undo or redo also what it puts back and removes). Applying a point costs
# ~1-2 us here (measured and indexed by the board and by the canvas; painting waits for the canvas's
# own budget, PAINT_BUDGET), so this is about 10-20 ms of a frame: a burst of huge strokes is applied
# over frames, in order, never in one frame (one message at least per frame, so it always progresses).
# Catch-up objects (obj) are not counted: the pump's READ_TIME bounds them, and the canvas paints them.
LIVE_BUDGET = 10_000
MESSAGE_WORK = 8
LOCKED_TEXT = "The board is locked: only operators draw until one of them unlocks it"
WATCHING_TEXT = "You watch only in this room: an operator can let you draw (/readwrite)"


class Link(Protocol):
    """What the room needs of a session (pgboard.net.Connection and pgboard.client_session.ClientSession
    provide it): its events in order, and the ledger that keeps my operations until they are confirmed."""

    @property
    def events(self) -> deque[Event]: ...

    @property
    def client_secret(self) -> str: ...  # the object ids made here begin with its device id

    def submit(self, op: Message, *, drawn: bool = False, before: BoardObject | None = None) -> None: ...

    def send(self, msg: Message) -> bool: ...

    def unconfirmed_ids(self) -> set[str]: ...

    def catch_up_applied(self) -> list[Operation]: ...


def _ignore(*_args: Any) -> None:
    return None


class RoomView:
    """Applies the session's events to a local board, and the user's operations optimistically."""

    def __init__(
        self, link: Link, board: Board | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        self.link = link
        self.board = board if board is not None else Board()
        self.me = ""  # my author id, from the welcome (as the events applied so far know it)
        self.users: dict[str, str] = {}  # author id -> nickname, in join order
        self.presence = presence.Presence(clock) if clock is not None else presence.Presence()
        self.on_chat: Callable[[Chat], None] = _ignore
        self.on_notice: Callable[[str], None] = _ignore
        # "NICK joined" / "NICK left (reason)": the App groups them (ChatPanel.add_presence)
        self.on_presence: Callable[[str, str, str], None] = lambda nick, verb, reason: self.on_notice(
            f"{nick} {verb}" + (f" ({reason})" if reason else "")
        )
        self.on_users: Callable[[], None] = _ignore
        self.on_rooms: Callable[[Rooms], None] = _ignore  # the answer to /rooms (the App offers a picker)
        self.on_view: Callable[[View], None] = _ignore  # a member's view (pgboard/follow.py)
        self.on_follow: Callable[[Follow], None] = _ignore  # follow a presenter, or stop
        self.on_game: Callable[[GameState], None] = _ignore  # the drawing game (pgboard/game_view.py)
        self.on_error: Callable[[Error], None] = _ignore
        self.on_rights: Callable[[], None] = _ignore  # room_state changed what I may do
        self.on_blocked: Callable[[str], None] = _ignore  # an operation was not sent, and why
        self.on_state: Callable[[StateChanged], None] = _ignore  # the session changed state
        self.on_history: Callable[[Message], None] = _ignore  # history pages (pgboard/timeline_view.py)
        self.on_catch_up: Callable[[Event], None] = _ignore  # catch-ups begin and end ("what you missed")
        self.operators: frozenset[str] = frozenset()
        self.locked = False
        self.watching = False  # an operator made me watch only (or the room's new joiners watch only)
        self.granted_by: frozenset[str] = frozenset()  # authors whose objects I may edit too
        self.friends = FriendBook()  # my account's friends, as the server last told (pgboard/friends.py)
        self.allowed: frozenset[str] = frozenset()  # whom I allowed to edit mine
        self.board.may_edit = self.may_edit
        # Object ids: my device's prefix (known from the secret before any welcome, so what is drawn
        # before the first connection is accepted too), then a tag unique to this process (the same
        # secret in a later run starts its counter again) and a counter.
        self.id_prefix = ids.device_id(link.client_secret)
        self._tag = secrets.token_hex(4)  # ids made by this process: unique across its restarts
        self._counter = itertools.count(1)
        self._catchup: Board | None = None  # the board being received, installed at caught_up
        # objects my pending erase hid whose drag was refused meanwhile: how far the copy that erase
        # keeps must go back if it is refused too (rollback bookkeeping, not a record of operations)
        self._unmoved: dict[str, tuple[int, int]] = {}
        self._collector = CatchUpCollector()  # collects less often while it comes in
        self.caught_up = False
        self.stats = {"messages": 0, "work": 0}  # events applied, and their work (LIVE_BUDGET)

    def close(self) -> None:
        """The app leaves this room: a catch-up in progress ends here (the collector is itself again)."""
        self._catchup = None
        self._collector.end(freeze=False)

    # -- ids

    def new_id(self) -> str:
        return ids.scoped(self.id_prefix, f"{self._tag}-{next(self._counter)}")

    def new_oid(self) -> str:
        return f"{self._tag}.{next(self._counter)}"

    # -- rights

    @property
    def is_operator(self) -> bool:
        return bool(self.me) and self.me in self.operators

    @property
    def read_only(self) -> bool:
        """The board is locked and I am not an operator, or I watch only: nothing I draw would be
        accepted."""
        return (self.locked or self.watching) and not self.is_operator

    @property
    def blocked_text(self) -> str:
        """Why nothing I draw goes (when ``read_only``)."""
        return WATCHING_TEXT if self.watching else LOCKED_TEXT

    def may_edit(self, user: str, obj: BoardObject) -> bool:
        """The board's edit policy, as the server applies it (pgboard_server.rights)."""
        return obj.author == user or user in self.operators or obj.author in self.granted_by

    def _rights(self, msg: RoomState) -> None:
        was_locked = self.read_only
        self.operators, self.locked = frozenset(msg.operators), msg.locked
        self.granted_by, self.allowed = frozenset(msg.may_edit), frozenset(msg.allowed)
        self.watching = msg.watching
        if self.read_only and not was_locked and not self.caught_up:
            self.on_notice(self.blocked_text)  # joining a locked board (a live lock comes with a notice)
        self.on_rights()

    # -- the user's operations

    def submit(self, op: Message) -> None:
        """Send ``op``; draw it now when it is one of the operations shown before the echo. On a
        locked board (and I am no operator) nothing is drawn nor sent: ``on_blocked`` says why."""
        if self.read_only:
            self.on_blocked(self.blocked_text)
            return
        before = self.board.get(op.id) if isinstance(op, Delete) else None
        # an add of an id on the board is not drawn: the server refuses it (duplicate_id), and taking
        # it back would take away the object it replaced here
        drawn = isinstance(op, OPTIMISTIC) and not (isinstance(op, Add) and self.board.get(op.obj.id))
        if drawn:
            self._apply_local(op)
        self.link.submit(op, drawn=drawn, before=before)

    def apply_local(self, op: Message) -> None:
        """Draw my operation ``op`` (not confirmed yet) on the board again (pgboard/cache_join.py)."""
        self._apply_local(op)

    def _apply_local(self, op: Message) -> None:
        if isinstance(op, Add):
            op = dataclasses.replace(op, obj=dataclasses.replace(op.obj, author=self.me))
        self.board.apply_echo(dataclasses.replace(op, author=self.me, seq=0))  # type: ignore[type-var]

    def undo(self) -> None:
        self.submit(Undo(oid=self.new_oid()))

    def redo(self) -> None:
        self.submit(Redo(oid=self.new_oid()))

    def clear(self) -> None:
        self.submit(Clear(oid=self.new_oid()))

    def import_objects(self, adds: list[Add]) -> None:
        for add in adds:
            self.submit(add)

    # -- what the session says

    def apply_incoming(self, budget: float = float("inf")) -> int:
        """Apply the session's events, in order, about ``budget`` work of them (LIVE_BUDGET; one event
        at least): the rest waits for the next call. Returns how many were applied."""
        queue = self.link.events
        done = spent = 0
        while queue and (not done or spent < budget):
            event = queue.popleft()
            spent += self._work(event)
            self.apply(event)
            done += 1
        self.stats["messages"] += done
        self.stats["work"] += spent
        return done

    @property
    def waiting(self) -> int:
        """Events not applied yet (a burst spread over frames)."""
        return len(self.link.events)

    def _work(self, event: Event) -> int:
        if isinstance(event, Confirmed):
            return 1  # my own, drawn already: only acknowledged
        if not isinstance(event, Received):
            return 1 if isinstance(event, (StateChanged, TimerWanted)) else MESSAGE_WORK
        msg = event.msg
        if isinstance(msg, (Obj, Snapshot)):
            return 0
        if isinstance(msg, Add):
            return MESSAGE_WORK + len(msg.obj.points)
        if isinstance(msg, Extend):
            return MESSAGE_WORK + len(msg.points)
        if isinstance(msg, (Clear, Batch, Undo, Redo)):
            return MESSAGE_WORK + len(msg.removed) + sum(len(o.points) for o in msg.put)
        return MESSAGE_WORK

    def apply(self, event: Event) -> None:
        if isinstance(event, (CatchUpStarted, CatchUpFinished)):
            self.on_catch_up(event)  # before the catch-up touches the board
        if isinstance(event, Received):
            self._received(event.msg)
        elif isinstance(event, Confirmed):
            # drawn already, now logged at its seq: the board is at that seq too (else a reconnect
            # counted my own operations as missed, and the cache of the board asked for them again)
            self.board.seq = max(self.board.seq, event.msg.seq)
            if isinstance(event.op, Add) and isinstance(event.msg, Add):
                self._restack(event.op.obj.id)
            elif isinstance(event.op, Delete):
                self._unmoved.pop(event.op.id, None)
        elif isinstance(event, Refused):
            self._refused(event)
        elif isinstance(event, CatchUpStarted):
            self.caught_up = False
            board = self.board
            self._catchup = Board(board.may_edit, board.text_box) if event.msg.mode == "board" else None
            if self._catchup is not None:
                self._collector.begin()
        elif isinstance(event, CatchUpFinished):
            self._catch_up_finished(event)
        elif isinstance(event, UsersChanged):
            self._users_changed(event)
        elif isinstance(event, ChatLine):
            self.on_chat(event.msg)
        elif isinstance(event, RightsChanged):
            self._rights(event.msg)
        elif isinstance(event, StateChanged):
            if event.new is not State.ONLINE:
                self.presence.reset()  # nobody's cursor is shown where it was when the link dropped
            self.on_state(event)

    def _received(self, msg: Message) -> None:
        if isinstance(msg, ECHOES):
            self.board.apply_echo(msg)
            if self.caught_up:  # a catch-up's replay is not someone drawing now
                self.presence.acted(getattr(msg, "author", ""))
        elif isinstance(msg, Obj):
            if self._catchup is not None:
                self._catchup.place(msg.obj)
        elif isinstance(msg, Snapshot):
            if self._catchup is not None:
                place = self._catchup.place
                for obj in msg.objects:
                    place(obj)
        elif isinstance(msg, Cursor):
            if msg.laser:
                self.presence.shine(msg.user, (msg.x, msg.y))
            else:
                self.presence.moved(msg.user, (msg.x, msg.y))
        elif isinstance(msg, HISTORY_REPLIES):
            self.on_history(msg)  # the timeline's pages: never the live board
        else:
            self._apply_social(msg)

    def _restack(self, oid: str) -> None:
        """My object's echo: on the server it lies above everything echoed before it, so what was
        applied here after it was drawn (others' objects the server ordered first, a burst waiting
        its turn behind LIVE_BUDGET) goes under it; my own objects not echoed yet stay above it."""
        if self.board.get(oid) is None:
            return  # erased here before its echo came
        above: list[BoardObject] = []
        for obj in reversed(self.board.objects.values()):  # costs what lies above it: usually nothing
            if obj.id == oid:
                break
            above.append(obj)
        else:
            return
        mine = self.link.unconfirmed_ids()
        if all(obj.id in mine for obj in above):
            return
        self.board.to_top(oid)
        for obj in reversed(above):
            if obj.id in mine:
                self.board.to_top(obj.id)

    def _catch_up_finished(self, event: CatchUpFinished) -> None:
        staged, self._catchup = self._catchup, None
        if event.msg is None:  # the link dropped first: the next join brings the board again
            self._collector.end(freeze=False)
            return
        late = self.link.catch_up_applied()
        if staged is not None:
            self.board.take(staged, event.msg.seq)
            self._unmoved.clear()  # the board is the server's now
            self._collector.end()
            # what the user drew before the board arrived is still theirs and still on its way: the
            # session's list as it read caught_up, then what was drawn after that
            for op in (*event.redraw, *late):
                self._apply_local(op)
        self.caught_up = True

    def _users_changed(self, event: UsersChanged) -> None:
        if event.change == "welcome":  # a join, a reconnect's too
            self.me = event.user
            self.presence.reset()  # cursors seen before a reconnect are frozen where they were
        self.users = dict(event.users)
        if event.change == "left":
            self.presence.gone(event.user)
        self.on_users()
        if event.change in ("joined", "left"):
            self.on_presence(event.nick, event.change, event.reason)
        elif event.change == "renamed":
            self.on_notice(f"{event.old} is now {event.nick}")

    def _apply_social(self, msg: Message) -> None:
        if isinstance(msg, Notice):
            self.on_notice(msg.text)
        elif isinstance(msg, Rooms):  # the answer to /rooms
            for line in room_list.describe(msg.rooms, msg.more):
                self.on_notice(line)
            self.on_rooms(msg)
        elif isinstance(msg, View):
            self.on_view(msg)
        elif isinstance(msg, Follow):
            self.on_follow(msg)
        elif isinstance(msg, GameState):
            self.on_game(msg)
        elif isinstance(msg, (Friends, FriendUpdate)):
            for line in self.friends.apply(msg):
                self.on_notice(line)
        elif isinstance(msg, AccountOk):
            if msg.action == "signup":
                self.on_notice(f"{msg.nick} is registered: only you can use it, with your password")
            elif msg.action == "passwd":
                self.on_notice("Your password was changed")
        else:
            log.debug("room view ignores %s", type(msg).__name__)

    def _refused(self, event: Refused) -> None:
        err, entry = event.msg, event.entry
        op = entry.op if entry is not None and entry.drawn else None
        # take back what the refused operation drew here
        if isinstance(op, Add):
            self.board.apply_echo(Delete(oid="rollback." + op.oid, id=op.obj.id, author=self.me))
        elif isinstance(op, Move) and self.board.get(op.id) is None:  # erased here by a pending delete
            dx, dy = self._unmoved.get(op.id, (0, 0))
            self._unmoved[op.id] = (dx - op.dx, dy - op.dy)  # for the copy that delete would put back
        elif isinstance(op, Move):
            undo = Move(oid="rollback." + op.oid, id=op.id, dx=-op.dx, dy=-op.dy, author=self.me)
            self.board.apply_echo(undo)
        elif isinstance(op, Delete):
            gone = entry.before if entry is not None else None
            if gone is not None and (shift := self._unmoved.pop(op.id, None)) is not None:
                gone = _shifted(gone, *shift)
            # no_such_object: someone else's erase came first; the server has it gone, and so do we
            if gone is not None and self.board.get(gone.id) is None and err.code != "no_such_object":
                self.board.place(gone)  # back, on top (where it was is not known any more)
        elif isinstance(op, Extend):
            stroke = self.board.get(op.id)
            n = len(op.points)
            if stroke is not None and len(stroke.points) > n:  # its points last, maybe moved since
                tail, (x0, y0) = stroke.points[-n:], op.points[0]
                dx, dy = tail[0][0] - x0, tail[0][1] - y0
                if tail == tuple((x + dx, y + dy) for x, y in op.points):
                    self.board.place(dataclasses.replace(stroke, points=stroke.points[:-n]))
        self.on_error(err)
        sent = entry.op if entry is not None else None
        target = self.board.get(sent.id) if isinstance(sent, (Move, Delete)) else None
        target = target or (entry.before if entry is not None and isinstance(sent, Delete) else None)
        if err.code == "not_allowed" and target is not None and target.author != self.me:
            verb = "erase" if isinstance(sent, Delete) else "move"
            self.on_notice(presence.refusal_text(self.users, target, verb))
            return
        self.on_notice(
            f"Refused: {err.detail or err.code}" if err.oid else f"Error: {err.detail or err.code}"
        )


def _shifted(obj: BoardObject, dx: int, dy: int) -> BoardObject:
    return dataclasses.replace(obj, points=tuple((x + dx, y + dy) for x, y in obj.points))
