"""The canvas's painting of its board surface, a frame's budget at a time.

Whatever the canvas cannot paint within the frame it came in (a late join's whole board, a burst of
huge strokes, the repaint of a region crossed by them) waits here as a :class:`Job`, in order: objects
painted bottom first inside a clip, after clearing it for a region repaint. :meth:`PaintJobs.step`
paints about ``budget`` work of them (render.stroke_part's units: a point of an ordinary stroke, more
for a long thick segment, OBJECT_WORK for a shape or a text) and stops, in the middle of a stroke if it
must: a stroke painted in parts paints what it paints whole, so one 5,000-point stroke 64 wide across
the board takes some frames instead of one 0.6 s frame. An object replaced or deleted since its job was
made is skipped: its change damaged a region, repainted by a job queued after this one.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import pygame

from pgboard import geometry, render
from pgboard.board import Board
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject

OBJECT_WORK = 8  # what a shape or a text costs to paint, in work units (a stroke: render.stroke_part)
# and a text, besides, one unit per this many pixels of its box in the region painted: rendering text
# at board resolution costs ~1.4 ns a pixel of its box here (8 lines of 249 "W" at size 200 fill the
# board: 5.7 M px, ~8 ms), so 80 of those in one burst were one 0.6 s frame at OBJECT_WORK each
TEXT_PIXELS_PER_WORK = 1000
STROKES = ("pencil", "line")
WHOLE: geometry.Box = (0, 0, BOARD_W, BOARD_H)


def rect(box: geometry.Box) -> pygame.Rect:
    return pygame.Rect(box[0], box[1], box[2] - box[0], box[3] - box[1])


def work(obj: BoardObject, cull: geometry.Box | None = None, limit: float = math.inf) -> float:
    """What painting ``obj`` whole (or only near ``cull``) costs, in work units; counted up to
    ``limit`` at most (a bit more: what is over is over)."""
    if obj.kind in STROKES:
        return OBJECT_WORK + render.stroke_part(obj.points, obj.width, 0, limit, cull)[1]
    if obj.kind == "text":  # its estimated box (geometry.bbox, cut at the board's edge), in the cull
        x0, y0, x1, y1 = geometry.bbox(obj)
        if cull is not None:
            x0, y0, x1, y1 = max(x0, cull[0]), max(y0, cull[1]), min(x1, cull[2]), min(y1, cull[3])
        return OBJECT_WORK + max(0, x1 - x0) * max(0, y1 - y0) // TEXT_PIXELS_PER_WORK
    return OBJECT_WORK


@dataclass(eq=False)
class Job:
    """Paint ``objects`` (bottom first, as the board held them when the job was made) inside ``clip``."""

    clip: geometry.Box
    objects: list[BoardObject]
    fill: bool = False  # clear the clip first (a region repaint); else paint over what is there
    whole: bool = False  # the whole board, after a reset or a clear: the canvas previews it meanwhile
    at: int = 0  # the next object to paint
    part: int = 0  # the next point of objects[at], a stroke painted over several frames
    started: bool = False


class PaintJobs:
    """The jobs waiting, oldest first; see the module docstring."""

    def __init__(
        self,
        surface: pygame.Surface,
        board: Board,
        texts: render.TextCache,
        background: tuple[int, int, int],
    ) -> None:
        self.surface, self.board, self.texts = surface, board, texts
        self.background = background
        self.jobs: deque[Job] = deque()

    def __bool__(self) -> bool:
        return bool(self.jobs)

    @property
    def whole(self) -> bool:
        """A repaint of the whole board is under way (then it is the only job)."""
        return bool(self.jobs) and self.jobs[0].whole

    def clear(self) -> None:
        self.jobs.clear()

    def push(self, job: Job) -> None:
        self.jobs.append(job)

    def repaint(self, box: geometry.Box, find: Callable[[geometry.Box], list[BoardObject]]) -> None:
        """Queue a repaint of ``box``: cleared, then ``find(box)`` (what meets it, bottom first) drawn.
        A region meeting the last job's, a repaint not started yet, joins it (one repaint of both, of
        what is there now: nothing is queued after it), so changes coming in every frame at the same
        place (a stroke growing, a shape moved) cost one repaint per turn, not one per frame."""
        last = self.jobs[-1] if self.jobs else None
        if last is not None and last.fill and not last.started and geometry.intersects(last.clip, box):
            box = geometry.union(last.clip, box)
            self.jobs.pop()
        self.jobs.append(Job(box, find(box), fill=True))

    def _box_of(self) -> Callable[[BoardObject], geometry.Box]:
        # The board's index holds what the canvas paints (the canvas has it measure text with these
        # fonts): a box is looked up, never measured again.
        boxes, texts = self.board.grid.box, self.texts

        def box_of(obj: BoardObject) -> geometry.Box:
            box = boxes(obj.id)
            return box if box is not None else render.painted_box(obj, texts)

        return box_of

    def step(self, budget: float) -> tuple[float, int, list[geometry.Box]]:
        """Paint about ``budget`` work (one segment at least); returns (work done, objects finished,
        the boxes painted by jobs other than a whole-board repaint, for the view to rescale)."""
        spent, painted = 0.0, 0
        damage: list[geometry.Box] = []
        current, surface, texts, box_of = self.board.objects, self.surface, self.texts, self._box_of()
        while self.jobs and spent < budget:
            job = self.jobs[0]
            clip = rect(job.clip)
            if not job.started:
                job.started = True
                if job.fill:
                    surface.fill(self.background, clip)
                    damage.append(job.clip)
            objects = job.objects
            touched: geometry.Box | None = None
            while job.at < len(objects) and spent < budget:
                obj = objects[job.at]
                if current.get(obj.id) is not obj:  # changed or gone since: repainted by a later job
                    job.at, job.part = job.at + 1, 0
                    continue
                box = box_of(obj)
                start, piece = job.part, obj
                region = clip.clip(rect(box))
                # only a region repaint culls: the whole board's clip cuts a stroke's box at the
                # board's edge only, where culling saves nothing and costs a slower loop
                small = not job.whole and (region.w < box[2] - box[0] or region.h < box[3] - box[1])
                cull = (region.x, region.y, region.right, region.bottom) if small else None
                if obj.kind in STROKES and len(obj.points) > 1:
                    end, cost = render.stroke_part(obj.points, obj.width, start, budget - spent, cull)
                    if start or end < len(obj.points) - 1:
                        piece = dataclasses.replace(obj, points=obj.points[start : end + 1])
                        box = geometry.points_box(piece.points, obj.width // 2 + 2)
                    spent += cost + (OBJECT_WORK if start == 0 else 0)
                    done = end >= len(obj.points) - 1
                    job.part = 0 if done else end
                else:
                    spent += OBJECT_WORK
                    if obj.kind == "text":
                        spent += region.w * region.h // TEXT_PIXELS_PER_WORK
                    done = True
                render.draw_clipped(surface, piece, texts, clip, box, cull is not None)
                touched = box if touched is None else geometry.union(touched, box)
                if done:
                    job.at, job.part = job.at + 1, 0
                    painted += 1
            if touched is not None and not job.whole:
                x0, y0, x1, y1 = job.clip
                tx0, ty0, tx1, ty1 = touched
                damage.append((max(tx0, x0), max(ty0, y0), min(tx1, x1), min(ty1, y1)))
            if job.at >= len(objects):
                self.jobs.popleft()
        return spent, painted, damage
