"""Drawing one board object onto a pygame surface, and the fonts and text surfaces that takes.

The canvas paints the board with these functions at board resolution, and the overlay paints previews
with them in screen space (an object whose points, width and size were scaled first). Everything here is
opaque and deterministic, and each object paints only inside :func:`painted_box`, so redrawing a damaged
region (clear it, draw what meets it, clipped) gives the same pixels as drawing the whole board again.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import unicodedata
from collections import OrderedDict
from collections.abc import Sequence
from itertools import chain, islice, repeat

import pygame
import pygame.freetype

from pgboard import geometry
from pgboard.protocol import BoardObject

log = logging.getLogger(__name__)

Placed = tuple[pygame.Surface, int, int]  # a rendered run and where it goes

# Fonts that cover CJK as well as Latin, in order of preference (names as pygame.font.match_font
# normalises them: lower case, no spaces).
CJK_FONT_NAMES = (
    "wenquanyimicrohei",
    "wqymicrohei",
    "notosanscjksc",
    "notosanscjk",
    "notosanscjkjp",
    "sourcehansans",
    "sourcehanssanssc",
    "microsoftyahei",
    "simhei",
    "pingfangsc",
    "hiraginosans",
    "arialunicodems",
    "droidsansfallback",
    "notosans",
    "dejavusans",
)
# Fonts for what the main font lacks (emoji, symbols), tried in order, glyph by glyph.
FALLBACK_FONT_NAMES = (
    "notocoloremoji",
    "notoemoji",
    "twemoji",
    "segoeuiemoji",
    "applecoloremoji",
    "symbola",
    "dejavusans",
    "notosanssymbols2",
    "notosanssymbols",
)
TEXT_CACHE_SIZE = 1024  # rendered text surfaces kept (least recently used dropped first)
TEXT_CACHE_PIXELS = 16_000_000  # and at most this many pixels of them (64 MB)
FONT_CACHE_SIZE = 48  # font objects kept, one per size (zooming a text preview asks for many sizes)
GLYPH_PROBE_SIZE = 16  # size at which fonts are asked whether they have a glyph
GLYPH_CACHE_SIZE = 65_536  # characters whose font is remembered
OVERSIZED_GLYPHS = 2  # a run taller than this many lines (a bitmap emoji font) is scaled to one line
MAX_TEXT_PIXELS = 16_000  # a text line is cut to about this many pixels wide (SDL's surface limit)
THIN_WIDTH = 2  # strokes this thin are plain pygame lines; thicker ones get polygons and round joins


@functools.lru_cache(maxsize=1)
def find_font() -> str | None:
    """The path of a font that covers CJK, or None for pygame's default font. Looked up once."""
    try:
        path = pygame.font.match_font(list(CJK_FONT_NAMES))
    except Exception:  # fontconfig missing or broken: the default font still works
        log.warning("font lookup failed; using pygame's default font", exc_info=True)
        return None
    return str(path) if path else None


@functools.lru_cache(maxsize=1)
def find_fallback_fonts() -> tuple[str, ...]:
    """Paths of installed fonts that fill gaps in :func:`find_font`'s (emoji, symbols). Looked up once."""
    found: list[str] = []
    for name in FALLBACK_FONT_NAMES:
        try:
            path = pygame.font.match_font(name)
        except Exception:
            return ()
        if path and path != find_font() and path not in found:
            found.append(str(path))
    return tuple(found)


def _follows(ch: str) -> bool:
    """Characters drawn with the one before them (accents, joiners, variation selectors, skin tones)."""
    return unicodedata.category(ch) in ("Mn", "Me", "Cf", "Sk") and ch != " "


@functools.lru_cache(maxsize=256)
def parse_color(color: str) -> pygame.Color:
    """A wire colour "#rrggbb" as a pygame Color (black when it cannot be parsed)."""
    try:
        return pygame.Color(color)
    except ValueError:
        return pygame.Color(0, 0, 0)


