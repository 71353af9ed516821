"""Text for the panels: a font set with per-character fallback, rendering, measuring and wrapping.

No single font has every script. :class:`FontSet` keeps a primary font (a clean sans when the system
has one, pygame's default otherwise) and fallbacks looked up at run time: a CJK font (WenQuanYi, Noto
CJK, Droid Sans Fallback, the platform's own) and an emoji font. A string is split into runs by the
first font that has each character (checked once per character with pygame.freetype, which reports
a missing glyph as None) and the runs are drawn side by side on one baseline.

``trace``: when a list, every string drawn through :meth:`FontSet.blit` is appended to it, so tests
can assert what a user would read without OCR.
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict

import pygame
import pygame.freetype

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

PRIMARY_FONTS = ("dejavusans", "notosans", "liberationsans", "segoeui", "arial", "helvetica", "freesans")
EMOJI_FONTS = ("notoemoji", "notocoloremoji", "segoeuiemoji", "applecoloremoji", "twemoji", "symbola")
OVERSIZED = 2  # a run taller than this many lines (a bitmap emoji font) is scaled to one line
RENDER_CACHE_SIZE = 1024  # rendered label surfaces kept (chat lines keep their own)
# Characters that never start a run of their own: joiners and variation selectors stay with their base.
_COMBINING = re.compile(r"[\u200c\u200d\ufe00-\ufe0f\u20e3\U0001f3fb-\U0001f3ff]")
# Wrapping: runs of spaces, single wide (CJK) characters, or runs of anything else.
_WIDE = r"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\U00020000-\U0002fa1f"
_PROBE = 256  # characters of a long word measured to see it does not fit (wider than any line)
# Characters of one wrapped line at most, however narrow they are: zero-width characters (a 64 KiB
# notice of U+200B) would otherwise make one line that takes ~100 ms to measure and as long to render.
# A line of real text in a panel holds far fewer (a 300-pixel row: ~90 "i").
MAX_LINE_CHARS = 256
_TOKEN = re.compile(rf"\s+|[{_WIDE}]|[^\s{_WIDE}]+")


def find_font(names: tuple[str, ...]) -> str | None:
    """The file of the first installed font among ``names`` (pygame sysfont names), or None."""
    for name in names:
        try:
            path = pygame.font.match_font(name)
        except Exception:  # a broken fontconfig must not stop the client
            log.debug("font lookup failed for %s", name, exc_info=True)
            return None
        if path:
            return _regular_sibling(str(path))
    return None


def _regular_sibling(path: str) -> str:
    """pygame's sysfont may pick a family's condensed face (DejaVuSansCondensed.ttf): prefer the regular."""
    if "Condensed" in path:
        regular = path.replace("Condensed", "")
        if os.path.exists(regular):
            return regular
    return path


def cjk_font_path() -> str | None:
    """The system's font with CJK glyphs, or None (the bundled Noto Sans CJK stands in then)."""
    return find_font(CJK_FONT_NAMES)


