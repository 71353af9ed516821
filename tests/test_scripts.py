"""Text in every script through the real text paths (the board's TextCache, the panels' FontSet):
no glyph drawn as the font's missing-glyph box, right-to-left words drawn right to left, mixed lines
in bidi order (issue 13)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pygame
import pytest

from pgboard.scripts import BUNDLED_CJK_FILE, shaped_runs
from pgboard.textcache import TextCache, _follows
from pgboard.widgets.text import FontSet

SIZE = 32
INK = (0, 0, 0)
LINES = {
    "emoji": "🩺 ✨ 👍 🎉 🙂 🇫🇷",
    "thai": "สวัสดีครับ",
    "devanagari": "नमस्ते दुनिया",
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "cjk": "李雷你好",
}


@pytest.fixture(scope="module")
def paths() -> tuple[TextCache, FontSet]:
    pygame.init()
    return TextCache(), FontSet()


def _ink(surface: pygame.Surface) -> bytes:
    return pygame.image.tobytes(surface, "RGBA")[3::4]


def _is_box(font: pygame.font.Font, ch: str) -> bool:
    """True when ``font`` draws ``ch`` as its missing-glyph box (what it draws for U+FFFF)."""
    return _ink(font.render(ch, True, INK)) == _ink(font.render("\uffff", True, INK))


@pytest.mark.parametrize("script", list(LINES))
def test_a_line_of_every_script_has_no_missing_glyph_box_on_the_board(
    paths: tuple[TextCache, FontSet], script: str
) -> None:
    texts, _ = paths
    line = LINES[script]
    pieces = texts.line_layout(line, SIZE)
    for index, run, *_ in pieces:
        font = texts.font(SIZE, index)
        boxes = [ch for ch in run if ch != " " and not _follows(ch) and _is_box(font, ch)]
        assert not boxes, f"{script}: {boxes} drawn as boxes by {texts.paths[index]}"
    assert any(_ink(texts.surface(line, SIZE, "#000000")))


@pytest.mark.parametrize("script", list(LINES))
def test_a_line_of_every_script_has_no_missing_glyph_box_in_chat(
    paths: tuple[TextCache, FontSet], script: str
) -> None:
    _, fonts = paths
    line = LINES[script]
    for index, run in fonts.runs(line):
        font = fonts.font(SIZE, index)
        boxes = [ch for ch in run if ch != " " and not _follows(ch) and _is_box(font, ch)]
        assert not boxes, f"{script}: {boxes} drawn as boxes by {fonts.paths[index]}"
        assert all(fonts.has_glyph(ch) for ch in run if ch != " " and not _follows(ch))


def _columns(surface: pygame.Surface) -> list[int]:
    """How much ink each column of ``surface`` holds."""
    w, h = surface.get_size()
    alpha = _ink(surface)
    return [sum(alpha[y * w + x] for y in range(h)) for x in range(w)]


def _first_letter_at_the_right(word: pygame.Surface, first: pygame.Surface) -> bool:
    """True when ``first``'s ink profile matches the right end of ``word`` better than its left end."""
    letter = [c for c in _columns(first) if c]
    cols = _columns(word)
    inked = [i for i, c in enumerate(cols) if c]
    left = cols[inked[0] : inked[0] + len(letter)]
    right = cols[inked[-1] + 1 - len(letter) : inked[-1] + 1]

    def diff(part: list[int]) -> int:
        return sum(abs(a - b) for a, b in zip(part, letter, strict=False))

    return diff(right) < diff(left)


# Words whose first letter keeps its own form when joined (Hebrew does not join; Arabic dal and waw
# never join to the letter after them), so a render of the letter alone is the one in the word.
RTL_WORDS = {"hebrew": "שלום", "arabic": "دو"}


@pytest.mark.parametrize("script", list(RTL_WORDS))
def test_a_right_to_left_word_is_drawn_right_to_left(paths: tuple[TextCache, FontSet], script: str) -> None:
    texts, fonts = paths
    word = RTL_WORDS[script]
    board = texts.surface(word, SIZE, "#000000")
    assert _first_letter_at_the_right(board, texts.surface(word[0], SIZE, "#000000"))
    chat = fonts.render(word, SIZE, INK)
    assert _first_letter_at_the_right(chat, fonts.render(word[0], SIZE, INK))


def test_arabic_letters_are_joined_by_shaping(paths: tuple[TextCache, FontSet]) -> None:
    """Joined Arabic is narrower than its letters drawn apart (isolated forms side by side)."""
    texts, fonts = paths
    word = "سلام"
    apart = sum(texts.measure(ch, SIZE)[0] for ch in word)
    assert texts.measure(word, SIZE)[0] < apart * 0.9
    assert fonts.width(word, SIZE) < sum(fonts.width(ch, SIZE) for ch in word) * 0.9