class TextCache:
    """Fonts by size and rendered text surfaces by (text, size, colour), least recently used dropped.

    Each character is drawn with the main font when it has the glyph, else with the first fallback
    font that has it (an emoji in a CJK font's text), so a line is rendered as runs, one per font."""

    def __init__(
        self,
        font_path: str | None = None,
        capacity: int = TEXT_CACHE_SIZE,
        fallbacks: tuple[str, ...] | None = None,
    ) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        self.font_path = font_path if font_path is not None else find_font()
        self.paths: list[str | None] = [self.font_path]
        self.paths += list(find_fallback_fonts() if fallbacks is None else fallbacks)
        self.capacity = capacity
        self._fonts: dict[tuple[int, int], pygame.font.Font] = {}
        self._glyphs: list[pygame.freetype.Font | None] | None = None  # per path, to ask for a glyph
        self._font_of: dict[str, int] = {}  # character -> index in paths
        self._surfaces: OrderedDict[tuple[str, int, str], pygame.Surface] = OrderedDict()
        self.pixels = 0  # total area of the cached surfaces

    def font(self, size: int, index: int = 0) -> pygame.font.Font:
        font = self._fonts.get((index, size))
        if font is None:
            path = self.paths[index]
            try:
                font = pygame.font.Font(path, size)
            except (OSError, pygame.error):
                log.warning("cannot open font %s; using the default font", path)
                font = pygame.font.Font(None, size)
            if len(self._fonts) >= FONT_CACHE_SIZE:
                self._fonts.clear()
            self._fonts[(index, size)] = font
        return font

    def line_height(self, size: int) -> int:
        return int(self.font(size).get_linesize())

    def _font_index(self, ch: str) -> int:
        index = self._font_of.get(ch)
        if index is not None:
            return index
        if self._glyphs is None:
            if not pygame.freetype.get_init():
                pygame.freetype.init()
            self._glyphs = []
            for path in self.paths:
                try:
                    self._glyphs.append(pygame.freetype.Font(path, GLYPH_PROBE_SIZE))
                except (OSError, pygame.error):
                    self._glyphs.append(None)
        index = 0
        for i, probe in enumerate(self._glyphs):
            if probe is not None and probe.get_metrics(ch)[0] is not None:
                index = i
                break
        if len(self._font_of) < GLYPH_CACHE_SIZE:
            self._font_of[ch] = index
        return index

    def runs(self, line: str) -> list[tuple[int, str]]:
        """``line`` cut into runs of characters drawn with the same font: (font index, text)."""
        out: list[tuple[int, str]] = []
        for ch in line:
            if out and (_follows(ch) or ch == " "):
                out[-1] = (out[-1][0], out[-1][1] + ch)
                continue
            index = self._font_index(ch) if len(self.paths) > 1 else 0
            if out and out[-1][0] == index:
                out[-1] = (index, out[-1][1] + ch)
            else:
                out.append((index, ch))
        return out

    def surface(self, text: str, size: int, color: str) -> pygame.Surface:
        """``text`` (lines split on "\\n") rendered with a transparent background."""
        key = (text, size, color)
        surf = self._surfaces.get(key)
        if surf is not None:
            self._surfaces.move_to_end(key)
            return surf
        surf = self._render(text, size, parse_color(color))
        self._surfaces[key] = surf
        self.pixels += surf.get_width() * surf.get_height()
        while len(self._surfaces) > 1 and (
            len(self._surfaces) > self.capacity or self.pixels > TEXT_CACHE_PIXELS
        ):
            _, old = self._surfaces.popitem(last=False)
            self.pixels -= old.get_width() * old.get_height()
        return surf

    def _render_run(self, index: int, run: str, size: int, color: pygame.Color) -> pygame.Surface | None:
        font = self.font(size, index)
        try:
            surf = font.render(run, True, color)
        except pygame.error:  # zero width or too large: nothing for this run
            return None
        limit = self.line_height(size) * OVERSIZED_GLYPHS
        if surf.get_height() > limit:  # a bitmap emoji font renders at its one size: scale it
            factor = self.line_height(size) / surf.get_height()
            surf = pygame.transform.smoothscale(
                surf, (max(1, round(surf.get_width() * factor)), self.line_height(size))
            )
        return surf

    def _render_line(
        self, line: str, size: int, color: pygame.Color
    ) -> list[tuple[pygame.Surface, int, int]]:
        """The runs of one line as (surface, x, y) with their baselines lined up."""
        parts: list[Placed] = []
        runs = self.runs(line)
        ascent = max((self.font(size, i).get_ascent() for i, _ in runs), default=0)
        x = 0
        for index, run in runs:
            surf = self._render_run(index, run, size, color)
            if surf is not None:
                y = max(0, ascent - self.font(size, index).get_ascent())
                parts.append((surf, x, y))
                x += surf.get_width()
        return parts

    def _render(self, text: str, size: int, color: pygame.Color) -> pygame.Surface:
        line_h = self.line_height(size)
        max_chars = max(1, MAX_TEXT_PIXELS // max(1, size // 2))
        placed: list[Placed] = []
        for row, line in enumerate(text.split("\n")):
            for surf, x, y in self._render_line(line[:max_chars], size, color):
                placed.append((surf, x, y + row * line_h))
        width = max((x + s.get_width() for s, x, _ in placed), default=1)
        height = max([y + s.get_height() for s, _, y in placed] + [line_h * (text.count("\n") + 1)])
        out = pygame.Surface((max(width, 1), max(height, 1)), pygame.SRCALPHA)
        for surf, x, y in placed:
            out.blit(surf, (x, y))
        return out

    def box(self, obj: BoardObject) -> geometry.Box:
        """What ``obj`` paints, measured with these fonts (:func:`painted_box`). A board given this as
        its ``text_box`` indexes exactly the boxes a canvas drawing with this cache paints."""
        return painted_box(obj, self)

    def caret_position(self, text: str, size: int, index: int) -> tuple[int, int, int]:
        """(x, y, height) of a caret after ``index`` characters of ``text``, relative to its top-left."""
        before = text[:index]
        row = before.count("\n")
        col_text = before[before.rfind("\n") + 1 :]
        x = self.surface(col_text, size, "#000000").get_width() if col_text else 0  # cached while typing
        line_h = self.line_height(size)
        return x, row * line_h, line_h


def mapped(obj: BoardObject, scale: float, ox: float, oy: float) -> BoardObject:
    """``obj`` mapped by ``p -> offset + p * scale`` (points rounded, width and text size scaled): an
    object to draw in screen space."""
    pts = tuple((round(ox + x * scale), round(oy + y * scale)) for x, y in obj.points)
    return dataclasses.replace(
        obj, points=pts, width=max(1, round(obj.width * scale)), size=max(1, round(obj.size * scale))
    )


def painted_box(obj: BoardObject, texts: TextCache) -> geometry.Box:
    """Everything ``obj`` paints. Shapes: geometry.bbox; text: the size of its rendered surface."""
    if obj.kind != "text":
        return geometry.bbox(obj)
    x, y = obj.points[0]
    if not obj.text:
        return (x, y, x + 1, y + 1)
    surf = texts.surface(obj.text, obj.size, obj.color)
    return (x, y, x + surf.get_width(), y + surf.get_height())


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
    if cull is None:
        _polyline(surf, color, points, width)
        return
    for piece in _pieces_near(points, cull, width // 2 + 2):
        _polyline(surf, color, piece, width)


def _polyline(
    surf: pygame.Surface, color: pygame.Color, points: Sequence[tuple[int, int]], width: int
) -> None:
    """Each segment, then a dot on each point. Thick segments are quads perpendicular to the segment
    (pygame's own thick lines grow only vertically or horizontally, so diagonals came out thinner),
    and the dots are discs that round the joins and caps. Every piece depends only on its own ends,
    so a stroke painted in parts paints what it paints whole. The board's hottest loop: a late join
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
    polygon, hypot = pygame.draw.polygon, math.hypot
    half = width / 2
    ax, ay = points[0]
    for bx, by in islice(points, 1, None):
        dx, dy = bx - ax, by - ay
        if dx or dy:
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


def draw_object(
    surf: pygame.Surface, obj: BoardObject, texts: TextCache, cull: geometry.Box | None = None
) -> None:
    """Paint ``obj`` on ``surf`` (which should be clipped to the region being painted; ``cull``, that
    region, lets a long stroke skip its pieces outside it)."""
    color = parse_color(obj.color)
    w = obj.width
    if obj.kind in ("pencil", "line"):
        draw_segments(surf, color, obj.points, w, cull)
    elif obj.kind == "text":
        if obj.text:
            surf.blit(texts.surface(obj.text, obj.size, obj.color), obj.points[0])
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
) -> None:
    """Paint ``obj`` inside ``clip`` and its own painted box only (``box``, when already measured),
    leaving the clip as it was."""
    old = surf.get_clip()
    x0, y0, x1, y1 = painted_box(obj, texts) if box is None else box
    region = clip.clip(pygame.Rect(x0, y0, x1 - x0, y1 - y0))
    surf.set_clip(region)
    # a region smaller than the object (a damaged box): draw only the pieces of a stroke near it
    small = region.w < x1 - x0 or region.h < y1 - y0
    try:
        draw_object(surf, obj, texts, (region.x, region.y, region.right, region.bottom) if small else None)
    finally:
        surf.set_clip(old)
