"""Drawing one board object onto a pygame surface (text through :mod:`pgboard.textcache`).

The canvas paints the board with these functions at board resolution, and the overlay paints previews
with them in screen space (an object whose points, width and size were scaled first). Everything here is
opaque and deterministic, and each object paints only inside :func:`painted_box`, so redrawing a damaged
region (clear it, draw what meets it, clipped) gives the same pixels as drawing the whole board again.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from itertools import chain, islice, repeat

import pygame

from pgboard import geometry
from pgboard.points import Points
from pgboard.protocol import BoardObject

# the text half of painting lives in pgboard/textcache.py; its names are used through this module too
from pgboard.textcache import LAYOUT_CACHE_PIECES as LAYOUT_CACHE_PIECES
from pgboard.textcache import MAX_RUN_PIXELS as MAX_RUN_PIXELS
from pgboard.textcache import MAX_SURFACE_PIXELS as MAX_SURFACE_PIXELS
from pgboard.textcache import MAX_TEXT_PIXELS as MAX_TEXT_PIXELS
from pgboard.textcache import TEXT_CACHE_PIXELS as TEXT_CACHE_PIXELS
from pgboard.textcache import TextCache as TextCache
from pgboard.textcache import find_font as find_font
from pgboard.textcache import painted_box as painted_box
from pgboard.textcache import parse_color as parse_color

log = logging.getLogger(__name__)

PLACEHOLDER_COLOR = (160, 160, 160)  # the box drawn for an object that raised while being painted
PLACEHOLDER_LOGGED = 256  # object ids whose painting error was logged (each once)
THIN_WIDTH = 2  # strokes this thin are plain pygame lines; thicker ones get polygons and round joins
# A thick stroke is first one pygame line ``width + BAND_EXTRA`` thick (a pygame polygon ``width`` across
# covers its edge pixels too: about one more), whose runs grow along one axis only, so a diagonal comes
# out thinner across; the discs at its points round it, and a segment where band and discs fall short
# of the true edge by more than BAND_GAP pixels gets its own quad. Measured on the benchmark's boards:
# ~1 in 5 thick segments needs a quad, painting is ~2x faster than a quad for every segment, and the
# strokes paint 0.98-1.03x the pixels they did.
BAND_EXTRA = 1
BAND_GAP = 0.35


def mapped(obj: BoardObject, scale: float, ox: float, oy: float) -> BoardObject:
    """``obj`` mapped by ``p -> offset + p * scale`` (points rounded, width and text size scaled): an
    object to draw in screen space."""
    pts = tuple((round(ox + x * scale), round(oy + y * scale)) for x, y in obj.points)
    return dataclasses.replace(
        obj, points=pts, width=max(1, round(obj.width * scale)), size=max(1, round(obj.size * scale))
    )


def _frame(surf: pygame.Surface, color: pygame.Color, rect: pygame.Rect, width: int) -> None:
    """A rectangle outline ``width`` thick inside ``rect``, as four fills: pygame.draw.rect with a
    width draws a different border when the surface is clipped, which would break region redraws."""
    surf.fill(color, (rect.x, rect.y, rect.w, width))
    surf.fill(color, (rect.x, rect.bottom - width, rect.w, width))
    surf.fill(color, (rect.x, rect.y, width, rect.h))
    surf.fill(color, (rect.right - width, rect.y, width, rect.h))


def draw_segments(
    surf: pygame.Surface,
    color: pygame.Color,
    points: Sequence[tuple[int, int]],
    width: int,
    cull: geometry.Box | None = None,
) -> None:
    """A polyline with round joins and caps. Painting it in pieces (points[:k+1], then points[k:])
    paints exactly the same pixels as painting it whole: a growing stroke is drawn incrementally.

    ``cull``: a box outside which nothing is wanted (the surface's clip): the pieces of the line that
    cannot reach it are skipped, so repainting a small region of a long stroke costs little."""
    if type(points) is Points:  # packed: pairs made once, in C (pygame would index it point by point)
        points = list(points)
    if cull is None:
        _polyline(surf, color, points, width)
        return
    for piece in _pieces_near(points, cull, width // 2 + 2):
        _polyline(surf, color, piece, width)


def _polyline(
    surf: pygame.Surface, color: pygame.Color, points: Sequence[tuple[int, int]], width: int
) -> None:
    """Each segment, then a dot on each point. A thick stroke's segments are one pygame line (its band,
    see BAND_EXTRA) plus, where that comes out thinner across (a long diagonal), a quad perpendicular
    to the segment; the dots are discs that round the joins and caps. Every piece depends only on its
    own ends, so a stroke painted in parts paints what it paints whole. The board's hottest loop: a late join
    paints every point, so what can be one C call per stroke is (the segments of a thin stroke, all
    the dots of any stroke, stamped with ``fblits``: the same pixels as one draw call each)."""
    if not points:
        return
    if width <= THIN_WIDTH:
        if len(points) > 1:
            pygame.draw.lines(surf, color, False, points, width)
        if width == 1:
            surf.fill(color, (points[0][0], points[0][1], 1, 1))  # a stroke of one point
        else:
            surf.fblits(zip(repeat(_dot(color, width)), points))
        return
    if len(points) > 1:  # the band: pygame's thick line, its runs grown along one axis only
        pygame.draw.lines(surf, color, False, points, width + BAND_EXTRA)
    polygon, hypot = pygame.draw.polygon, math.hypot
    half = width / 2
    # a segment gets its quad where band and discs fall short of the true edge by over BAND_GAP pixels:
    # the band's half-thickness across is half * cos(angle from the axis), the discs' waist halfway
    # sqrt(half^2 - d^2 / 4); both short <=> cos^2 < (1 - gap / half)^2 and d^2 > 4 gap (2 half - gap)
    steep = (1 - BAND_GAP / half) ** 2
    long_ = 4 * BAND_GAP * (2 * half - BAND_GAP)
    ax, ay = points[0]
    for bx, by in islice(points, 1, None):
        dx, dy = bx - ax, by - ay
        a, b = dx * dx, dy * dy
        if a + b > long_ and (a if a > b else b) < steep * (a + b):
            k = half / hypot(dx, dy)
            nx, ny = -dy * k, dx * k
            polygon(
                surf, color, ((ax + nx, ay + ny), (bx + nx, by + ny), (bx - nx, by - ny), (ax - nx, ay - ny))
            )
        ax, ay = bx, by
    disc, off = _disc(color, width)
    corners = map(off.__add__, chain.from_iterable(points))  # each point's disc sprite corner
    surf.fblits(zip(repeat(disc), zip(corners, corners, strict=True)))


# What painting a stroke costs, in the canvas's work units (PAINT_BUDGET: about one point of an
# ordinary stroke, ~3 us here). A thick segment is a polygon whose fill costs per row it spans (measured:
# ~75-190 us for one 1,800 rows tall, whatever its width and its clip), a thin one a line costing per
# pixel of its length: so a segment counts one unit, plus one per SEGMENT_PIXELS of |dx| + |dy| + width
# beyond SEGMENT_FREE (ordinary strokes, short segments, count their points as before). A zigzag of 5,000
# full-height segments 64 wide counts ~290,000 units (0.6 s of painting), not 5,000.
SEGMENT_FREE = 64
SEGMENT_PIXELS = 32
FAR_WORK = 1 / 16  # a segment that cull leaves out: its box is checked, nothing is painted


def stroke_part(
    points: Sequence[tuple[int, int]],
    width: int,
    start: int = 0,
    budget: float = math.inf,
    cull: geometry.Box | None = None,
) -> tuple[int, float]:
    """How far to paint a stroke from ``points[start]`` for about ``budget`` work: ``(end, work)``,
    ``points[start : end + 1]`` being the part (one segment at least) and ``work`` what it costs
    (see SEGMENT_FREE; with ``cull``, as :func:`draw_segments` culls). Painted part after part, a
    stroke paints what it paints whole (see draw_segments), so a huge one is spread over frames."""
    last = len(points) - 1
    if start >= last:
        return last, 1.0
    free, per = SEGMENT_FREE - width, SEGMENT_PIXELS
    if cull is not None:
        pad = width // 2 + 2
        x0, y0, x1, y1 = cull[0] - pad, cull[1] - pad, cull[2] + pad, cull[3] + pad
    if cull is None and type(points) is Points and points.longest_step() <= free:
        segments = last - start  # each costs one unit: what the loop below counts, without it
        if budget >= segments:
            return last, float(segments)
        k = max(1, math.ceil(budget))
        return start + k, float(k)
    work = 0.0
    ax, ay = points[start]
    if cull is None:  # the hot case (a join paints every stroke): the loop below without the cull
        for i, (bx, by) in enumerate(islice(points, start + 1, None), start + 1):
            d = (bx - ax if bx > ax else ax - bx) + (by - ay if by > ay else ay - by)
            work += 1.0 + (d - free) / per if d > free else 1.0
            if work >= budget:
                return i, work
            ax, ay = bx, by
        return last, work
    for i in range(start + 1, last + 1):
        bx, by = points[i]
        if not (
            (ax if ax < bx else bx) < x1
            and (ax if ax > bx else bx) >= x0
            and (ay if ay < by else by) < y1
            and (ay if ay > by else by) >= y0
        ):
            work += FAR_WORK
        else:
            d = (bx - ax if bx > ax else ax - bx) + (by - ay if by > ay else ay - by)
            work += 1.0 + (d - free) / per if d > free else 1.0
        if work >= budget:
            return i, work
        ax, ay = bx, by
    return last, work


_SPRITES: dict[tuple[int, int, int, int], tuple[pygame.Surface, int]] = {}
SPRITE_CACHE_SIZE = 512  # dot and disc sprites kept (one per colour and width)
_KEY = (255, 0, 255)  # the sprites' transparent colour key (a disc's colour is never it: see _disc)


def _sprite(color: pygame.Color, width: int, disc: bool) -> tuple[pygame.Surface, int]:
    key = (color.r, color.g, color.b, width if disc else -width)
    found = _SPRITES.get(key)
    if found is not None:
        return found
    if len(_SPRITES) >= SPRITE_CACHE_SIZE:
        _SPRITES.clear()
    rgb = (color.r, color.g, color.b)
    if disc:
        # pygame.draw.circle's pixels around (o, o), stamped at (x - o, y - o): the circle at (x, y)
        o = width // 2 + 2
        sprite = pygame.Surface((2 * o + 1, 2 * o + 1))
        key_color = _KEY if rgb != _KEY else (0, 0, 0)
        sprite.fill(key_color)
        sprite.set_colorkey(key_color, pygame.RLEACCEL)
        pygame.draw.circle(sprite, rgb, (o, o), width / 2)
        found = (sprite, -o)
    else:
        sprite = pygame.Surface((width, width))  # surf.fill(color, (x, y, width, width))
        sprite.fill(rgb)
        found = (sprite, 0)
    _SPRITES[key] = found
    return found


def joint_sprite(color: pygame.Color, width: int) -> tuple[pygame.Surface, int]:
    """What rounds a stroke's joins and caps at each point: a square dot for thin strokes, a disc for
    thick ones; and the offset of the sprite's corner from the point."""
    return _sprite(color, width, width > THIN_WIDTH)


