"""The board as the window shows it: the canvas's board surface scaled into the viewport's rect.

:class:`TiledView` caches that scaled image and rescales it tile by tile, only where the board surface
changed or when the zoom changes (a pan scrolls the cached image and scales only the strip it
uncovers). :class:`PreviewPhase` is the state machine that stands in for the board surface while a
whole-board repaint (a late join, a clear) fills it in over frames: the view is rescaled from a fast
draft of the board first (pgboard/preview.py), changes coming in meanwhile are repainted in it at once,
and when there are too many of them it gives up and the view shows the repaint's progress instead.

The painter (pgboard/canvas.py) owns the board surface and tells the view what it damaged; neither
reaches into the other.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import Enum
from typing import NamedTuple

import pygame

from pgboard import geometry, render
from pgboard.board import Board
from pgboard.preview import OUTSIDE_BG, PREVIEW_BUDGET, Preview
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject
from pgboard.viewport import ViewKey, Viewport

REPAINT_ALL_REGIONS = 64  # more damaged regions than this (and than a quarter of the objects): repaint all
# More work than this (points) of changes to show at once in one frame ends a preview: the view shows
# the repaint's progress instead (the canvas's PAINT_VIEW_EVERY).
PREVIEW_REPAINT_LIMIT = 2 * PREVIEW_BUDGET
PAN_EPSILON = 1e-6  # a pan step this close to whole pixels scrolls the cached view
VIEW_TILE = 64  # screen pixels per side of a view tile (the unit of rescaling)
# pygame's smoothscale loses about 2 levels per channel when shrinking (white comes out 253): added
# back, so the board's white is white on the screen (black becomes 2, which nobody can see).
SMOOTHSCALE_LOSS = (2, 2, 2)


class Tiling(NamedTuple):
    """How the cached image is cut into tiles, fixed at its last rebuild."""

    unit: int  # board units per side of a tile (whole units: damage maps to tiles exactly)
    cols: int
    rows: int
    origin: tuple[float, float]  # the board's origin in the image at the rebuild
    shift: tuple[int, int]  # whole pixels the image was scrolled by since


class TiledView:
    """The board surface scaled into a viewport's rect, cached; :meth:`show` brings it up to date."""

    def __init__(self, surface: pygame.Surface, stats: dict[str, float]) -> None:
        self.surface = surface  # the painter's board surface, read only here
        self.stats = stats
        self.image: pygame.Surface | None = None
        self.key: ViewKey | None = None  # what ``image`` shows (None: rebuild it)
        self.tiling = Tiling(1, 1, 1, (0.0, 0.0), (0, 0))
        self.damage: list[geometry.Box] = []  # board boxes changed since the image was last updated

    def invalidate(self) -> None:
        """Rebuild the whole image at the next :meth:`show` (the preview painted over it)."""
        self.key = None

    def show(self, vp: Viewport) -> None:
        """Bring the image up to date for ``vp``: rebuilt for a new rect or zoom, scrolled for a pan,
        and the damaged tiles rescaled."""
        key, image = vp.key, self.image
        if image is None or image.get_size() != vp.rect.size or not key.same_tiles(self.key):
            self.rebuild(vp)
        elif key != self.key:
            self._scroll(vp)
        if self.damage:
            vis = vp.visible_box()
            tiles: set[tuple[int, int]] = set()
            for box in self.damage:
                tiles |= self._visible_tiles(box, vis)
            self._rescale(vp, tiles)
        self.damage = []

    def rebuild(self, vp: Viewport) -> None:
        """Scale everything visible again: the rect or the zoom changed."""
        if self.image is None or self.image.get_size() != vp.rect.size:
            self.image = pygame.Surface(vp.rect.size)
        self.key = vp.key
        self.image.fill(OUTSIDE_BG)
        unit = max(1, round(VIEW_TILE / vp.scale))  # whole board units: damage maps to tiles exactly
        origin = (vp.ox - vp.rect.x, vp.oy - vp.rect.y)
        self.tiling = Tiling(unit, math.ceil(BOARD_W / unit), math.ceil(BOARD_H / unit), origin, (0, 0))
        self.damage = [vp.visible_box()]

    def _scroll(self, vp: Viewport) -> None:
        """A pan: scroll what is cached by whole pixels and scale only the strips it uncovered."""
        assert self.image is not None and self.key is not None
        dx, dy = vp.ox - self.key.ox, vp.oy - self.key.oy
        w, h = self.image.get_size()
        if (
            abs(dx - round(dx)) > PAN_EPSILON
            or abs(dy - round(dy)) > PAN_EPSILON
            or abs(dx) >= w
            or abs(dy) >= h
        ):
            self.rebuild(vp)  # a fractional step (at a bound): tile edges would not line up
            return
        dx, dy = round(dx), round(dy)
        self.image.scroll(dx, dy)
        self.key = self.key.panned(dx, dy)
        shift = self.tiling.shift
        self.tiling = self.tiling._replace(shift=(shift[0] + dx, shift[1] + dy))
        strips = [
            pygame.Rect(0 if dx > 0 else w + dx, 0, abs(dx), h),
            pygame.Rect(0, 0 if dy > 0 else h + dy, w, abs(dy)),
        ]
        for strip in strips:
            if strip.w and strip.h:
                self.image.fill(OUTSIDE_BG, strip)
                self.damage.append(vp.board_box(strip.move(vp.rect.topleft)))

    def _visible_tiles(self, box: geometry.Box, vis: geometry.Box) -> set[tuple[int, int]]:
        unit, cols, rows = self.tiling.unit, self.tiling.cols, self.tiling.rows
        box = (max(box[0], vis[0]), max(box[1], vis[1]), min(box[2], vis[2]), min(box[3], vis[3]))
        if box[0] >= box[2] or box[1] >= box[3]:
            return set()
        c0, r0 = max(box[0] // unit, 0), max(box[1] // unit, 0)
        c1, r1 = min((box[2] - 1) // unit, cols - 1), min((box[3] - 1) // unit, rows - 1)
        return {(c, r) for c in range(c0, c1 + 1) for r in range(r0, r1 + 1)}

    def _tile_edges(self, vp: Viewport, index: int, axis: int) -> tuple[int, int, int, int]:
        """Board start/end and screen start/end (relative to the rect) of a tile along one axis.
        Board edges are whole units and screen edges are rounded the same way for neighbours, so
        tiles meet without gaps and a tile rescaled alone matches one rescaled with all the others;
        a pan adds whole pixels after the rounding, so scrolled tiles match rescaled ones too."""
        unit = self.tiling.unit
        b0, b1 = index * unit, min((index + 1) * unit, BOARD_W if axis == 0 else BOARD_H)
        origin, shift = self.tiling.origin[axis], self.tiling.shift[axis]
        # half-up rounding: unlike round(), it commutes with a shift by whole pixels (no ties to even)
        s0, s1 = math.floor(origin + b0 * vp.scale + 0.5), math.floor(origin + b1 * vp.scale + 0.5)
        return b0, b1, s0 + shift, s1 + shift

    def _rescale(self, vp: Viewport, tiles: Iterable[tuple[int, int]]) -> None:
        image = self.image
        assert image is not None
        smooth = vp.scale < 1.0
        for col, row in tiles:
            bx0, bx1, sx0, sx1 = self._tile_edges(vp, col, 0)
            by0, by1, sy0, sy1 = self._tile_edges(vp, row, 1)
            if bx1 <= bx0 or by1 <= by0 or sx1 <= sx0 or sy1 <= sy0:
                continue
            src = self.surface.subsurface((bx0, by0, bx1 - bx0, by1 - by0))
            size = (sx1 - sx0, sy1 - sy0)
            if smooth:
                scaled = pygame.transform.smoothscale(src, size)
                scaled.fill(SMOOTHSCALE_LOSS, special_flags=pygame.BLEND_RGB_ADD)
            else:
                scaled = pygame.transform.scale(src, size)
            image.blit(scaled, (sx0, sy0))
            self.stats["tiles_rescaled"] += 1


class Phase(Enum):
    """Where the preview of a whole-board repaint stands."""

    NONE = "none"  # no whole-board repaint under way (or its first frame is still to come)
    PAINTING = "painting"  # the preview paints the view over frames; the board surface waits
    COMPLETE = "complete"  # the preview shows the whole board; the board surface fills in behind it
    GAVE_UP = "gave up"  # too many changes to show at once: the view shows the repaint's progress


class PreviewPhase:
    """The preview of one whole-board repaint, from its first frame to the board surface complete.

    The painter starts it (:meth:`reset`) when it starts a whole-board repaint; the canvas asks
    :meth:`waits_for_it` whether the board surface must wait, and calls :meth:`frame` each frame while
    the repaint is under way; :meth:`end` when the board surface is complete. While a preview lasts, the
    view is rescaled from its draft (pgboard/preview.py) instead of the board surface."""

    def __init__(self) -> None:
        self.phase = Phase.NONE
        self.preview: Preview | None = None
        self._seen = 0  # how many of the painter's pending regions the preview has repainted
        self._lent: tuple[TiledView, pygame.Surface] | None = None  # the view, and its own source

    def reset(self) -> None:
        self._give_back()
        self.phase, self.preview, self._seen = Phase.NONE, None, 0

    def _give_back(self) -> None:
        """The view's source is the board surface again (it is rebuilt from it: see end)."""
        if self._lent is not None:
            view, surface = self._lent
            view.surface = surface
            self._lent = None

    @property
    def complete(self) -> bool:
        return self.phase is Phase.COMPLETE

    @property
    def waits_for_it(self) -> bool:
        """A preview is under way, or starts at the next frame: the board surface waits for it."""
        return self.phase in (Phase.NONE, Phase.PAINTING)

    def end(self) -> bool:
        """The board surface is complete (or the preview gave up): True when the view was rescaled
        from a preview's draft (it is to be rebuilt from the surface)."""
        had = self.preview is not None
        self._give_back()
        self.preview = None
        if self.phase is not Phase.GAVE_UP:
            self.phase = Phase.NONE
        return had

    def frame(
        self,
        view: TiledView,
        vp: Viewport,
        pending: Sequence[geometry.Box],
        objects_in: Callable[[geometry.Box], list[BoardObject]],
        board: Board,
        floating: Mapping[str, BoardObject],
        texts: render.TextCache,
    ) -> bool:
        """Start the preview, repaint in it what changed since the last frame (``pending``: the
        painter's regions waiting for the repaint to end), draft its next objects, and show it in the
        view (rescaled for a new zoom or pan as the board surface would be). False: it gave up (more
        changes than it can show at once), or had before."""
        if self.phase is Phase.GAVE_UP:
            return False
        if self.preview is None:
            self.preview = Preview.of_board(board, floating, texts)
            self._lent = (view, view.surface)
            view.surface = self.preview.surface
            view.invalidate()
            self._seen = len(pending)
        preview = self.preview
        changed, self._seen = pending[self._seen :], len(pending)
        many = len(changed) > REPAINT_ALL_REGIONS
        regions = [] if many else [(box, objects_in(box)) for box in changed]
        work = sum(preview.cost(obj) for _, objects in regions for obj in objects)  # lengths count too
        if many or work > PREVIEW_REPAINT_LIMIT or preview.crowded:
            self.phase = Phase.GAVE_UP
            return False
        for box, objects in regions:
            preview.repaint(box, objects)
        preview.step(PREVIEW_BUDGET)
        self.phase = Phase.COMPLETE if preview.complete else Phase.PAINTING
        view.damage = preview.take_damage()  # the half-painted board surface is not shown meanwhile
        view.show(vp)
        return True
