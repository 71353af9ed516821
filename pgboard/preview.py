"""A draft of the whole board, shown while the board surface is repainted over frames (a late join, a
clear of a big board).

Painting 100,000 objects exactly at board resolution takes seconds of frames. A :class:`Preview` paints
a draft of them first, bottom first, onto a scratch surface of the board's size, spread over frames by
a budget of its own: a stroke is one ``pygame.draw.lines`` call on its points as they are (the band of
render's painter without its round joins and corner quads, see render.BAND_EXTRA: at the view's usual
scale the difference is under a pixel), shapes and texts as the board paints them. The view is
rescaled from the draft while the preview lasts (pgboard/boardview.py's PreviewPhase makes it the
view's source), every VIEW_EVERY steps and when it is complete, so the user sees the whole board long
before the board surface is complete (which waits for the draft), at any zoom and pan. Nothing is done
point by point in Python (measured on the benchmark's 100,000-object board: ~3 s of drafting, plus
1.4 s for the strokes' longest steps, which the board surface's painting then reuses, where painting
the view at screen scale point by point, as this module did before, took ~5.4 s).

A change that arrives meanwhile is painted at once: its region of the draft is cleared and every object
the index finds there painted again, clipped (:meth:`Preview.repaint`), and the view rescaled there.
While the draft is not complete, the objects it paints later would cover such a region, so a copy of
the region (a patch) is put back after each step: a change only alters its own region, so the patches,
oldest first, hold what the draft must show there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from itertools import islice

import pygame

from pgboard import geometry, render
from pgboard.board import Board
from pgboard.paintjobs import STROKES, WHOLE
from pgboard.points import Points
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject

BOARD_BG = (255, 255, 255)
OUTSIDE_BG = (200, 202, 206)
# Work a preview does per frame, in units of about a third of a microsecond here (a point of an
# ordinary stroke's line, ~0.25 us, counts about one and a half): ~30-50 ms per frame.
PREVIEW_BUDGET = 120_000
SHAPE_WORK = 40  # a shape (an ellipse or a frame) at board size
TEXT_WORK = 150  # a text: laying it out ...
TEXT_PIXELS = 200  # ... and one unit per this many pixels of its box (rendered at ~1.4 ns a pixel)
# A stroke's segment costs one unit plus (1 + width / 16) per LINE_PIXELS units of its length
# (pygame.draw.lines fills a run ``width`` long per unit of length): counted for every segment as long
# as the stroke's longest step (Points.longest_step), so a zigzag across the board (5,000 points, 64
# wide: ~0.5 s of line drawing) is painted in parts over frames, and an ordinary stroke (steps of a few
# units) counts about 1.5 a point without a loop over its points.
LINE_PIXELS = 32
MAX_PATCHES = 64  # separate regions repainted during an incomplete preview beyond which it gives up
MAX_PATCH_PIXELS = 2 * BOARD_W * BOARD_H  # and the board pixels their copies may hold (4 bytes each)
# A stroke wider than this is drafted as the board paints it (round joins, quads where its diagonals
# would thin): its joins and caps show at the view's scale. Thinner ones are a line and two round caps.
DRAFT_WIDTH = 8
VIEW_EVERY = 4  # steps between two rescales of the view from the draft while it comes in (~20 ms each)

Shown = Callable[[BoardObject], bool]  # still on the board as it was, and not floating
BoxOf = Callable[[BoardObject], geometry.Box]  # what an object paints (board units)


def longest_step(points: Sequence[tuple[int, int]]) -> int:
    """A bound on every segment's |dx| + |dy|: computed once for packed points."""
    if type(points) is Points:
        return points.longest_step()
    pairs = zip(points, islice(points, 1, None), strict=False)  # each segment's two ends
    return max((abs(bx - ax) + abs(by - ay) for (ax, ay), (bx, by) in pairs), default=0)


def segment_work(obj: BoardObject) -> float:
    """What drafting one segment of the stroke ``obj`` costs at most, in PREVIEW_BUDGET's units."""
    return 1.0 + longest_step(obj.points) * (1 + (obj.width + render.BAND_EXTRA) / 16) / LINE_PIXELS


def work(obj: BoardObject, box: geometry.Box) -> float:
    """What drafting ``obj`` whole costs, in PREVIEW_BUDGET's units (``box``: what it paints)."""
    if obj.kind in STROKES and len(obj.points) > 1:
        return 1.0 + (len(obj.points) - 1) * segment_work(obj)
    if obj.kind == "text":
        return TEXT_WORK + max(0, box[2] - box[0]) * max(0, box[3] - box[1]) / TEXT_PIXELS
    return SHAPE_WORK


