"""The board painted straight into the canvas's view at the view's scale, while the board-resolution
surface is still being repainted (a late join, a clear of a big board).

Painting 100,000 objects at board resolution takes seconds of frames; at join the view shows the whole
board at about half that resolution, where most strokes are a pixel or two wide. A :class:`Preview`
paints the objects, bottom first, onto the cached view itself, in one list comprehension and one
``pygame.draw.lines`` call per stroke (round joins stamped with ``fblits`` where a stroke is wider
than two pixels), spread over frames by a budget of its own, so the user sees the whole board long
before the board surface is complete (which waits for the preview). The canvas then rebuilds the
view from that surface as usual.

A change that arrives meanwhile is painted at once: its region of the view is cleared and every object
the index finds there painted again, clipped (:meth:`Preview.repaint`). While the preview is not
complete, the objects it paints later would cover such a region, so a copy of the region (a patch) is
put back after each step: a change only alters its own region, so the patches, oldest first, hold
what the view must show there.
"""

from __future__ import annotations

import dataclasses
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate, islice
from math import dist

import pygame

from pgboard import geometry, render
from pgboard.board import Board
from pgboard.points import Points
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject
from pgboard.viewport import ViewKey

BOARD_BG = (255, 255, 255)
OUTSIDE_BG = (200, 202, 206)
# Work a preview does per frame: points of strokes, and what a shape or a text costs in points (a text
# is rendered at its screen size: tens of microseconds). About 25-30 ms per frame here.
PREVIEW_BUDGET = 100_000
SHAPE_WORK = 40
TEXT_WORK = 150
# A stroke's line costs per screen pixel of its length too (pygame.draw.lines, more when wide): one unit
# per LINE_PIXELS pixels of length times (1 + width / 16), so that a 5,000-point zigzag across the view
# 26 pixels wide (~75 ms, measured) counts ~280,000 units and is painted in parts over frames, not
# twenty of them in one frame because each counted its points only.
LINE_PIXELS = 32
MAX_PATCHES = 64  # separate regions repainted during an incomplete preview beyond which it gives up

Shown = Callable[[BoardObject], bool]  # still on the board as it was, and not floating
BoxOf = Callable[[BoardObject], geometry.Box]  # what an object paints (board units)


def work(obj: BoardObject) -> int:
    """What painting ``obj`` at screen scale costs, in the units of PREVIEW_BUDGET."""
    if obj.kind in ("pencil", "line"):
        return len(obj.points) + 1
    return TEXT_WORK if obj.kind == "text" else SHAPE_WORK


class ScreenPainter:
    """Paints objects at screen scale, the board's origin at (``ox``, ``oy``) of the surface.

    A stroke's points are mapped (pygame truncates float coordinates) so that it lands where the view
    smoothscaled from the board surface shows it (measured: centred on ``offset + p * scale``); its
    width is rounded to whole pixels (a thin stroke shows darker than the smoothscaled view shows it).
    Board points are whole units inside the board (the codec and the board's moves check it), so a
    coordinate is mapped by looking it up in a table: half the cost of the arithmetic."""

    def __init__(self, scale: float, ox: float, oy: float, texts: render.TextCache) -> None:
        self.scale, self.ox, self.oy, self.texts = scale, ox, oy, texts
        self._tables: dict[float, tuple[list[float], list[float]]] = {}

    def _table(self, shift: float) -> tuple[list[float], list[float]]:
        found = self._tables.get(shift)
        if found is None:
            s, cx, cy = self.scale, self.ox + shift, self.oy + shift
            found = ([cx + x * s for x in range(BOARD_W + 1)], [cy + y * s for y in range(BOARD_H + 1)])
            self._tables[shift] = found
        return found

    def paint(self, surf: pygame.Surface, obj: BoardObject) -> None:
        scale = self.scale
        if obj.kind not in ("pencil", "line"):
            render.draw_object(surf, render.mapped(obj, scale, self.ox, self.oy), self.texts)
            return
        width = max(1, round(obj.width * scale))
        # pygame draws a line ``width`` thick from (width - 1) // 2 pixels before its truncated
        # coordinate: shifted so that its pixels are centred where the smoothscaled view centres it
        shift = (width - 1) // 2 + 0.5 - width / 2
        xs, ys = self._table(shift)
        points = obj.points
        try:
            if type(points) is Points:  # packed: mapped in C loops
                c = points.coords
                pts = list(zip(map(xs.__getitem__, c[0::2]), map(ys.__getitem__, c[1::2]), strict=True))
            else:
                pts = [(xs[x], ys[y]) for x, y in points]
        except IndexError:  # not a board point after all: mapped by arithmetic (off the view)
            pts = [(xs[0] + x * scale, ys[0] + y * scale) for x, y in obj.points]
        color = render.parse_color(obj.color)
        if len(pts) > 1:
            pygame.draw.lines(surf, color, False, pts, width)
        if width > render.THIN_WIDTH or len(pts) == 1:
            sprite, off = render.joint_sprite(color, width)
            surf.fblits([(sprite, (x + off, y + off)) for x, y in pts])


