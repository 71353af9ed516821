"""The time-lapse's replay model: a room's log, fetched in pages, replayed into a board of its own.

Pure (no pygame, no socket, no clock of its own): the app's view (pgboard/timeline_view.py) hands it
the server's ``history_*`` messages (:meth:`Timeline.receive`), asks it what to send
(:meth:`Timeline.request`), and moves it on each frame with the scheduler's time (:meth:`Timeline.tick`).
The board it replays into (``board``) is never the live board: the live board stays live underneath.

Playing moves a wanted position (``target``) at ``BASE_RATE`` operations a second times the speed
(1x-64x); each tick applies at most ``REPLAY_BUDGET`` work of operations towards it (points, as the
live path counts them), so a jump to the end of a long log is spread over frames. A jump back starts
from the nearest kept board (a checkpoint every ``CHECKPOINT_EVERY`` operations, at most
``MAX_CHECKPOINT_REFS`` object references kept over all of them) instead of replaying from the start.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pgboard.board import MAX_OBJECTS, Board
from pgboard.geometry import Box
from pgboard.protocol import Add, BoardObject, Clear, Extend, Message, Operation
from pgboard.protocol_history import (
    MAX_HISTORY_PAGE,
    History,
    HistoryEnd,
    HistoryError,
    HistoryObj,
    HistoryOp,
    HistoryPage,
)

BASE_RATE = 30.0  # operations a second at 1x: about a pencil stroke's extends drawn live (~60 a s) halved
SPEEDS = (1, 2, 4, 8, 16, 32, 64)
REPLAY_BUDGET = 10_000  # work (points, 8 an operation) applied in one frame: the live path's LIVE_BUDGET
OP_WORK = 8
CHECKPOINT_EVERY = 500  # operations between two kept boards: a jump back replays at most this many
MAX_CHECKPOINT_REFS = 2_000_000  # object references all checkpoints keep (8 bytes each: 16 MB); past
# it every other checkpoint is dropped (the objects are shared with the board: frozen, never copied)
MAX_TIMELINE_OPS = 500_000  # operations kept in memory (~1 KB each with points: ~0.5 GB at most is
# too much for a viewer; the server's log is compacted far below this for any real board)
FRAME = 1 / 60  # seconds: how soon a playing timeline wants the next frame


@dataclass
class Fetch:
    """Where the fetching stands: the next ``start`` to ask, a page under way, a retry time."""

    start: int = 0
    waiting: bool = False
    retry_at: float = 0.0
    complete: bool = False
    error: str = ""
    in_page: bool = False


class Timeline:
    """One replay of a room's log (see the module's docstring)."""

    def __init__(
        self,
        *,
        base: list[BoardObject] | None = None,
        base_seq: int = 0,
        end_seq: int | None = None,
        text_box: Callable[[BoardObject], Box] | None = None,
    ) -> None:
        """A replay from the empty board (asks the server from 0: it may answer with a compacted
        base), or from ``base`` at ``base_seq`` (a board the client had: what you missed), up to
        ``end_seq`` when given (else the room's seq when the first page came)."""
        self.board = Board(text_box=text_box) if text_box is not None else Board()
        self.base: list[BoardObject] = list(base or [])
        self.base_seq = base_seq
        self.end_seq = end_seq
        self.head = end_seq  # the room's seq as the last page said (the end of what is replayed)
        self.ops: list[Operation] = []
        self.position = 0  # operations of ``ops`` applied to ``board``
        self.target = 0.0  # where playing wants ``position`` to be
        self.playing = False
        self.speed = 1
        self.skipped = 0  # operations the server left out (too big to wrap)
        self.fetch = Fetch(start=base_seq + 1 if base is not None else 0)
        self._checkpoints: dict[int, list[BoardObject]] = {}
        self._last: float | None = None
        self.stats = {"applied": 0, "restored": 0}
        self._reset_board()

    # -- what it knows

    @property
    def total(self) -> int:
        """Operations in the replay: all the range's once known, else those fetched so far."""
        if self.head is None:
            return len(self.ops)
        return max(len(self.ops), min(self.head - self.base_seq, MAX_TIMELINE_OPS))

    @property
    def seq(self) -> int:
        """The room's seq the shown board is at."""
        return self.ops[self.position - 1].seq if self.position else self.base_seq

    @property
    def at_end(self) -> bool:
        return self.fetch.complete and self.position >= len(self.ops)

    @property
    def busy(self) -> bool:
        """Work waits: the board is behind where it should be, or playing moves it on."""
        return self.position != min(int(self.target), len(self.ops)) or (self.playing and not self.at_end)

    def next_change(self, now: float) -> float | None:
        """When the view next changes by itself (the sleeping frame loop's wake-up), None: never."""
        if self.busy:
            return now + FRAME
        if self.fetch.retry_at and not self.fetch.waiting:
            return self.fetch.retry_at
        return None

    # -- fetching (the server's history pages)

    def request(self, now: float) -> History | None:
        """The next ``history`` to send, or None (a page under way, all fetched, a retry not due)."""
        f = self.fetch
        if f.waiting or f.complete or f.error or now < f.retry_at or len(self.ops) >= MAX_TIMELINE_OPS:
            return None
        limit = MAX_HISTORY_PAGE
        if self.head is not None:
            limit = max(1, min(limit, self.head - (f.start - 1 if f.start else self.base_seq)))
        f.waiting, f.retry_at = True, 0.0
        return History(start=f.start, limit=limit)

    def receive(self, msg: Message, now: float) -> None:
        f = self.fetch
        if isinstance(msg, HistoryPage):
            f.in_page = True
            if self.head is None or self.end_seq is None:
                self.head = msg.head
            if msg.base and (f.start == 0 or msg.base != self.base_seq):
                self._rebase(msg.base)  # the log before it is compacted away: replay starts there
            elif f.start == 0:
                self.base_seq = msg.start - 1
        elif isinstance(msg, HistoryObj) and f.in_page:
            if len(self.base) < MAX_OBJECTS:  # a base is a board: no more than a board holds
                self.base.append(msg.obj)
        elif isinstance(msg, HistoryOp) and f.in_page:
            if self._base_dirty:
                self._reset_board()  # the base came whole before the page's first operation
            op = msg.op
            if self.head is not None and op.seq > self.head:
                return  # past the range asked (what you missed ends where the catch-up did)
            if (not self.ops or op.seq > self.ops[-1].seq) and len(self.ops) < MAX_TIMELINE_OPS:
                self.ops.append(op)
        elif isinstance(msg, HistoryEnd) and f.in_page:
            f.in_page = f.waiting = False
            if self._base_dirty:
                self._reset_board()
            if msg.moved:
                f.start = 0  # the snapshot it sent was replaced: everything again from the new one
                self.ops.clear()
                self.base = []
                self._reset_board()
                return
            self.skipped += msg.skipped
            f.start = msg.end + 1
            if self.head is not None and msg.end >= self.head or len(self.ops) >= MAX_TIMELINE_OPS:
                f.complete = True
        elif isinstance(msg, HistoryError):
            f.in_page = f.waiting = False
            if msg.code == "rate_limited":
                f.retry_at = now + max(msg.retry, 0.05)
            else:
                f.error = msg.detail or msg.code

    def _rebase(self, base_seq: int) -> None:
        self.base_seq = base_seq
        self.base = []
        self.ops.clear()
        self.position = 0
        self.target = 0.0
        self._base_dirty = True

    def _reset_board(self) -> None:
        self._base_dirty = False
        self.board.load(self.base, self.base_seq)
        self.position = 0
        self._checkpoints = {0: list(self.base)}

    # -- playing

    def play(self, now: float) -> None:
        if self.at_end:
            self.seek(0)
        self.playing, self._last = True, now

    def pause(self) -> None:
        self.playing = False

    def toggle(self, now: float) -> None:
        self.pause() if self.playing else self.play(now)

    def set_speed(self, speed: int) -> None:
        self.speed = min(SPEEDS, key=lambda s: abs(s - speed))

    def faster(self, step: int = 1) -> None:
        i = SPEEDS.index(self.speed) + step
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, i))]

    def seek(self, index: float) -> None:
        """Show the board after ``index`` operations (what the scrubber asks; clamped)."""
        self.target = max(0.0, min(float(index), float(len(self.ops))))

    def seek_fraction(self, fraction: float) -> None:
        self.seek(round(max(0.0, min(1.0, fraction)) * self.total))

    def tick(self, now: float, budget: float = REPLAY_BUDGET) -> int:
        """Move on by the time since the last tick when playing, then apply about ``budget`` work
        towards ``target``. Returns the operations applied (or undone by a jump back)."""
        if self.playing and self._last is not None:
            self.target = min(self.target + (now - self._last) * BASE_RATE * self.speed, float(len(self.ops)))
            if self.target >= len(self.ops) and self.fetch.complete:
                self.playing = False
        self._last = now
        want = min(int(self.target), len(self.ops))
        if want < self.position:
            self._restore(want)
        done = spent = 0
        while self.position < want and (not done or spent < budget):
            op = self.ops[self.position]
            spent += _work(op)
            self.board.apply_echo(op)
            self.position += 1
            done += 1
            if self.position % CHECKPOINT_EVERY == 0 and self.position not in self._checkpoints:
                self._keep(self.position)
        self.stats["applied"] += done
        return done

    def run_to(self, index: int) -> None:
        """Apply everything up to ``index`` now, whatever it costs (tests and the headless export)."""
        self.seek(index)
        while self.position != min(int(self.target), len(self.ops)):
            self.tick(self._last if self._last is not None else 0.0, budget=math.inf)

    def _restore(self, want: int) -> None:
        at = max(p for p in self._checkpoints if p <= want)
        self.board.load(self._checkpoints[at], self.ops[at - 1].seq if at else self.base_seq)
        self.position = at
        self.stats["restored"] += 1

    def _keep(self, position: int) -> None:
        self._checkpoints[position] = self.board.snapshot()
        if sum(len(c) for c in self._checkpoints.values()) > MAX_CHECKPOINT_REFS:
            kept = sorted(self._checkpoints)
            for p in kept[1::2]:  # every other one goes (0, the base, always stays)
                del self._checkpoints[p]


def _work(op: Operation) -> int:
    if isinstance(op, Add):
        return OP_WORK + len(op.obj.points)
    if isinstance(op, Extend):
        return OP_WORK + len(op.points)
    if isinstance(op, Clear):
        return OP_WORK + len(op.removed)
    return OP_WORK