def _disc(color: pygame.Color, width: int) -> tuple[pygame.Surface, int]:
    """A sprite of ``pygame.draw.circle(.., width / 2)`` and the offset of its corner from the centre."""
    return _sprite(color, width, True)


def _dot(color: pygame.Color, width: int) -> pygame.Surface:
    """A ``width`` x ``width`` square of ``color`` (a thin stroke's dot)."""
    return _sprite(color, width, False)[0]


def _pieces_near(
    points: Sequence[tuple[int, int]], box: geometry.Box, pad: int
) -> list[Sequence[tuple[int, int]]]:
    """The runs of ``points`` whose segments may paint into ``box`` (a segment is kept when the box
    of its ends grown by ``pad`` meets ``box``); what is left out paints nothing there."""
    x0, y0, x1, y1 = box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad
    if len(points) == 1:
        x, y = points[0]
        return [points] if x0 <= x < x1 and y0 <= y < y1 else []
    pieces: list[Sequence[tuple[int, int]]] = []
    start = -1  # index where the current run began
    for i in range(len(points) - 1):
        (ax, ay), (bx, by) = points[i], points[i + 1]
        near = (ax if ax < bx else bx) < x1 and (ax if ax > bx else bx) >= x0
        near = near and (ay if ay < by else by) < y1 and (ay if ay > by else by) >= y0
        if near and start < 0:
            start = i
        elif not near and start >= 0:
            pieces.append(points[start : i + 1])
            start = -1
    if start >= 0:
        pieces.append(points[start:])
    return pieces