class Preview:
    """The objects of ``objects`` (bottom first) painted onto ``view``, the part of the board that
    ``key`` (a Viewport's key: rect x, y, w, h, scale, ox, oy) shows, over the frames."""

    def __init__(
        self,
        view: pygame.Surface,
        key: ViewKey,
        objects: Sequence[BoardObject],
        texts: render.TextCache,
        shown: Shown,
        box_of: BoxOf,
    ) -> None:
        """``shown``: whether an object is still to be painted (not changed or gone since the preview
        began: a change's region is repainted instead); ``box_of``: what an object paints, to skip
        those the view does not show when zoomed in."""
        self.key = key
        self._shown, self._box_of = shown, box_of
        self.scale = key.scale
        self.ox, self.oy = key.ox - key.x, key.oy - key.y  # the board's origin in the view
        self.painter = ScreenPainter(self.scale, self.ox, self.oy, texts)
        self._objects = objects
        self._at = 0
        self._part = 0  # the next point of objects[_at], a long stroke painted in parts
        self._patches: list[tuple[pygame.Rect, pygame.Surface]] = []
        board = self._board = self.view_rect((0, 0, BOARD_W, BOARD_H))
        self._visible = self.board_box(view.get_rect())
        self._cull = self._visible != (0, 0, BOARD_W, BOARD_H)  # zoomed in: skip what is not shown
        view.fill(OUTSIDE_BG)
        view.fill(BOARD_BG, board)
        self.stats = {"objects_painted": 0, "regions_repainted": 0}

    @classmethod
    def of_board(
        cls,
        view: pygame.Surface,
        key: ViewKey,
        board: Board,
        floating: Mapping[str, BoardObject],
        texts: render.TextCache,
    ) -> Preview:
        """A preview of ``board`` as it is now, ``floating`` objects left out (drawn above the view)."""
        current = board.objects
        measured = board.grid.box if board.text_box == texts.box else None

        def shown(obj: BoardObject) -> bool:  # not changed, gone or floating since the preview began
            return current.get(obj.id) is obj and obj.id not in floating

        def box_of(obj: BoardObject) -> geometry.Box:
            box = measured(obj.id) if measured else None
            return box if box is not None else render.painted_box(obj, texts)

        objects = [obj for obj in current.values() if obj.id not in floating]
        return cls(view, key, objects, texts, shown, box_of)

    @property
    def complete(self) -> bool:
        return self._at >= len(self._objects)

    def view_rect(self, box: geometry.Box) -> pygame.Rect:
        """The view pixels a board box covers (rounded outwards)."""
        s = self.scale
        x0, y0 = int(self.ox + box[0] * s), int(self.oy + box[1] * s)
        x1, y1 = -int(-(self.ox + box[2] * s)), -int(-(self.oy + box[3] * s))
        return pygame.Rect(x0, y0, x1 - x0, y1 - y0)

    def board_box(self, rect: pygame.Rect) -> geometry.Box:
        """The board units a view rect shows (rounded outwards, clamped to the board)."""
        s = self.scale
        x0, y0 = (rect.x - self.ox) / s, (rect.y - self.oy) / s
        x1, y1 = (rect.right - self.ox) / s, (rect.bottom - self.oy) / s
        return (max(int(x0), 0), max(int(y0), 0), min(-int(-x1), BOARD_W), min(-int(-y1), BOARD_H))

    def _stroke_part(self, obj: BoardObject, start: int, left: float) -> tuple[int, float]:
        """How far to paint a stroke from ``points[start]`` for about ``left`` work (one segment at
        least): (end, work), its length counted (LINE_PIXELS) in C: the lengths, summed up, searched."""
        pts = obj.points
        per = self.scale * (1 + max(1, round(obj.width * self.scale)) / 16) / LINE_PIXELS
        lengths = list(accumulate(map(dist, islice(pts, start + 1, None), islice(pts, start, None))))
        total = len(lengths) + lengths[-1] * per + 1
        if total <= left:
            return len(pts) - 1, total
        k = max(1, bisect_right(range(1, len(lengths) + 1), left, key=lambda k: k + lengths[k - 1] * per))
        return start + k, k + lengths[k - 1] * per

    def cost(self, obj: BoardObject) -> float:
        """What painting ``obj`` whole at this scale costs, in the units of PREVIEW_BUDGET."""
        if obj.kind in ("pencil", "line") and len(obj.points) > 1:
            return self._stroke_part(obj, 0, math.inf)[1]
        return work(obj)

    def step(self, view: pygame.Surface, budget: float) -> None:
        """Paint the next objects, about ``budget`` work of them (a long stroke in parts)."""
        objects, i, paint = self._objects, self._at, self.painter.paint
        shown, box_of = self._shown, self._box_of
        vx0, vy0, vx1, vy1 = self._visible
        cull = self._cull
        spent, painted = 0.0, 0
        old_clip = view.get_clip()
        view.set_clip(self._board)  # what lies over the board's edge is not shown
        while i < len(objects) and spent < budget:
            obj = objects[i]
            if not shown(obj):
                i, self._part = i + 1, 0
                continue
            if cull:
                box = box_of(obj)
                if not (box[0] < vx1 and vx0 < box[2] and box[1] < vy1 and vy0 < box[3]):
                    spent += 1
                    i, self._part = i + 1, 0
                    continue
            if obj.kind in ("pencil", "line") and len(obj.points) > 1:
                start = self._part
                end, cost = self._stroke_part(obj, start, budget - spent)
                last = end >= len(obj.points) - 1
                paint(
                    view,
                    obj
                    if not start and last
                    else dataclasses.replace(obj, points=obj.points[start : end + 1]),
                )
                spent += cost
                if not last:
                    self._part = end
                    continue
            else:
                paint(view, obj)
                spent += work(obj)
            i, self._part = i + 1, 0
            painted += 1
        view.set_clip(old_clip)
        self._at = i
        self.stats["objects_painted"] += painted
        if painted:
            for rect, patch in self._patches:  # what changed meanwhile lies above all that
                view.blit(patch, rect)
        if self.complete:
            self._patches = []

    def repaint(self, view: pygame.Surface, box: geometry.Box, objects: Sequence[BoardObject]) -> None:
        """Show a change at once: clear the view over ``box`` (board units) and paint ``objects`` (all
        that meet it, bottom first) clipped to it."""
        rect = self.view_rect(box).clip(self._board).clip(view.get_rect())
        if not rect.w or not rect.h:
            return
        old = view.get_clip()
        view.set_clip(rect)
        try:
            view.fill(BOARD_BG, rect)
            for obj in objects:
                self.painter.paint(view, obj)
        finally:
            view.set_clip(old)
        self.stats["regions_repainted"] += 1
        if self.complete:
            return
        # a patch this one covers is stale: a growing stroke keeps one patch, not one per segment
        self._patches = [(r, p) for r, p in self._patches if not rect.contains(r)]
        self._patches.append((rect, view.subsurface(rect).copy()))

    @property
    def crowded(self) -> bool:
        """So many changes came in that putting their patches back each step costs too much."""
        return len(self._patches) > MAX_PATCHES
