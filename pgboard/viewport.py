"""Board <-> screen mapping for the canvas: the board's fixed logical size (BOARD_W x BOARD_H units)
scaled to fit a screen rect of any size, with zoom about the cursor and bounded pan. Pure arithmetic on
a pygame Rect; every coordinate a tool sends comes out of :meth:`Viewport.to_board`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import pygame

from pgboard import geometry
from pgboard.protocol import BOARD_H, BOARD_W

MAX_ZOOM = 8.0  # the closest view, as a multiple of the fit-to-screen scale


class ViewKey(NamedTuple):
    """Everything a view of the board depends on: the screen rect, the scale, the board's origin."""

    x: int
    y: int
    w: int
    h: int
    scale: float
    ox: float
    oy: float

    def same_tiles(self, other: ViewKey | None) -> bool:
        """The same rect and scale: a view cached for ``other`` only needs scrolling to show this."""
        return other is not None and self[:5] == other[:5]

    def panned(self, dx: int, dy: int) -> ViewKey:
        return self._replace(ox=self.ox + dx, oy=self.oy + dy)


class Viewport:
    """Board <-> screen mapping: a screen point is ``offset + board point * scale``.

    ``fit(rect)`` shows the whole board centred in ``rect``; ``zoom_at`` and ``pan`` move from there,
    never closer than MAX_ZOOM times the fit scale nor further out than the fit, and never so far that
    the board leaves an edge of the rect it could fill.
    """

    def __init__(self, rect: pygame.Rect | tuple[int, int, int, int] = (0, 0, BOARD_W, BOARD_H)) -> None:
        self.rect = pygame.Rect(rect)
        self.fit_scale = 1.0
        self.scale = 1.0
        self.ox = 0.0
        self.oy = 0.0
        self.fit(self.rect)

    @property
    def zoom(self) -> float:
        """The current scale as a multiple of the fit scale (1.0: the whole board is shown)."""
        return self.scale / self.fit_scale

    @property
    def key(self) -> ViewKey:
        """Everything the view depends on (see :class:`ViewKey`)."""
        r = self.rect
        return ViewKey(r.x, r.y, r.w, r.h, self.scale, self.ox, self.oy)

    def fit(self, rect: pygame.Rect | tuple[int, int, int, int]) -> None:
        """Show the whole board, centred in ``rect`` (screen coordinates)."""
        self.rect = pygame.Rect(rect)
        w, h = max(self.rect.w, 1), max(self.rect.h, 1)
        self.fit_scale = min(w / BOARD_W, h / BOARD_H)
        self.scale = self.fit_scale
        self._clamp()

    def resize(self, rect: pygame.Rect | tuple[int, int, int, int]) -> None:
        """A new screen rect keeping the zoom factor and the board point at the centre."""
        centre = self.to_board_f(self.rect.center)
        zoom = self.zoom
        self.fit(rect)
        self.scale = self.fit_scale * zoom
        self.ox = self.rect.centerx - centre[0] * self.scale
        self.oy = self.rect.centery - centre[1] * self.scale
        self._clamp()

    def to_screen(self, point: tuple[float, float]) -> tuple[float, float]:
        return (self.ox + point[0] * self.scale, self.oy + point[1] * self.scale)

    def to_board_f(self, pos: tuple[float, float]) -> tuple[float, float]:
        return ((pos[0] - self.ox) / self.scale, (pos[1] - self.oy) / self.scale)

    def to_board(self, pos: tuple[float, float]) -> tuple[int, int]:
        """The board point under a screen position, rounded and clamped to the board."""
        x, y = self.to_board_f(pos)
        return (min(max(round(x), 0), BOARD_W), min(max(round(y), 0), BOARD_H))

    def zoom_at(self, pos: tuple[float, float], factor: float) -> None:
        """Zoom by ``factor`` keeping the board point under ``pos`` where it is (when bounds allow)."""
        bx, by = self.to_board_f(pos)
        self.scale = min(max(self.scale * factor, self.fit_scale), self.fit_scale * MAX_ZOOM)
        self.ox = pos[0] - bx * self.scale
        self.oy = pos[1] - by * self.scale
        self._clamp()

    def show(self, box: geometry.Box) -> None:
        """Show the board box (left, top, right, bottom) as large as the rect allows, centred (another
        member's view, followed): within the zoom bounds, so a tiny box shows at MAX_ZOOM."""
        w, h = max(box[2] - box[0], 1), max(box[3] - box[1], 1)
        scale = min(self.rect.w / w, self.rect.h / h)
        self.scale = min(max(scale, self.fit_scale), self.fit_scale * MAX_ZOOM)
        self.ox = self.rect.centerx - (box[0] + box[2]) / 2 * self.scale
        self.oy = self.rect.centery - (box[1] + box[3]) / 2 * self.scale
        self._clamp()

    def pan(self, dx: float, dy: float) -> None:
        """Move the board by (dx, dy) screen pixels, within bounds."""
        self.ox += dx
        self.oy += dy
        self._clamp()

    def _clamp(self) -> None:
        for axis in (0, 1):
            start, size = (self.rect.x, self.rect.w) if axis == 0 else (self.rect.y, self.rect.h)
            extent = (BOARD_W if axis == 0 else BOARD_H) * self.scale
            offset = self.ox if axis == 0 else self.oy
            if extent <= size:
                offset = start + (size - extent) / 2  # smaller than the rect: centred
            else:
                offset = min(max(offset, start + size - extent), start)  # larger: it fills the rect
            if axis == 0:
                self.ox = offset
            else:
                self.oy = offset

    def screen_box(self, box: geometry.Box) -> pygame.Rect:
        """The screen pixels a board box covers (rounded outwards)."""
        x0, y0 = self.to_screen((box[0], box[1]))
        x1, y1 = self.to_screen((box[2], box[3]))
        left, top = math.floor(x0), math.floor(y0)
        return pygame.Rect(left, top, math.ceil(x1) - left, math.ceil(y1) - top)

    def board_box(self, rect: pygame.Rect) -> geometry.Box:
        """The board units a screen rect shows (rounded outwards, clamped to the board)."""
        x0, y0 = self.to_board_f(rect.topleft)
        x1, y1 = self.to_board_f(rect.bottomright)
        return (
            max(math.floor(x0), 0),
            max(math.floor(y0), 0),
            min(math.ceil(x1), BOARD_W),
            min(math.ceil(y1), BOARD_H),
        )

    def visible_box(self) -> geometry.Box:
        """The part of the board shown in the rect, in board units (rounded outwards)."""
        return self.board_box(self.rect)


def around(outer: pygame.Rect, inner: pygame.Rect) -> list[pygame.Rect]:
    """``outer`` less ``inner``, as up to four rects (above, below, left, right)."""
    inner = inner.clip(outer)
    if not inner.w or not inner.h:
        return [outer]
    strips = [
        pygame.Rect(outer.x, outer.y, outer.w, inner.y - outer.y),
        pygame.Rect(outer.x, inner.bottom, outer.w, outer.bottom - inner.bottom),
        pygame.Rect(outer.x, inner.y, inner.x - outer.x, inner.h),
        pygame.Rect(inner.right, inner.y, outer.right - inner.right, inner.h),
    ]
    return [r for r in strips if r.w > 0 and r.h > 0]
