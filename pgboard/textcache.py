"""Text on the board: the fonts (a CJK font and fallbacks for emoji and symbols), a text object's box
measured from font metrics, and its lines rendered piece by piece where a painted region shows them.

Whatever a valid text object holds (2,000 characters, size 200: a line 16,000 pixels wide, a text
470,000 pixels tall), measuring it costs what its characters cost, never its area, and painting it
renders only the pieces the region being painted meets, none larger than MAX_SURFACE_PIXELS
(issue 10). :mod:`pgboard.render` paints with it and re-exports its names.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from collections import OrderedDict
from collections.abc import Callable

import pygame
import pygame.freetype

from pgboard import geometry
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject
from pgboard.scripts import (
    CJK_FONT_NAMES,
    apply_shape,
    bundled_fonts,
    bundled_main_font,
    font_has,
    open_font,
    shaped_runs,
)

log = logging.getLogger(__name__)

# A piece of a text line: (font index, its characters, x, y from the line's top, width, height, whether
# it is scaled to the line: a bitmap emoji font's run, its HarfBuzz shaping: scripts.Shape), all from
# font metrics, before any rendering.
Piece = tuple[int, str, int, int, int, int, bool, str]

# The board's main font: the system's CJK font (it covers Latin as well), else one of these.
MAIN_FONT_NAMES = (*CJK_FONT_NAMES, "notosans", "dejavusans")
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
FALLBACK_OVERHANG = 0.2  # a fallback font's run may paint this many line heights below its line (the
# long descenders of Arabic and Devanagari); its glyphs above the main font's ascent are cut (Noto's
# script fonts reserve room there for stacked marks that ordinary text does not reach)
OVERSIZED_GLYPHS = 2  # a run taller than this many lines (a bitmap emoji font) is scaled to one line
MAX_TEXT_PIXELS = 16_000  # a text line is cut where it passes this many pixels wide, measured with
# the font's metrics (SDL's surface limit; a text is measured from metrics and never rendered whole)
MAX_RUN_PIXELS = 2_048  # a run of one font wider than this is rendered in pieces about this wide, and
# only the pieces a painted region meets are rendered (a run that fits renders as it always did)
MAX_SURFACE_PIXELS = 4_000_000  # no rendered text surface is larger (16 MB RGBA): one glyph bigger
# than that (a size-200 text zoomed in far) is left out; the cache's TEXT_CACHE_PIXELS holds 4 of them
LAYOUT_CACHE_SIZE = 4096  # measured lines and texts kept (each at most MAX_TEXT characters)
LAYOUT_CACHE_PIECES = 100_000  # and at most this many pieces in them (~20 MB): a line whose characters
# alternate between fonts (CJK, emoji, Latin) is a piece per character, up to 2,000 a line


@functools.lru_cache(maxsize=1)
def find_font() -> str | None:
    """The path of a font that covers CJK, or None for pygame's default font. Looked up once."""
    try:
        path = pygame.font.match_font(list(MAIN_FONT_NAMES))
    except Exception:  # fontconfig missing or broken: the default font still works
        log.warning("font lookup failed; using pygame's default font", exc_info=True)
        return None
    return str(path) if path else bundled_main_font()


