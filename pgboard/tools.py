"""Drawing tools: pointer and key events in, protocol operations out.

Each tool gets events in BOARD coordinates (the app converts screen positions through the viewport)
and emits operations through a :class:`ToolContext`; it never touches the socket. The app queues what
is emitted to the connection and applies it to the board at once (optimistic drawing), calls
:meth:`Tool.flush` once per frame, and draws :meth:`Tool.preview`, :meth:`Tool.caret` and
:meth:`Tool.selection` in the canvas overlay.

The tools of the original whiteboard: pencil, line, rect, oval, circle, square, text, eraser and drag.
:data:`pgboard.tooltable.TOOLS` lists them with their key, icon, hint and class (the one table).
The API they share is in pgboard/tool_base.py and the text tool in pgboard/text_tool.py; this module
re-exports both, so every tool class is imported from here.
"""

from __future__ import annotations

import math
from typing import ClassVar

import pygame

from pgboard.protocol import BOARD_H, BOARD_W, MAX_POINTS, Add, BoardObject, Delete, Extend, Move
from pgboard.text_tool import TextTool, cluster_after, cluster_before
from pgboard.tool_base import (
    PREVIEW_ID,
    TEXT_SIZE,
    Point,
    Tool,
    ToolContext,
    clamp_point,
    id_maker,
    shift_held,
)

__all__ = [
    "PREVIEW_ID",
    "TEXT_SIZE",
    "DragTool",
    "EraserTool",
    "LaserTool",
    "PencilTool",
    "Point",
    "ShapeTool",
    "TextTool",
    "Tool",
    "ToolContext",
    "clamp_point",
    "cluster_after",
    "cluster_before",
    "constrain_angle",
    "constrain_square",
    "id_maker",
]

HIT_TOLERANCE = 4  # board units around a stroke that still count as touching it (drag)
ERASER_MIN_RADIUS = 6  # board units; the eraser's radius is this plus the stroke width
ERASER_STEP = 0.5  # a fast eraser stroke is sampled every this many radii so nothing is skipped
ERASER_COLOR = "#888888"


class PencilTool(Tool):
    """Freehand: Add with the first point on press, then one Extend per frame with the new points."""

    name = "pencil"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.stroke_id = ""
        self.count = 0  # points in the stroke so far (sent or pending)
        self.last: Point | None = None
        self.pending: list[Point] = []

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        self.cancel()
        self._start(pos)

    def _start(self, pos: Point) -> None:
        self.stroke_id = self.ctx.new_id()
        obj = BoardObject(self.stroke_id, "pencil", (pos,), self.ctx.wire_color(), self.ctx.stroke_width())
        self.ctx.emit(Add(oid=self.ctx.new_oid(), obj=obj))
        self.count, self.last, self.pending = 1, pos, []

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        if not self.stroke_id or pos == self.last:
            return
        if self.count >= MAX_POINTS:  # the stroke is full: go on as a new stroke from here
            last = self.last
            self.flush()
            assert last is not None
            self._start(last)
        self.pending.append(pos)
        self.count += 1
        self.last = pos

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        if not self.stroke_id:
            return
        self.pointer_move(pos, mods)
        self.cancel()

    def flush(self) -> None:
        if self.stroke_id and self.pending:
            self.ctx.emit(Extend(oid=self.ctx.new_oid(), id=self.stroke_id, points=tuple(self.pending)))
            self.pending = []

    def cancel(self) -> None:
        """End the stroke: what was drawn stays (it is on the board already)."""
        self.flush()
        self.stroke_id, self.count, self.last = "", 0, None


def _direction_room(start: Point, ux: int, uy: int) -> float:
    """How far one can go from ``start`` in direction (ux, uy) (each -1, 0 or 1) staying on the board."""
    room = math.inf
    if ux:
        room = min(room, BOARD_W - start[0] if ux > 0 else start[0])
    if uy:
        room = min(room, BOARD_H - start[1] if uy > 0 else start[1])
    return room