def test_a_mixed_line_is_laid_out_in_bidi_order() -> None:
    """Latin, then a Hebrew phrase with a number in it, then Latin: the number is drawn left of the
    Hebrew (it ends the right-to-left phrase), and the Hebrew run is shaped right to left."""
    runs = shaped_runs("abc שלום עולם 12 def", lambda ch: 0, lambda ch: False)
    assert [(text, shape) for _, text, shape in runs] == [
        ("abc ", ""),
        ("12", ""),
        ("שלום עולם ", "Hebr/R"),
        (" def", ""),
    ]
    runs = shaped_runs("سلام world", lambda ch: 0, lambda ch: False)  # a right-to-left paragraph
    assert [text for _, text, _ in runs] == ["world", "سلام "]


def test_a_huge_right_to_left_text_is_measured_without_rendering_it(paths: tuple[TextCache, FontSet]) -> None:
    """The bounded cost of issue 10 holds for Arabic: 2,000 characters at size 200 are measured from
    metrics, and painting a small region renders only the pieces it meets."""
    texts = TextCache()
    text = ("مرحبا بالعالم " * 150)[:2000]
    w, h = texts.measure(text, 200)
    assert w > 10_000
    assert texts.stats["pixels_rendered"] == 0
    target = pygame.Surface((400, 300), pygame.SRCALPHA)
    texts.paint(target, text, 200, "#000000", 0, 0)
    assert texts.stats["largest_surface"] <= 4_000_000
    assert texts.stats["pixels_rendered"] < 20 * 400 * 300
    assert any(_ink(target))


def test_a_colour_emoji_font_is_drawn_in_colour_at_the_line_height() -> None:
    """Where the system has Noto Color Emoji (CBDT bitmaps, drawn in colour by SDL_ttf 2.24), its
    emoji come first and are scaled to the line, on the board and in chat."""
    from pgboard.widgets.text import find_font

    path = find_font(("notocoloremoji",))
    if path is None:
        pytest.skip("no colour emoji font installed (apt-get install fonts-noto-color-emoji)")
    pygame.init()
    texts, fonts = TextCache(fallbacks=(path,)), FontSet([None, path])
    board = texts.surface("ok 🎉", SIZE, "#000000")
    chat = fonts.render("ok 🎉", 18, INK)
    for surf, height in ((board, texts.line_height(SIZE)), (chat, fonts.line_height(18))):
        assert surf.get_height() <= height * 2
        colours = {
            tuple(surf.get_at((x, y)))[:3]
            for x in range(surf.get_width())
            for y in range(surf.get_height())
            if surf.get_at((x, y)).a > 200
        }
        assert len(colours) > 5  # not one ink colour: the emoji's own


# Run in a fresh process whose fontconfig knows no font at all (a bare machine): every script must
# still be drawn by the fonts pip installed with pgboard. Prints {script: [characters drawn as boxes
# by either text path]} and the file of the font each CJK character came from.
_BARE_MACHINE = r"""
import json, pygame
pygame.init()
from pgboard.textcache import TextCache, _follows
from pgboard.widgets.text import FontSet
LINES = json.loads(input())
ink = lambda s: pygame.image.tobytes(s, "RGBA")[3::4]
box = lambda f, ch: ink(f.render(ch, True, (0, 0, 0))) == ink(f.render("\uffff", True, (0, 0, 0)))
texts, fonts, found, cjk = TextCache(), FontSet(), {}, set()
for script, line in LINES.items():
    runs = [(texts.font(32, i), texts.paths[i], run) for i, run, *_ in texts.line_layout(line, 32)]
    runs += [(fonts.font(32, i), fonts.paths[i], run) for i, run in fonts.runs(line)]
    found[script] = [ch for f, _, run in runs for ch in run if ch != " " and not _follows(ch) and box(f, ch)]
    cjk |= {path for _, path, _ in runs} if script == "cjk" else set()
print(json.dumps({"boxes": found, "cjk_fonts": sorted(map(str, cjk)), "system": pygame.font.get_fonts()}))
"""


def test_on_a_machine_without_fonts_every_script_is_drawn_by_the_fonts_pip_installed(tmp_path: Path) -> None:
    conf = tmp_path / "fonts.conf"  # a fontconfig with no font folder: what a bare container has
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig/>\n')
    env = dict(os.environ, FONTCONFIG_FILE=str(conf), SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    out = subprocess.run(
        [sys.executable, "-c", _BARE_MACHINE],
        input=json.dumps(LINES),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    system = [name for name in report["system"] if name != "freesansbold"]  # pygame's own default font
    assert system == [], "the test's fontconfig still finds system fonts"
    assert report["boxes"] == {script: [] for script in LINES}
    assert [Path(p).name for p in report["cjk_fonts"]] == [BUNDLED_CJK_FILE]
