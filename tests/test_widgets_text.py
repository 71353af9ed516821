"""Fonts with fallback: CJK glyphs really drawn (not boxes), runs split by font, wrapping that fits."""

from __future__ import annotations

import pygame
import pytest

from pgboard.widgets.text import FontSet

SIZE = 24
INK = (0, 0, 0)


@pytest.fixture(scope="module")
def fonts() -> FontSet:
    pygame.init()
    return FontSet()


def _ink(surface: pygame.Surface) -> bytes:
    """The glyph's coverage (alpha) as bytes: what a user sees as its shape."""
    return pygame.image.tobytes(surface, "RGBA")[3::4]


def test_cjk_glyphs_render_as_real_shapes_not_boxes(fonts: FontSet) -> None:
    assert fonts.has_glyph("中") and fonts.has_glyph("文")
    zhong = fonts.render("中", SIZE, INK)
    wen = fonts.render("文", SIZE, INK)
    assert any(_ink(zhong)) and any(_ink(wen))
    assert _ink(zhong) != _ink(wen)  # a font without them draws the same box for both
    bare = FontSet([None])  # pygame's default font alone: the boxes we avoid
    assert _ink(bare.render("中", SIZE, INK)) == _ink(bare.render("文", SIZE, INK))
    assert _ink(zhong) != _ink(bare.render("中", SIZE, INK))


def test_mixed_text_is_split_into_runs_by_font(fonts: FontSet) -> None:
    runs = fonts.runs("Hi 中文 Ø")
    assert [text for _, text in runs] == ["Hi ", "中文 ", "Ø"]
    assert runs[0][0] == 0 and runs[1][0] != 0 and runs[2][0] == 0
    # one line, one height, whichever fonts it uses
    assert fonts.render("Hi 中文", 14, INK).get_height() == fonts.render("Hi", 14, INK).get_height()


def test_missing_fonts_fall_back_to_the_default(fonts: FontSet) -> None:
    odd = FontSet(["/nonexistent/font.ttf"])
    surf = odd.render("still readable", 14, INK)
    assert surf.get_width() > 20 and any(_ink(surf))


@pytest.mark.parametrize(
    "text",
    [
        "the quick brown fox jumps over the lazy dog " * 4,
        "中文字符没有空格也要能换行" * 5,
        "a" * 300,
        "mixed 中文 and Latin, with emoji 😀 and Ø " * 3,
    ],
)
def test_wrap_fits_the_width_and_keeps_every_character(fonts: FontSet, text: str) -> None:
    width = 180
    lines = fonts.wrap(text, 14, width)
    assert len(lines) > 1
    assert all(fonts.width(line, 14) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")


def test_elide_shortens_with_an_ellipsis(fonts: FontSet) -> None:
    short = fonts.elide("a very long nickname indeed", 14, 80)
    assert short.endswith("…") and fonts.width(short, 14) <= 80


@pytest.mark.parametrize("size", range(10, 25))
def test_an_underscore_shows_at_every_ui_size(fonts: FontSet, size: int) -> None:
    """A nick like "user_1", and the drawing game's blanks: the underscore sits in the line's last
    pixel row at some sizes, which a line cut to ascent + descent dropped (11, 12, 15, 16 px)."""
    for bold in (False, True):
        surf = fonts.render("_", size, (0, 0, 0), bold=bold)
        inked = [
            (x, y)
            for x in range(surf.get_width())
            for y in range(surf.get_height())
            if surf.get_at((x, y))[3] > 128
        ]
        assert inked, f"no underscore at {size} px (bold {bold})"