_logged: set[str] = set()


def draw_object(
    surf: pygame.Surface, obj: BoardObject, texts: TextCache, cull: geometry.Box | None = None
) -> None:
    """Paint ``obj`` on ``surf`` (which should be clipped to the region being painted; ``cull``, that
    region, lets a long stroke skip its pieces outside it).

    An object that raises while painted (out of memory, a pygame limit) is drawn as a grey box and
    logged once: the window never dies for a board's content."""
    try:
        _draw_object(surf, obj, texts, cull)
    except (pygame.error, MemoryError, ValueError, OverflowError, TypeError):
        if obj.id not in _logged:
            if len(_logged) < PLACEHOLDER_LOGGED:
                _logged.add(obj.id)
            log.exception("cannot paint %s %s: drawn as a box", obj.kind, obj.id)
        draw_placeholder(surf, obj, texts)


def draw_placeholder(surf: pygame.Surface, obj: BoardObject, texts: TextCache) -> None:
    """A grey frame where ``obj`` would paint (a small one when even its box cannot be measured)."""
    try:
        x0, y0, x1, y1 = painted_box(obj, texts)
    except Exception:  # the box is what failed: a frame the size of its text size at its first point
        x0, y0 = obj.points[0] if obj.points else (0, 0)
        x1, y1 = x0 + obj.size, y0 + obj.size
    rect = pygame.Rect(x0, y0, max(3, x1 - x0), max(3, y1 - y0)).clip(surf.get_clip())
    if rect.w and rect.h:
        _frame(surf, pygame.Color(PLACEHOLDER_COLOR), rect, 1)