def constrain_angle(start: Point, end: Point) -> Point:
    """``end`` moved onto the nearest 45-degree ray from ``start`` (and kept on the board)."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    if dx == 0 and dy == 0:
        return end
    octant = round(math.atan2(dy, dx) / (math.pi / 4)) % 8
    ux, uy = ((1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1))[octant]
    length = (abs(dx) + abs(dy)) / 2 if ux and uy else abs(dx if ux else dy)
    t = int(min(round(length), _direction_room(start, ux, uy)))
    return (start[0] + ux * t, start[1] + uy * t)


def constrain_square(start: Point, end: Point) -> Point:
    """The far corner of the square box from ``start`` towards ``end`` (side: the larger distance),
    shrunk to stay on the board. The corner equals what geometry.shape_box draws for a square."""
    dx, dy = end[0] - start[0], end[1] - start[1]
    ux, uy = (1 if dx >= 0 else -1), (1 if dy >= 0 else -1)
    side = int(min(max(abs(dx), abs(dy)), _direction_room(start, ux, uy)))
    return (start[0] + ux * side, start[1] + uy * side)


class ShapeTool(Tool):
    """Line, rect, oval, circle and square: press at one corner, drag, release to add.

    Shift keeps a line at 45-degree steps and a rect or oval square. A click without a drag adds
    nothing. Circle and square always take a square box, whose far corner is what is sent.
    """

    kinds: ClassVar[tuple[str, ...]] = ("line", "rect", "oval", "circle", "square")

    def __init__(self, ctx: ToolContext, kind: str = "line") -> None:
        super().__init__(ctx)
        if kind not in self.kinds:
            raise ValueError(f"not a shape: {kind}")
        self.kind = kind
        self.name = kind  # type: ignore[misc]
        self.start: Point | None = None
        self.end: Point | None = None
        self.raw: Point | None = None  # where the pointer is (end is it, constrained)

    def _constrained(self, pos: Point, mods: int) -> Point:
        assert self.start is not None
        if self.kind in ("circle", "square") or (self.kind in ("rect", "oval") and shift_held(mods)):
            return constrain_square(self.start, pos)
        if self.kind == "line" and shift_held(mods):
            return constrain_angle(self.start, pos)
        return pos

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        self.start = self.end = self.raw = pos

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        if self.start is not None:
            self.raw = pos
            self.end = self._constrained(pos, mods)

    def key_down(self, key: int, mod: int = 0) -> bool:
        if self.start is None:
            return False
        if key == pygame.K_ESCAPE:
            self.cancel()
            return True
        if key in (pygame.K_LSHIFT, pygame.K_RSHIFT) and self.raw is not None:
            self.end = self._constrained(self.raw, mod | pygame.KMOD_SHIFT)  # constrain without a move
            return True
        return False

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        if self.start is None:
            return
        self.end = self._constrained(pos, mods)
        if self._object(PREVIEW_ID) is not None:
            obj = self._object(self.ctx.new_id())
            assert obj is not None
            self.ctx.emit(Add(oid=self.ctx.new_oid(), obj=obj))
        self.cancel()

    def _object(self, oid: str) -> BoardObject | None:
        if self.start is None or self.end is None or self.start == self.end:
            return None
        return BoardObject(
            oid, self.kind, (self.start, self.end), self.ctx.wire_color(), self.ctx.stroke_width()
        )

    def cancel(self) -> None:
        self.start = self.end = self.raw = None

    def preview(self) -> list[BoardObject]:
        obj = self._object(PREVIEW_ID)
        return [obj] if obj is not None else []


class EraserTool(Tool):
    """While held, every object it touches that the user may edit gets one Delete."""

    name = "eraser"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.down = False
        self.last: Point | None = None
        self.hover: Point | None = None
        self.erased: set[str] = set()
        self.told = False  # this stroke touched an object the user may not erase, and was told

    def radius(self) -> float:
        return ERASER_MIN_RADIUS + self.ctx.stroke_width()

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        self.down, self.last, self.hover, self.erased, self.told = True, pos, pos, set(), False
        self._erase_at(pos)

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        self.hover = pos
        if not self.down or self.last is None:
            return
        (x0, y0), r = self.last, self.radius()
        steps = max(1, math.ceil(math.dist(self.last, pos) / (r * ERASER_STEP)))
        for i in range(1, steps + 1):
            self._erase_at((x0 + (pos[0] - x0) * i / steps, y0 + (pos[1] - y0) * i / steps))
        self.last = pos

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        if self.down:
            self.pointer_move(pos, mods)
        self.cancel()

    def _erase_at(self, p: tuple[float, float]) -> None:
        for obj in self.ctx.board.hit(p[0], p[1], self.radius()):
            if obj.id not in self.erased and self.ctx.may_edit(obj):
                self.erased.add(obj.id)
                self.ctx.emit(Delete(oid=self.ctx.new_oid(), id=obj.id))
            elif not self.told and obj.id not in self.erased:
                self.told = True  # once a stroke: the eraser passes over many objects
                self.ctx.refused(obj, "erase")

    def cancel(self) -> None:
        self.down, self.last = False, None

    def preview(self) -> list[BoardObject]:
        if self.hover is None:
            return []
        r = round(self.radius())
        x, y = self.hover
        return [BoardObject(PREVIEW_ID, "circle", ((x - r, y - r), (x + r, y + r)), ERASER_COLOR, 1)]


class DragTool(Tool):
    """Press on an object you may edit and move it: live Moves (one per frame), a final Move on release.

    Offsets are clamped so every point stays on the board (the server refuses moves off it). Esc while
    dragging puts the object back.
    """

    name = "drag"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.target: BoardObject | None = None  # the object as it was when the drag began
        self.start: Point = (0, 0)
        self.offset: Point = (0, 0)  # wanted, clamped
        self.sent: Point = (0, 0)  # already emitted
        self.hover: Point | None = None

    def _pick(self, pos: Point) -> BoardObject | None:
        for obj in self.ctx.board.hit(pos[0], pos[1], HIT_TOLERANCE):
            if self.ctx.may_edit(obj):
                return obj
        return None

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        self.cancel()
        self.target = self._pick(pos)
        if self.target is None and (hit := self.ctx.board.hit(pos[0], pos[1], HIT_TOLERANCE)):
            self.ctx.refused(hit[0], "move")
        self.start, self.offset, self.sent, self.hover = pos, (0, 0), (0, 0), pos

    def _clamped(self, pos: Point) -> Point:
        assert self.target is not None
        xs = [p[0] for p in self.target.points]
        ys = [p[1] for p in self.target.points]
        dx = min(max(pos[0] - self.start[0], -min(xs)), BOARD_W - max(xs))
        dy = min(max(pos[1] - self.start[1], -min(ys)), BOARD_H - max(ys))
        return (dx, dy)

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        self.hover = pos
        if self.target is not None:
            self.offset = self._clamped(pos)

    def _send(self, live: bool) -> None:
        assert self.target is not None
        dx, dy = self.offset[0] - self.sent[0], self.offset[1] - self.sent[1]
        if (dx or dy) or (not live and self.sent != (0, 0)):
            self.ctx.emit(Move(oid=self.ctx.new_oid(), id=self.target.id, dx=dx, dy=dy, live=live))
            self.sent = self.offset

    def flush(self) -> None:
        if self.target is None:
            return
        if self.ctx.board.get(self.target.id) is None:  # erased under us (by someone else)
            self.target = None
            return
        self._send(live=True)

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        if self.target is None:
            return
        self.offset = self._clamped(pos)
        if self.ctx.board.get(self.target.id) is not None:
            self._send(live=False)
        self.target = None

    def key_down(self, key: int, mod: int = 0) -> bool:
        if key == pygame.K_ESCAPE and self.target is not None:
            self.cancel()
            return True
        return False

    def cancel(self) -> None:
        """Drop the drag; an object already moved goes back where it was."""
        if self.target is not None and self.ctx.board.get(self.target.id) is not None:
            self.offset = (0, 0)
            self._send(live=False)
        self.target = None

    def selection(self) -> list[BoardObject]:
        if self.target is not None:
            obj = self.ctx.board.get(self.target.id)
            return [obj] if obj is not None else []
        if self.hover is not None:
            obj = self._pick(self.hover)
            return [obj] if obj is not None else []
        return []


class LaserTool(Tool):
    """Hold the button and move: every member sees a fading trail in my colour (ctx.laser). Draws
    nothing on the board and sends no operation: the points travel as cursors marked laser."""

    name = "laser"
    edits = False

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.shining = False

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        self.shining = True
        self.ctx.laser(clamp_point(pos))

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        if self.shining:
            self.ctx.laser(clamp_point(pos))

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        self.shining = False

    def cancel(self) -> None:
        self.shining = False
