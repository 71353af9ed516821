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
import importlib
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
BUNDLED_MAIN_FILE = "NotoSans[wght].ttf"  # of those, the main font of a machine that has none of its own


# Noto Sans CJK from the manimgx-fonts-cjk wheel (unmodified, OFL: pgboard/assets/fonts/LICENSE-noto-cjk.txt):
# Chinese, Japanese and Korean on a machine without a CJK font of its own, tried after every other font.
# It is a variable font whose default instance SDL_ttf opens, Thin, and SDL_ttf cannot pick another:
# :func:`open_font` emboldens it, which draws it about as heavy as a Regular face.
BUNDLED_CJK_FILE = "NotoSansCJK-VF.otf.ttc"
# The system's fonts that cover CJK, in order of preference (names as pygame.font.match_font
# normalises them: lower case, no spaces); they come before the bundled one, which is heavier to load.
CJK_FONT_NAMES = (
    "wenquanyimicrohei",
    "wqymicrohei",
    "notosanscjksc",
    "notosanscjk",
    "notosanscjkjp",
    "sourcehansanssc",
    "sourcehansans",
    "droidsansfallback",
    "microsoftyahei",
    "yugothic",
    "msgothic",
    "malgungothic",
    "pingfangsc",
    "hiraginosans",
    "simhei",
    "arialunicodems",
)


@functools.lru_cache(maxsize=2)
def _package_folder(package: str) -> str | None:
    try:
        module = importlib.import_module(package)
    except ImportError:
        log.warning("the font package %s is missing: some scripts may show as boxes", package)
        return None
    return os.path.dirname(module.__file__ or "")


def _package_file(package: str, name: str) -> str | None:
    folder = _package_folder(package)
    path = os.path.join(folder, name) if folder else None
    return path if path and os.path.isfile(path) else None


@functools.lru_cache(maxsize=1)
def bundled_fonts() -> tuple[str, ...]:
    """Paths of the script, emoji and CJK fonts pip installed with pgboard, in the order they are
    tried (missing ones left out)."""
    files = [_package_file("manimgx_fonts", f) for f in BUNDLED_FONT_FILES] + [bundled_cjk_font()]
    return tuple(p for p in files if p is not None)


@functools.lru_cache(maxsize=1)
def bundled_main_font() -> str | None:
    """Noto Sans from manimgx-fonts: the main font of a machine that has none of the usual ones (it
    is better than pygame's own default, a bold face)."""
    return _package_file("manimgx_fonts", BUNDLED_MAIN_FILE)


@functools.lru_cache(maxsize=1)
def bundled_cjk_font() -> str | None:
    return _package_file("manimgx_fonts_cjk", BUNDLED_CJK_FILE)


def open_font(path: str | None, size: int) -> pygame.font.Font:
    """An SDL_ttf font of ``path`` at ``size`` (the bundled CJK face emboldened, see BUNDLED_CJK_FILE).
    Raises OSError or pygame.error as pygame.font.Font does."""
    font = pygame.font.Font(path, size)
    if path is not None and path == bundled_cjk_font():
        font.bold = True  # a Font's bold is this face's weight: callers only ever add bold to it
    return font


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
