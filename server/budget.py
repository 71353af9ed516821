"""A room's budget: the points and bytes its board may hold, counted as the board changes.

The object count alone (MAX_OBJECTS) does not bound a board: one object may carry 5,000 points or
2,000 characters. ``BudgetMeter`` listens to the room's Board (``object_changed``, ``board_reset``) and
keeps the totals; ``growth`` says what an operation would add before the board applies it, so an add,
an extend, an undo or a redo that would pass the budget is refused with ``board_full`` and changes
nothing. What a board's totals cost in memory is measured in tests/test_server_budget.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgboard.board import Board
from pgboard.protocol import Add, Batch, BoardObject, Extend, Redo, Undo

# A board's bytes: what its objects weigh packed (two 16-bit coordinates a point, the text's UTF-8, a
# fixed share for the id, kind, colour and author). The UTF-8 length is at least what a Python string
# of that text holds per character, so the byte budget bounds text in memory as well as on the wire.
POINT_BYTES = 4
OBJECT_BYTES = 128


def object_bytes(obj: BoardObject) -> int:
    text = len(obj.text.encode("utf-8", "surrogatepass")) if obj.text else 0
    return OBJECT_BYTES + POINT_BYTES * len(obj.points) + text


@dataclass(frozen=True)
class RoomBudget:
    """What one room may keep (server/limits.py names the defaults and their reasons)."""

    max_points: int
    max_bytes: int
    compact_factor: float
    compact_min_bytes: int
    chat_kept: int


class BudgetMeter:
    """The points and bytes now on one board (a BoardListener; attach with :meth:`watch`)."""

    def __init__(self) -> None:
        self.points = 0
        self.bytes = 0
        self._board: Board | None = None

    def watch(self, board: Board) -> None:
        if self._board is not None and self in self._board.listeners:
            self._board.listeners.remove(self)
        self._board = board
        board.listeners.append(self)
        self.board_reset()

    def object_changed(self, old: BoardObject | None, new: BoardObject | None, _box: object = None) -> None:
        if old is not None:
            self.points -= len(old.points)
            self.bytes -= object_bytes(old)
        if new is not None:
            self.points += len(new.points)
            self.bytes += object_bytes(new)

    def board_reset(self) -> None:
        objects = self._board.objects.values() if self._board is not None else ()
        self.points = sum(len(o.points) for o in objects)
        self.bytes = sum(object_bytes(o) for o in objects)


def growth(board: Board, op: object, author: str) -> tuple[int, int]:
    """(points, bytes) the board would gain from ``op``; (0, 0) for what never grows it (move, delete,
    clear) or what the board refuses anyway (checked by ``Board.apply`` after this)."""
    if isinstance(op, Add):
        return len(op.obj.points), object_bytes(op.obj)
    if isinstance(op, Extend):
        return len(op.points), POINT_BYTES * len(op.points)
    if isinstance(op, Batch):  # what it puts less what it removes (checked whole by Board.apply after)
        erased = [o for o in map(board.objects.get, set(op.removed)) if o is not None]
        points = sum(len(o.points) for o in op.put) - sum(len(o.points) for o in erased)
        return points, sum(map(object_bytes, op.put)) - sum(map(object_bytes, erased))
    if isinstance(op, (Undo, Redo)):
        # what the step would put back minus what it replaces (the board's own answer, not applied)
        echo = board._undo_redo_echo(op, author)  # noqa: SLF001 - a read-only look at the next step
        points = size = 0
        for obj in echo.put:
            now = board.objects.get(obj.id)
            points += len(obj.points) - (len(now.points) if now else 0)
            size += object_bytes(obj) - (object_bytes(now) if now else 0)
        for oid in echo.removed:
            gone = board.objects.get(oid)
            if gone is not None and all(o.id != oid for o in echo.put):
                points -= len(gone.points)
                size -= object_bytes(gone)
        return points, size
    return 0, 0
