"""Right-to-left text in a text field (issue 13): on an Arabic or Hebrew line the caret and the
selection are drawn where the characters are drawn (visual order), a click lands where it points, and
Left and Right move the way the arrow points on the screen. A real TextField with the app's fonts
under the dummy driver, and the chat box of the real App."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from test_app import ev, joined, key, make_app

from pgboard.widgets import theme
from pgboard.widgets.text import FontSet
from pgboard.widgets.textfield import SELECTION_BG, TextField

HEBREW = "שלום עולם"  # "hello world"
ARABIC = "مرحبا بالعالم"
SHIFT = pygame.KMOD_LSHIFT


@pytest.fixture
def field(screen: pygame.Surface) -> TextField:
    f = TextField(FontSet())
    f.rect = pygame.Rect(20, 20, 400, 36)
    f.focus()
    return f


def press(field: TextField, k: int, mod: int = 0) -> None:
    field.handle_event(pygame.event.Event(pygame.KEYDOWN, key=k, mod=mod, unicode=""))


def columns(surface: pygame.Surface, field: TextField, color: tuple[int, int, int]) -> list[int]:
    """The x of every column inside the field (its border left out) showing ``color``."""
    inner = field.rect.inflate(-8, -12)
    return [
        x
        for x in range(inner.left, inner.right)
        if any(surface.get_at((x, y))[:3] == color for y in range(inner.top, inner.bottom))
    ]


def ink(surface: pygame.Surface, field: TextField) -> list[int]:
    """Columns with the text's dark pixels."""
    inner = field.rect.inflate(-8, -12)
    return [
        x
        for x in range(inner.left, inner.right)
        if any(sum(surface.get_at((x, y))[:3]) < 200 for y in range(inner.top, inner.bottom))
    ]


def drawn(screen: pygame.Surface, field: TextField) -> None:
    screen.fill((255, 255, 255))
    field.draw(screen)


@pytest.mark.parametrize("text", [HEBREW, ARABIC], ids=["hebrew", "arabic"])
def test_the_caret_at_the_end_of_a_right_to_left_line_is_at_its_left(screen, field, text) -> None:
    field.set_text(text)  # the caret after the last character typed: the line's left end
    drawn(screen, field)
    caret, letters = columns(screen, field, theme.ACCENT), ink(screen, field)
    assert caret and letters
    assert max(caret) <= min(letters) + 1, f"caret at {caret}, text from {min(letters)} to {max(letters)}"
    press(field, pygame.K_HOME)  # the start of the line: its right end
    drawn(screen, field)
    assert min(columns(screen, field, theme.ACCENT)) >= max(ink(screen, field)) - 1


def test_left_and_right_move_the_way_the_arrow_points(field) -> None:
    field.set_text(HEBREW)
    press(field, pygame.K_HOME)
    press(field, pygame.K_LEFT)  # leftward on the screen is onward in a Hebrew line
    assert field.cursor == 1
    press(field, pygame.K_LEFT)
    assert field.cursor == 2
    press(field, pygame.K_RIGHT)
    assert field.cursor == 1
    press(field, pygame.K_END)
    press(field, pygame.K_LEFT)  # at the line's left end already
    assert field.cursor == len(HEBREW)
    press(field, pygame.K_LEFT, pygame.KMOD_LCTRL)
    assert field.cursor == len(HEBREW)
    press(field, pygame.K_RIGHT, pygame.KMOD_LCTRL)  # a word back, rightward
    assert field.cursor == HEBREW.index(" ") + 1


def test_a_mixed_line_is_walked_across_the_screen_left_to_right(field) -> None:
    text = "abc שלום def"
    field.set_text(text)
    press(field, pygame.K_HOME)
    line = field.visual()
    seen = [line.caret_x(field.cursor)]
    for _ in range(len(text) + 2):
        press(field, pygame.K_RIGHT)
        seen.append(line.caret_x(field.cursor))
    assert seen == sorted(seen), "always rightward"
    assert set(seen) == {x for x, _ in line.carets()}, "every caret position on the way"


def test_the_selection_is_drawn_over_the_characters_it_holds(screen, field) -> None:
    field.set_text(HEBREW)
    press(field, pygame.K_HOME)
    for _ in range(4):  # the first word, logically: the right end of the line
        press(field, pygame.K_LEFT, SHIFT)
    assert field.selected == "שלום"
    drawn(screen, field)
    band, letters = columns(screen, field, SELECTION_BG), ink(screen, field)
    middle = (min(letters) + max(letters)) / 2
    assert band and min(band) > middle, f"band {min(band)}-{max(band)}, text {min(letters)}-{max(letters)}"


def test_a_click_on_the_left_of_a_hebrew_line_puts_the_caret_at_its_end(screen, field) -> None:
    field.set_text(HEBREW)
    press(field, pygame.K_HOME)
    drawn(screen, field)
    left = min(ink(screen, field))
    field.handle_event(
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(left - 1, field.rect.centery), button=1)
    )
    assert field.cursor == len(HEBREW)


def test_typing_hebrew_in_the_chat_box_of_the_app(screen, server, tmp_path: Path) -> None:
    app = joined(make_app(screen, tmp_path), server)
    app.frame([key(pygame.K_RETURN, unicode="\r")])  # into the chat box
    app.frame([ev(pygame.TEXTINPUT, text=HEBREW)])
    box = app.ui.chat.input
    app.frame([key(pygame.K_HOME), key(pygame.K_LEFT), key(pygame.K_LEFT)])
    assert box.cursor == 2, "the arrow moved the caret leftward on the screen"
    app.draw()
    caret = columns(app.screen, box, theme.ACCENT)
    assert caret and min(caret) < max(ink(app.screen, box)) - 5, "drawn inside the word, not at its end"
    app.shutdown()
