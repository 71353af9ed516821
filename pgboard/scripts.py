"""Text in every script: the fonts pip brings for the scripts and emoji a system may lack, the
Unicode bidirectional algorithm for lines that mix right-to-left and left-to-right text, and
HarfBuzz shaping through pygame-ce's own SDL_ttf (``Font.set_script``, ``Font.set_direction``).

Both text paths (:mod:`pgboard.textcache` for the board, :mod:`pgboard.widgets.text` for the panels)
cut a line into runs of one font, one script and one direction with :func:`shaped_runs`, in the order
they are drawn from left to right, and call :func:`apply_shape` on a run's font before measuring or
rendering it. SDL_ttf draws a run shaped right-to-left in visual order itself (its first letter at
the right), so a run's text stays in logical order. A line without right-to-left characters costs
no bidi work.
"""

from __future__ import annotations

import functools
import logging
import os
import unicodedata
from collections.abc import Callable

import pygame
import pygame.freetype

log = logging.getLogger(__name__)

# Shaping of a run: "" (SDL_ttf's default, unknown script, left to right) or "SCRIPT/L" or "SCRIPT/R"
# (ISO 15924 code and direction).
Shape = str

# The script of a character from the first word of its Unicode name (the scripts HarfBuzz shapes
# differently from Latin; others are drawn with the default shaping).
SCRIPT_CODES = {
    "ARABIC": "Arab",
    "HEBREW": "Hebr",
    "SYRIAC": "Syrc",
    "THAANA": "Thaa",
    "NKO": "Nkoo",
    "DEVANAGARI": "Deva",
    "BENGALI": "Beng",
    "GURMUKHI": "Guru",
    "GUJARATI": "Gujr",
    "ORIYA": "Orya",
    "TAMIL": "Taml",
    "TELUGU": "Telu",
    "KANNADA": "Knda",
    "MALAYALAM": "Mlym",
    "SINHALA": "Sinh",
    "THAI": "Thai",
    "LAO": "Laoo",
    "TIBETAN": "Tibt",
    "MYANMAR": "Mymr",
    "KHMER": "Khmr",
    "ETHIOPIC": "Ethi",
    "GEORGIAN": "Geor",
    "ARMENIAN": "Armn",
}
RTL_SCRIPTS = frozenset(("Arab", "Hebr", "Syrc", "Thaa", "Nkoo"))  # written right to left
# Bidi classes that make a line need the bidi algorithm.
_RTL_CLASSES = frozenset(("R", "AL", "RLE", "RLO", "RLI"))
# The fonts of the manimgx-fonts wheel (unmodified Noto, OFL: pgboard/assets/fonts/LICENSE-noto.txt), in the
# order they are tried after the system's colour emoji font: emoji, then the scripts, then symbols.
BUNDLED_FONT_FILES = (
    "NotoEmoji[wght].ttf",
    "NotoSansArabic[wght].ttf",
    "NotoSansHebrew[wght].ttf",
    "NotoSansDevanagari[wght].ttf",
    "NotoSansThai[wght].ttf",
    "NotoSansBengali[wght].ttf",
    "NotoSansTamil[wght].ttf",
    "NotoSansTelugu[wght].ttf",
    "NotoSansKannada[wght].ttf",
    "NotoSansMalayalam[wght].ttf",
    "NotoSansGujarati[wght].ttf",
    "NotoSansGurmukhi[wght].ttf",
    "NotoSansOriya[wght].ttf",
    "NotoSansSinhala[wght].ttf",
    "NotoSansLao[wght].ttf",
    "NotoSansKhmer[wght].ttf",
    "NotoSansMyanmar[wght].ttf",
    "NotoSansEthiopic[wght].ttf",
    "NotoSansGeorgian[wght].ttf",
    "NotoSansArmenian[wght].ttf",
    "NotoSansSymbols[wght].ttf",
    "NotoSans[wght].ttf",
)


@functools.lru_cache(maxsize=1)
def bundled_fonts() -> tuple[str, ...]:
    """Paths of the script and emoji fonts pip installed with pgboard (empty when they are missing)."""
    try:
        import manimgx_fonts  # type: ignore[import-untyped]
    except ImportError:
        log.warning("the font package manimgx-fonts is missing: some scripts may show as boxes")
        return ()
    folder = os.path.dirname(manimgx_fonts.__file__)
    return tuple(p for p in (os.path.join(folder, f) for f in BUNDLED_FONT_FILES) if os.path.isfile(p))


@functools.lru_cache(maxsize=4096)
def script_of(ch: str) -> str | None:
    """ISO 15924 code of ``ch``'s script when it shapes differently from Latin, else None."""
    if ch.isascii():
        return None
    name = unicodedata.name(ch, "")
    return SCRIPT_CODES.get(name.split(" ", 1)[0]) if name else None


def needs_bidi(line: str) -> bool:
    return not line.isascii() and any(unicodedata.bidirectional(ch) in _RTL_CLASSES for ch in line)


BIDI_CACHE_SIZE = 256  # lines whose bidi levels are kept (a text is laid out again at every zoom
# size, a chat line at every wrap: the algorithm, in Python, costs ~10 ms for 2,000 characters);
# at most ~4 MB for lines of 2,000 characters


