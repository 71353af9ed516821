"""The shortcut table: every key of DESIGN.md maps to its action, with Ctrl taking precedence."""

from __future__ import annotations

import pygame
import pytest

from pgboard.shortcuts import HELP_ROWS, action_for

CTRL, SHIFT = pygame.KMOD_LCTRL, pygame.KMOD_LSHIFT


@pytest.mark.parametrize(
    ("key", "mod", "uni", "action"),
    [
        (pygame.K_p, 0, "p", "tool:pencil"),
        (pygame.K_l, 0, "l", "tool:line"),
        (pygame.K_r, 0, "r", "tool:rect"),
        (pygame.K_o, 0, "o", "tool:oval"),
        (pygame.K_c, 0, "c", "tool:circle"),
        (pygame.K_s, 0, "s", "tool:square"),
        (pygame.K_t, 0, "t", "tool:text"),
        (pygame.K_e, 0, "e", "tool:eraser"),
        (pygame.K_d, 0, "d", "tool:drag"),
        (pygame.K_1, 0, "1", "color:1"),
        (pygame.K_9, 0, "9", "color:9"),
        (pygame.K_LEFTBRACKET, 0, "[", "thinner"),
        (pygame.K_RIGHTBRACKET, 0, "]", "thicker"),
        (pygame.K_z, CTRL, "", "undo"),
        (pygame.K_y, CTRL, "", "redo"),
        (pygame.K_z, CTRL | SHIFT, "", "redo"),
        (pygame.K_s, CTRL, "", "export_png"),
        (pygame.K_s, CTRL | SHIFT, "", "save_board"),
        (pygame.K_F11, 0, "", "fullscreen"),
        (pygame.K_TAB, 0, "\t", "toggle_panels"),
        (pygame.K_RETURN, 0, "\r", "focus_chat"),
        (pygame.K_ESCAPE, 0, "\x1b", "cancel"),
        (pygame.K_F1, 0, "", "help"),
        (pygame.K_SLASH, SHIFT, "?", "help"),
        (pygame.K_PLUS, 0, "+", "zoom_in"),
        (pygame.K_MINUS, 0, "-", "zoom_out"),
        (pygame.K_x, 0, "x", None),
        (pygame.K_p, pygame.KMOD_LALT, "p", None),
    ],
)
def test_keys_map_to_their_actions(key, mod, uni, action):
    assert action_for(key, mod, uni) == action


def test_the_overlay_lists_every_tool_key():
    keys = {row[0] for row in HELP_ROWS}
    assert set("PLROCSTED") <= keys


@pytest.mark.parametrize("size", [(1920, 1080), (950, 760), (640, 480), (420, 300)])
def test_the_overlay_stays_on_its_card_in_any_window(size: tuple[int, int]) -> None:
    """Nothing of the overlay is drawn past its card: half a 1920 screen cut the right column off."""
    from pgboard.widgets.overlays import ShortcutOverlay
    from pgboard.widgets.text import FontSet

    pygame.init()
    surface = pygame.Surface(size)
    surface.fill((200, 0, 200))
    overlay = ShortcutOverlay(FontSet(), HELP_ROWS)
    overlay.open = True
    overlay.draw(surface)
    scrim = surface.get_at((0, 0))
    w, h = size
    bytes_, shade = pygame.image.tobytes(surface, "RGB"), bytes(scrim)[:3]
    middle = bytes_[3 * (h // 2) * w : 3 * (h // 2 + 1) * w]
    inside = [x for x in range(w) if middle[3 * x : 3 * x + 3] != shade]
    left, right = min(inside), max(inside)  # the card's row through the middle
    for y in range(20, h - 20, 7):  # every row: nothing but the scrim left and right of the card
        row = bytes_[3 * y * w : 3 * (y + 1) * w]
        outside = row[: 3 * (left - 12)] + row[3 * (right + 13) :]  # (beyond the card's soft shadow)
        assert outside == shade * (len(outside) // 3), f"drawn outside the card at y={y}"
