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