@functools.lru_cache(maxsize=BIDI_CACHE_SIZE)
def bidi_levels(line: str) -> tuple[int, ...]:
    """The resolved embedding level of each character of ``line`` (UAX #9, python-bidi's algorithm;
    odd is right-to-left). All 0 when the line has no right-to-left character."""
    if not needs_bidi(line):
        return (0,) * len(line)
    from bidi import algorithm as uax9  # type: ignore[import-untyped]

    storage = uax9.get_empty_storage()
    base = uax9.get_base_level(line)
    storage["base_level"] = base
    storage["base_dir"] = ("L", "R")[base]
    uax9.get_embedding_levels(line, storage, False, False)
    for i, char in enumerate(storage["chars"]):
        char["index"] = i  # explicit embedding controls are dropped below: keep where each came from
    uax9.explicit_embed_and_overrides(storage, False)
    uax9.resolve_weak_types(storage, False)
    uax9.resolve_neutral_types(storage, False)
    uax9.resolve_implicit_levels(storage, False)
    levels = [-1] * len(line)
    for char in storage["chars"]:
        levels[char["index"]] = char["level"]
    last = base
    for i, level in enumerate(levels):  # a dropped control takes the level before it
        if level < 0:
            levels[i] = last
        last = levels[i]
    return tuple(levels)


def shaped_runs(
    line: str, font_index: Callable[[str], int], follows: Callable[[str], bool], ordered: bool = True
) -> list[tuple[int, str, Shape]]:
    """``line`` as runs (font index, text in logical order, shape), in drawing order from left to
    right: one font, one script and one direction each. Marks and joiners stay with the run before
    them when they share its direction, and so does a space after a script's letters (a word break
    inside a Hebrew phrase); any other space is drawn with the first font that has it (the main font:
    an emoji font's space is an em wide).

    ``ordered=False`` (for measuring a width, which the order does not change) skips the bidi
    algorithm: runs stay in logical order, each script shaped in its own direction."""
    levels = bidi_levels(line) if ordered else (0,) * len(line)
    logical: list[tuple[int, str | None, int, list[str]]] = []
    for ch, level in zip(line, levels, strict=True):
        if logical and logical[-1][2] == level and (follows(ch) or ch == " " and logical[-1][1] is not None):
            logical[-1][3].append(ch)
            continue
        index = font_index(ch)
        script = script_of(ch) or (logical[-1][1] if logical and logical[-1][2] == level else None)
        if logical and logical[-1][0] == index and logical[-1][1] == script and logical[-1][2] == level:
            logical[-1][3].append(ch)
        else:
            logical.append((index, script, level, [ch]))
    # UAX #9 L2: from the highest level down to the lowest odd one, reverse every sequence of runs
    # at that level or higher
    order = list(range(len(logical)))
    run_levels = [run[2] for run in logical]
    if any(level % 2 for level in run_levels):
        top = max(run_levels)
        lowest_odd = min(level for level in run_levels if level % 2)
        for level in range(top, lowest_odd - 1, -1):
            i = 0
            while i < len(order):
                if run_levels[order[i]] >= level:
                    j = i
                    while j < len(order) and run_levels[order[j]] >= level:
                        j += 1
                    order[i:j] = order[i:j][::-1]
                    i = j
                else:
                    i += 1
    out: list[tuple[int, str, Shape]] = []
    for k in order:
        index, script, level, chars = logical[k]
        rtl = level % 2 == 1 or (not ordered and script in RTL_SCRIPTS)
        shape = f"{script or 'Zyyy'}/{'R' if rtl else 'L'}" if script or rtl else ""
        out.append((index, "".join(chars), shape))
    return out


def apply_shape(font: pygame.font.Font, shape: Shape) -> None:
    """Set ``font``'s HarfBuzz script and direction for a run of ``shape`` (the fonts are shared, so
    every measure and render sets it first). Without HarfBuzz in SDL_ttf the calls fail: ignored."""
    # "Zzzz" (unknown) is SDL_ttf's default: Latin and CJK drawn as before, and no mark stacking
    # ("Latn" stacks 43,000 combining accents into a glyph 145,000 pixels tall)
    script, _, direction = shape.partition("/") if shape else ("Zzzz", "", "L")
    try:
        font.set_script(script)
        font.set_direction(pygame.DIRECTION_RTL if direction == "R" else pygame.DIRECTION_LTR)
    except (pygame.error, AttributeError):  # SDL_ttf without HarfBuzz: drawn unshaped
        pass


BITMAP_EMOJI_PPEM = 109  # the one size of Noto Color Emoji's bitmaps (CBDT): a bitmap-only font
# refuses to be asked about a glyph at any other size


def font_has(probe: pygame.freetype.Font, ch: str) -> bool:
    """True when ``probe``'s font has a glyph for ``ch`` (freetype reports a missing one as None).
    A colour emoji font of bitmaps only is asked at its bitmap size."""
    try:
        return probe.get_metrics(ch)[0] is not None
    except pygame.error:
        try:
            return probe.get_metrics(ch, size=BITMAP_EMOJI_PPEM)[0] is not None
        except pygame.error:
            return False