@functools.lru_cache(maxsize=1)
def find_fallback_fonts() -> tuple[str, ...]:
    """Paths of fonts that fill gaps in :func:`find_font`'s: the system's colour emoji font when it has
    one, then the script and emoji fonts pip installed (:func:`scripts.bundled_fonts`), then the
    system's other emoji and symbol fonts. Looked up once."""
    found: list[str] = []
    for i, name in enumerate(FALLBACK_FONT_NAMES):
        if i == 1:
            found += [p for p in bundled_fonts() if p not in found]
        try:
            path = pygame.font.match_font(name)
        except Exception:
            continue
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
        self._glyphs: list[pygame.freetype.Font | None | bool] | None = None  # per path, to ask for a glyph
        self._font_of: dict[str, int] = {}  # character -> index in paths
        self._surfaces: OrderedDict[tuple[object, ...], pygame.Surface] = OrderedDict()
        self.pixels = 0  # total area of the cached surfaces
        self._layouts: dict[tuple[str, int], tuple[Piece, ...]] = {}
        self._layout_pieces = 0  # pieces held in _layouts
        self._measured: dict[tuple[str, int], tuple[int, int]] = {}
        # what was rendered, for tests and the bench: total and largest surface area (pixels), and
        # pieces too big to render at all
        self.stats = {"pixels_rendered": 0, "largest_surface": 0, "pieces_refused": 0}

    def font(self, size: int, index: int = 0) -> pygame.font.Font:
        font = self._fonts.get((index, size))
        if font is None:
            path = self.paths[index]
            try:
                font = open_font(path, size)
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
            self._glyphs = [False] * len(self.paths)  # each opened when first asked (a descriptor each)
        index = 0
        for i in range(len(self.paths)):
            probe = self._glyphs[i]
            if probe is False:
                try:
                    probe = pygame.freetype.Font(self.paths[i], GLYPH_PROBE_SIZE)
                except (OSError, pygame.error):
                    probe = None
                self._glyphs[i] = probe
            if isinstance(probe, pygame.freetype.Font) and font_has(probe, ch):
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

    def shaped(self, line: str) -> list[tuple[int, str, str]]:
        """``line`` as runs of one font, script and direction, left to right (:func:`shaped_runs`)."""
        index = self._font_index if len(self.paths) > 1 else (lambda ch: 0)
        return shaped_runs(line, index, _follows)

    def surface(self, text: str, size: int, color: str) -> pygame.Surface:
        """``text`` (lines split on "\\n") rendered with a transparent background, for short labels
        (a cursor's name): a board's text is painted piece by piece with :meth:`paint` instead. The
        surface is cut to the first MAX_SURFACE_PIXELS of it, so no label costs more."""
        key = ("\0surface", text, size, color)
        surf = self._surfaces.get(key)
        if surf is not None:
            self._surfaces.move_to_end(key)
            return surf
        w, h = self.measure(text, size)
        if w * h > MAX_SURFACE_PIXELS:
            h = max(1, min(h, MAX_SURFACE_PIXELS // max(1, w)))
            w = max(1, min(w, MAX_SURFACE_PIXELS // h))
        surf = pygame.Surface((w, h), pygame.SRCALPHA)
        self.paint(surf, text, size, color, 0, 0)
        self._keep(key, surf)
        return surf

    def _keep(self, key: tuple[object, ...], surf: pygame.Surface) -> None:
        self._surfaces[key] = surf
        area = surf.get_width() * surf.get_height()
        self.pixels += area
        self.stats["pixels_rendered"] += area
        self.stats["largest_surface"] = max(self.stats["largest_surface"], area)
        while len(self._surfaces) > 1 and (
            len(self._surfaces) > self.capacity or self.pixels > TEXT_CACHE_PIXELS
        ):
            _, old = self._surfaces.popitem(last=False)
            self.pixels -= old.get_width() * old.get_height()

    def _piece(self, piece: Piece, size: int, color: str) -> pygame.Surface | None:
        """One piece of a line rendered (cached): at most MAX_SURFACE_PIXELS, else None."""
        index, run, _, _, w, h, scaled, shape = piece
        key = (index, run, size, color, shape)
        surf = self._surfaces.get(key)
        if surf is not None:
            self._surfaces.move_to_end(key)
            return surf
        font = self.font(size, index)
        apply_shape(font, shape)
        native = font.size(run)
        if native[0] * native[1] > MAX_SURFACE_PIXELS or w * h > MAX_SURFACE_PIXELS:
            self.stats["pieces_refused"] += 1
            return None  # a glyph too big to render (a giant size zoomed in): not drawn
        try:
            surf = font.render(run, True, parse_color(color))
        except pygame.error:  # zero width or too large: nothing for this piece
            return None
        if scaled:  # a bitmap emoji font renders at its one size: scaled to the line
            surf = pygame.transform.smoothscale(surf, (w, h))
        elif surf.get_height() != h:  # a taller fallback font: cut to the line (see line_layout)
            cut = max(0, font.get_ascent() - self.font(size).get_ascent())
            area = pygame.Rect(0, cut, surf.get_width(), h).clip(surf.get_rect())
            surf = surf.subsurface(area).copy()
        self._keep(key, surf)
        return surf

    def _split(self, font: pygame.font.Font, run: str, room: int) -> list[tuple[str, int, int]]:
        """``run`` as pieces (text, width, height) of at most about MAX_RUN_PIXELS wide each (a run that
        fits is one piece, rendered as before), measured with the font's metrics, never rendered;
        pieces past ``room`` pixels are left out."""
        w, h = font.size(run)
        if w <= MAX_RUN_PIXELS:
            return [(run, w, h)]
        out: list[tuple[str, int, int]] = []
        start, acc, used = 0, 0, 0
        advance = self._advances(font)
        for i, ch in enumerate(run):
            cw = advance(ch)
            if acc + cw > MAX_RUN_PIXELS and i > start and not _follows(ch):
                pw, ph = font.size(run[start:i])
                out.append((run[start:i], pw, ph))
                used += pw
                start, acc = i, 0
                if used >= room:
                    return out
            acc += cw
        pw, ph = font.size(run[start:])
        out.append((run[start:], pw, ph))
        return out

    def _advances(self, font: pygame.font.Font) -> Callable[[str], int]:
        cache: dict[str, int] = {}

        def advance(ch: str) -> int:
            found = cache.get(ch)
            if found is None:
                found = cache[ch] = int(font.size(ch)[0])
            return found

        return advance

    def line_layout(self, line: str, size: int) -> tuple[Piece, ...]:
        """Where the pieces of one line go (baselines lined up), from font metrics alone: nothing is
        rendered. The line is cut where it passes MAX_TEXT_PIXELS wide."""
        key = (line, size)
        found = self._layouts.get(key)
        if found is not None:
            return found
        runs = self.shaped(line)
        line_h = self.line_height(size)
        ascent = self.font(size).get_ascent()  # the main font's baseline for every run
        bottom = line_h + int(line_h * FALLBACK_OVERHANG)  # how far below the line's top a run may paint
        pieces: list[Piece] = []
        x = 0
        for index, run, shape in runs:
            if x >= MAX_TEXT_PIXELS:
                break
            font = self.font(size, index)
            apply_shape(font, shape)
            y = max(0, ascent - font.get_ascent())
            cut = max(0, font.get_ascent() - ascent)  # rows above the line, not painted (_piece)
            split = self._split(font, run, MAX_TEXT_PIXELS - x)
            if shape.endswith("/R"):
                split.reverse()  # a right-to-left run's first piece is drawn at its right end
            for text, w, h in split:
                if x >= MAX_TEXT_PIXELS:
                    break
                if w <= 0:
                    continue  # zero width: pygame renders nothing for it
                scaled = h > line_h * OVERSIZED_GLYPHS
                if scaled:
                    w, h = max(1, round(w * line_h / h)), line_h
                else:
                    h = max(1, min(h - cut, bottom - y))
                pieces.append((index, text, x, y, w, h, scaled, shape))
                x += w
        out = tuple(pieces)
        if len(self._layouts) >= LAYOUT_CACHE_SIZE or self._layout_pieces > LAYOUT_CACHE_PIECES:
            self._layouts.clear()
            self._layout_pieces = 0
        self._layouts[key] = out
        self._layout_pieces += len(out)
        return out

    def measure(self, text: str, size: int) -> tuple[int, int]:
        """(width, height) that ``text`` paints at ``size``, from font metrics: line height times lines,
        the widest line measured run by run. Costs what the text's characters cost, never its area."""
        key = (text, size)
        found = self._measured.get(key)
        if found is not None:
            return found
        line_h = self.line_height(size)
        lines = text.split("\n")
        width, height = 1, line_h * len(lines)
        for row, line in enumerate(lines):
            for _, _, x, y, w, h, _, _ in self.line_layout(line, size):
                width = max(width, x + w)
                height = max(height, row * line_h + y + h)
        if len(self._measured) >= LAYOUT_CACHE_SIZE:
            self._measured.clear()
        self._measured[key] = (width, max(height, 1))
        return self._measured[key]

    def paint(self, surf: pygame.Surface, text: str, size: int, color: str, x0: int, y0: int) -> None:
        """Blit ``text`` with its top-left at (x0, y0), rendering only the pieces of the lines that
        meet ``surf``'s clip: painting costs the area shown, whatever the text's size."""
        clip = surf.get_clip()
        line_h = max(1, self.line_height(size))
        lines = text.split("\n")
        # a piece lies at most (1 + OVERSIZED_GLYPHS) lines below its row's top (ascent + height)
        first = max(0, (clip.top - y0) // line_h - 1 - OVERSIZED_GLYPHS)
        last = min(len(lines), (clip.bottom - y0) // line_h + 1)
        for row in range(first, last):
            top = y0 + row * line_h
            for piece in self.line_layout(lines[row], size):
                _, _, x, y, w, h, _, _ = piece
                if x0 + x >= clip.right or x0 + x + w <= clip.left:
                    continue
                if top + y >= clip.bottom or top + y + h <= clip.top:
                    continue
                rendered = self._piece(piece, size, color)
                if rendered is not None:
                    surf.blit(rendered, (x0 + x, top + y))

    def box(self, obj: BoardObject) -> geometry.Box:
        """What ``obj`` paints, measured with these fonts (:func:`painted_box`). A board given this as
        its ``text_box`` indexes exactly the boxes a canvas drawing with this cache paints. Never
        raises for a board's content: a text the fonts cannot measure gets the estimate."""
        try:
            return painted_box(obj, self)
        except (pygame.error, MemoryError, ValueError, OverflowError):
            log.exception("cannot measure text %s: its box is estimated", obj.id)
            return geometry.bbox(obj)

    def caret_position(self, text: str, size: int, index: int) -> tuple[int, int, int]:
        """(x, y, height) of a caret after ``index`` characters of ``text``, relative to its top-left."""
        before = text[:index]
        row = before.count("\n")
        col_text = before[before.rfind("\n") + 1 :]
        x = self.measure(col_text, size)[0] if col_text else 0  # metrics, cached while typing
        line_h = self.line_height(size)
        return x, row * line_h, line_h


def painted_box(obj: BoardObject, texts: TextCache) -> geometry.Box:
    """Everything ``obj`` paints. Shapes: geometry.bbox; text: its size from font metrics (what it
    would render to), cut at the board's edge: nothing is shown past it, and a text 400,000 pixels
    tall must not be indexed in thousands of grid cells."""
    if obj.kind != "text":
        return geometry.bbox(obj)
    x, y = obj.points[0]
    if not obj.text:
        return (x, y, x + 1, y + 1)
    w, h = texts.measure(obj.text, obj.size)
    return (x, y, min(x + w, max(x + 1, BOARD_W)), min(y + h, max(y + 1, BOARD_H)))