class Preview:
    """The objects of ``objects`` (bottom first) drafted onto :attr:`surface` over the frames."""

    def __init__(
        self, objects: Sequence[BoardObject], texts: render.TextCache, shown: Shown, box_of: BoxOf
    ) -> None:
        """``shown``: whether an object is still to be painted (not changed or gone since the preview
        began: a change's region is repainted instead); ``box_of``: what an object paints."""
        self.surface = pygame.Surface((BOARD_W, BOARD_H))
        self.surface.fill(BOARD_BG)
        self.texts = texts
        self._shown, self._box_of = shown, box_of
        self._objects = objects
        self._at = 0
        self._part = 0  # the next point of objects[_at], a long stroke painted in parts
        self._steps = 0
        self._patches: list[tuple[pygame.Rect, pygame.Surface]] = []
        self.damage: list[geometry.Box] = []  # board boxes drafted since the view last rescaled them
        self.stats = {"objects_painted": 0, "regions_repainted": 0}

    @classmethod
    def of_board(
        cls, board: Board, floating: Mapping[str, BoardObject], texts: render.TextCache
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
        return cls(objects, texts, shown, box_of)

    @property
    def complete(self) -> bool:
        return self._at >= len(self._objects)

    @property
    def crowded(self) -> bool:
        """So many changes came in that keeping and putting back their patches costs too much."""
        return (
            len(self._patches) > MAX_PATCHES
            or sum(r.w * r.h for r, _ in self._patches) > MAX_PATCH_PIXELS
        )

    def cost(self, obj: BoardObject) -> float:
        """What drafting ``obj`` whole costs, in the units of PREVIEW_BUDGET."""
        return work(obj, self._box_of(obj))

    def take_damage(self) -> list[geometry.Box]:
        damage, self.damage = self.damage, []
        return damage

    def _draft(self, obj: BoardObject, points: tuple[tuple[int, int], ...] | None = None) -> None:
        """Draft ``obj`` (a stroke's ``points``, when a part of them) on the draft surface."""
        if obj.kind not in STROKES or len(obj.points) < 2:
            render.draw_object(self.surface, obj, self.texts)
            return
        pts = obj.points if points is None else points
        if obj.width > DRAFT_WIDTH:  # its joins and caps would show: painted as the board paints it
            render.draw_object(self.surface, obj if points is None else replace(obj, points=pts), self.texts)
            return
        width, color = obj.width, render.parse_color(obj.color)
        try:
            line = list(pts) if type(pts) is Points else pts  # pairs made in C, as render's painter does
            if width <= render.THIN_WIDTH:
                pygame.draw.lines(self.surface, color, False, line, width)
                return
            pygame.draw.lines(self.surface, color, False, line, width + render.BAND_EXTRA)
            sprite, off = render.joint_sprite(color, width)  # round caps at both ends (of each part)
            self.surface.fblits([(sprite, (x + off, y + off)) for x, y in (line[0], line[-1])])
        except (pygame.error, MemoryError, ValueError, OverflowError, TypeError):
            render.draw_placeholder(self.surface, obj, self.texts)  # as render.draw_object would

    def step(self, budget: float) -> None:
        """Draft the next objects, about ``budget`` work of them (a long stroke in parts)."""
        objects, i, shown = self._objects, self._at, self._shown
        spent, painted = 0.0, 0
        while i < len(objects) and spent < budget:
            obj = objects[i]
            if not shown(obj):
                i, self._part = i + 1, 0
                continue
            if obj.kind in STROKES and len(obj.points) > 1:
                start, last = self._part, len(obj.points) - 1
                per = segment_work(obj)
                end = min(last, start + max(1, math.ceil((budget - spent) / per)))
                self._draft(obj, None if not start and end == last else obj.points[start : end + 1])
                spent += (end - start) * per + (1.0 if not start else 0.0)
                if end < last:
                    self._part = end
                    continue
            else:
                spent += self.cost(obj)
                self._draft(obj)
            i, self._part = i + 1, 0
            painted += 1
        self._at = i
        self._steps += 1
        self.stats["objects_painted"] += painted
        if painted:
            for rect, patch in self._patches:  # what changed meanwhile lies above all that
                self.surface.blit(patch, rect)
        if self.complete:
            self._patches = []
        if painted and (self.complete or not self._steps % VIEW_EVERY):
            self.damage.append(WHOLE)  # once complete, only the changes repainted are rescaled

    def repaint(self, box: geometry.Box, objects: Sequence[BoardObject]) -> None:
        """Show a change at once: clear the draft over ``box`` (board units) and paint ``objects`` (all
        that meet it, bottom first) clipped to it."""
        rect = pygame.Rect(box[0], box[1], box[2] - box[0], box[3] - box[1]).clip(self.surface.get_rect())
        if not rect.w or not rect.h:
            return
        surface = self.surface
        old = surface.get_clip()
        surface.set_clip(rect)
        try:
            surface.fill(BOARD_BG, rect)
            for obj in objects:
                self._draft(obj)
        finally:
            surface.set_clip(old)
        self.stats["regions_repainted"] += 1
        self.damage.append((rect.x, rect.y, rect.right, rect.bottom))
        if self.complete:
            return
        # a patch this one covers is stale: a growing stroke keeps one patch, not one per segment
        self._patches = [(r, p) for r, p in self._patches if not rect.contains(r)]
        self._patches.append((rect, surface.subsurface(rect).copy()))