def _draw_object(
    surf: pygame.Surface, obj: BoardObject, texts: TextCache, cull: geometry.Box | None = None
) -> None:
    color = parse_color(obj.color)
    w = obj.width
    if obj.kind in ("pencil", "line"):
        draw_segments(surf, color, obj.points, w, cull)
    elif obj.kind == "text":
        if obj.text:
            x, y = obj.points[0]
            texts.paint(surf, obj.text, obj.size, obj.color, x, y)
    else:
        x0, y0, x1, y1 = geometry.shape_box(obj)
        half = w // 2
        rect = pygame.Rect(x0 - half, y0 - half, x1 - x0 + w, y1 - y0 + w)
        if obj.kind in ("rect", "square"):
            _frame(surf, color, rect, w)
        else:
            pygame.draw.ellipse(surf, color, rect, w)


def draw_clipped(
    surf: pygame.Surface,
    obj: BoardObject,
    texts: TextCache,
    clip: pygame.Rect,
    box: geometry.Box | None = None,
    cull: bool = True,
) -> None:
    """Paint ``obj`` inside ``clip`` and its own painted box only (``box``, when already measured),
    leaving the clip as it was; with ``cull``, a stroke only partly inside skips its pieces outside."""
    old = surf.get_clip()
    x0, y0, x1, y1 = painted_box(obj, texts) if box is None else box
    region = clip.clip(pygame.Rect(x0, y0, x1 - x0, y1 - y0))
    surf.set_clip(region)
    # a region smaller than the object (a damaged box): draw only the pieces of a stroke near it
    small = cull and (region.w < x1 - x0 or region.h < y1 - y0)
    try:
        draw_object(surf, obj, texts, (region.x, region.y, region.right, region.bottom) if small else None)
    finally:
        surf.set_clip(old)