class FontSet:
    """Fonts in every size the UI asks for, with fallback for characters the primary font lacks."""

    def __init__(self, paths: list[str | None] | None = None) -> None:
        if not pygame.font.get_init():
            pygame.font.init()
        if not pygame.freetype.get_init():
            pygame.freetype.init()
        bundled: list[str] = []
        if paths is None:
            paths = [find_font(PRIMARY_FONTS) or bundled_main_font()]
            for extra in (cjk_font_path(), find_font(EMOJI_FONTS)):
                if extra and extra not in paths:
                    paths.append(extra)
            bundled = [p for p in bundled_fonts() if p not in paths]
        self.paths: list[str | None] = [*(paths or [None]), *bundled]
        # line metrics come from the chosen fonts alone: the script fonts pip brings (some very tall:
        # Myanmar, Thai) are drawn on the same baseline without making every UI line taller
        self._metric_fonts = len(self.paths) - len(bundled)
        # opened when a character is first looked for in them (most text never reaches the script
        # fonts: a file descriptor each)
        self._probes: list[pygame.freetype.Font | None | bool] = [False] * len(self.paths)
        self._fonts: dict[tuple[int, int, bool, bool], pygame.font.Font] = {}
        self._coverage: dict[str, int] = {}
        self._metrics: dict[int, tuple[int, int]] = {}  # by size (a few sizes: the UI's)
        self._cache: OrderedDict[tuple[object, ...], pygame.Surface] = OrderedDict()
        self.trace: list[str] | None = None
        # the work of measuring, counted for budgets: one per width() call plus one per 8 characters
        # (a call costs ~5 us; a long string of fallback-font characters ~0.7 us a character more)
        self.measured = 0

    # -- fonts and runs

    def font(self, size: int, index: int = 0, bold: bool = False, italic: bool = False) -> pygame.font.Font:
        key = (size, index, bold, italic)
        font = self._fonts.get(key)
        if font is None:
            try:
                font = open_font(self.paths[index], size)
            except (OSError, pygame.error):
                font = pygame.font.Font(None, size)
            if bold:
                font.bold = True
            font.italic = italic
            self._fonts[key] = font
        return font

    def _probe(self, i: int) -> pygame.freetype.Font | None:
        probe = self._probes[i]
        if probe is False:
            try:
                probe = pygame.freetype.Font(self.paths[i], 12)
            except (OSError, pygame.error):
                log.warning("cannot open font %s; it is skipped", self.paths[i])
                probe = None
            self._probes[i] = probe
        return probe if isinstance(probe, pygame.freetype.Font) else None

    def _has(self, i: int, ch: str) -> bool:
        probe = self._probe(i)
        return probe is not None and font_has(probe, ch)

    def _font_for(self, ch: str) -> int:
        idx = self._coverage.get(ch)
        if idx is None:
            idx = 0
            if ord(ch) >= 0x80:  # ASCII: every font has it
                idx = next((i for i in range(len(self.paths)) if self._has(i, ch)), 0)
            self._coverage[ch] = idx
        return idx

    def has_glyph(self, ch: str) -> bool:
        """True when some font of the set draws ``ch`` (not a replacement box)."""
        return any(self._has(i, ch) for i in range(len(self.paths)))

    def shaped(self, text: str, ordered: bool = True) -> list[tuple[int, str, str]]:
        """``text`` as runs of one font, script and direction, left to right (:func:`shaped_runs`;
        ``ordered=False``: in logical order, enough to measure a width, without the bidi algorithm)."""
        if text.isascii():
            return [(0, text, "")] if text else []
        return shaped_runs(text, self._font_for, lambda ch: bool(_COMBINING.match(ch)), ordered)

    def runs(self, text: str) -> list[tuple[int, str]]:
        """``text`` as (font index, substring) runs (linear in its length: a 2,000-character chat line
        is split in one pass, not rebuilt character by character)."""
        if text.isascii():
            return [(0, text)] if text else []  # every font has ASCII: one run in the primary font
        out: list[tuple[int, list[str]]] = []
        for ch in text:
            if out and (_COMBINING.match(ch) or ch == " "):
                idx = out[-1][0]
            else:
                idx = self._font_for(ch)
            if out and out[-1][0] == idx:
                out[-1][1].append(ch)
            else:
                out.append((idx, [ch]))
        return [(idx, "".join(chars)) for idx, chars in out]

    def metrics(self, size: int) -> tuple[int, int]:
        """(ascent, height) shared by every line of this size, whichever fonts it uses."""
        found = self._metrics.get(size)
        if found is not None:
            return found
        # a bitmap emoji font (one size, ~109 pixels) is scaled to the line, not counted in it
        limit = self.font(size).get_height() * OVERSIZED
        fonts = [self.font(size, i) for i in range(self._metric_fonts)]
        fonts = [f for f in fonts if f.get_height() <= limit]
        asc = max(f.get_ascent() for f in fonts)
        desc = max(-f.get_descent() for f in fonts)
        # SDL_ttf renders a line a pixel taller than ascent + descent at some sizes, and DejaVu's
        # underscore sits in that last row: cut to ascent + descent (each font's run placed on the
        # shared baseline), "user_1" read "user 1" at 11, 12, 15 and 16 pixels (People, the chat)
        # (and a rendered line can be taller than get_height() says: measured on a probe)
        height = max(
            asc + desc, *(asc - f.get_ascent() + f.render("_g", True, (0, 0, 0)).get_height() for f in fonts)
        )
        self._metrics[size] = (asc, height)
        return asc, height

    def line_height(self, size: int) -> int:
        return self.metrics(size)[1]

    # -- measuring and drawing

    def width(self, text: str, size: int, bold: bool = False, italic: bool = False) -> int:
        self.measured += 1 + len(text) // 8
        total = 0
        for i, run, shape in self.shaped(text, ordered=False):  # wrapping measures often: no bidi
            font = self.font(size, i, bold, italic)
            apply_shape(font, shape)
            w, h = font.size(run)
            total += self._fit_width(w, h, size)
        return total

    def _fit_width(self, w: int, h: int, size: int) -> int:
        """A run's width once drawn: a bitmap emoji font's run (a colour emoji font renders at its one
        size, ~109 pixels) is scaled to the line's height."""
        height = self.metrics(size)[1]
        return max(1, round(w * height / h)) if h > height * OVERSIZED else w

    def render(
        self,
        text: str,
        size: int,
        color: tuple[int, ...],
        *,
        bold: bool = False,
        italic: bool = False,
        underline: bool = False,
        cache: bool = True,
    ) -> pygame.Surface:
        """``text`` on a transparent surface, one line, every run on the shared baseline.

        Cached unless ``cache`` is False (the chat keeps its own rows and must not crowd out labels).
        """
        if not cache:
            return self._render(text, size, color, bold, italic, underline)
        key = (text, size, tuple(color), bold, italic, underline)
        surf = self._cache.get(key)
        if surf is not None:
            self._cache.move_to_end(key)
            return surf
        surf = self._render(text, size, color, bold, italic, underline)
        self._cache[key] = surf
        if len(self._cache) > RENDER_CACHE_SIZE:
            self._cache.popitem(last=False)
        return surf

    def _render(
        self, text: str, size: int, color: tuple[int, ...], bold: bool, italic: bool, underline: bool
    ) -> pygame.Surface:
        asc, height = self.metrics(size)
        pieces = []
        for idx, run, shape in self.shaped(text):
            font = self.font(size, idx, bold, italic)
            apply_shape(font, shape)
            font.underline = underline
            rendered = font.render(run, True, color)
            font.underline = False
            w, h = rendered.get_size()
            if h > height * OVERSIZED:  # a colour emoji font's bitmaps: scaled to the line
                rendered = pygame.transform.smoothscale(rendered, (self._fit_width(w, h, size), height))
                pieces.append((rendered, 0))
            else:
                pieces.append((rendered, asc - font.get_ascent()))
        total = sum(p[0].get_width() for p in pieces)
        surf = pygame.Surface((max(1, total), height), pygame.SRCALPHA)
        x = 0
        for piece, y in pieces:
            surf.blit(piece, (x, y))
            x += piece.get_width()
        return surf

    def blit(
        self,
        surface: pygame.Surface,
        text: str,
        pos: tuple[int, int],
        size: int,
        color: tuple[int, ...],
        *,
        bold: bool = False,
        italic: bool = False,
        anchor: str = "topleft",
        max_width: int | None = None,
    ) -> pygame.Rect:
        """Draw ``text`` with its ``anchor`` point (a pygame.Rect attribute) at ``pos``; returns its rect.

        ``max_width`` shortens the text with an ellipsis to fit.
        """
        if max_width is not None and self.width(text, size, bold, italic) > max_width:
            text = self.elide(text, size, max_width, bold=bold)
        surf = self.render(text, size, color, bold=bold, italic=italic)
        rect = surf.get_rect(**{anchor: pos})
        surface.blit(surf, rect)
        if self.trace is not None:
            self.trace.append(text)
        return rect

    def elide(self, text: str, size: int, max_width: int, bold: bool = False) -> str:
        """The longest prefix of ``text`` plus an ellipsis that fits ``max_width``."""
        lo, hi = 0, len(text)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid] + "…", size, bold) <= max_width:
                lo = mid
            else:
                hi = mid - 1
        return text[:lo] + "…"

    def wrap(
        self,
        text: str,
        size: int,
        first_width: int,
        rest_width: int | None = None,
        *,
        italic: bool = False,
        max_lines: int | None = None,
    ) -> list[str]:
        """``text`` broken into lines: at spaces, between CJK characters, inside over-long words.

        Bounded work: no string longer than about two lines is ever measured (an over-long word is cut
        by a galloping search, so a 2,000-character word costs O(line log line) per line, not a measure
        of the whole rest per line), and with ``max_lines`` the wrapping stops once that many lines are
        made: the caller learns that more follow from getting exactly ``max_lines`` back.
        """
        rest_width = first_width if rest_width is None else rest_width
        lines: list[str] = []
        line = ""
        limit = first_width
        for match in _TOKEN.finditer(text.replace("\n", " ")):
            if max_lines is not None and len(lines) >= max_lines:
                return lines[:max_lines]
            token = match.group()
            candidate = line + token
            if token.isspace():
                line = candidate  # never measured: spaces at a break vanish (the line is stripped)
                continue
            if len(candidate) > MAX_LINE_CHARS:
                fits = False
            elif len(token) <= _PROBE:
                fits = self.width(candidate, size, italic=italic) <= limit
            else:  # a long word: a prefix too wide says enough; else find out without measuring it all
                probe = candidate[: len(line) + _PROBE]
                fits = self.width(probe, size, italic=italic) <= limit
                fits = fits and self._fit(candidate, size, limit, italic) >= len(candidate)
            if fits:
                line = candidate
                continue
            if line.strip():
                lines.append(line.rstrip())
                limit = rest_width
            line = token
            while len(line) > 1 and (max_lines is None or len(lines) < max_lines):
                cut = self._fit(line, size, limit, italic)
                if cut >= len(line):
                    break
                lines.append(line[:cut])
                limit = rest_width
                line = line[cut:]
        if (line.strip() or not lines) and (max_lines is None or len(lines) < max_lines):
            lines.append(line.rstrip())
        return lines if max_lines is None else lines[:max_lines]

    def _fit(self, text: str, size: int, limit: int, italic: bool) -> int:
        """How many leading characters of ``text`` fit ``limit`` (at least one).

        Galloping: prefixes of 8, 16, 32... characters until one is too wide, then a binary search
        between the last two, so the cost follows what fits, never the length of ``text``. Never more
        than MAX_LINE_CHARS."""
        n = min(len(text), MAX_LINE_CHARS)
        lo, hi = 1, min(n, 8)
        while self.width(text[:hi], size, italic=italic) <= limit:
            if hi == n:
                return n
            lo, hi = hi, min(n, hi * 2)
        hi -= 1  # text[:hi + 1] is too wide
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.width(text[:mid], size, italic=italic) <= limit:
                lo = mid
            else:
                hi = mid - 1
        return lo
