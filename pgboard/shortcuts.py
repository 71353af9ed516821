"""Keyboard shortcuts (../shared/DESIGN.md): one table from key presses to named actions.

The app asks :func:`action_for` only when nobody is typing (chat, the text tool, a dialog), so a
letter typed into the chat never switches the tool. The tools' keys and labels come from the tool table
(pgboard/tooltable.py); :data:`HELP_ROWS` feeds the F1 overlay and, through :func:`markdown_table`
(``python -m pgboard.shortcuts``), the README's table, which a test holds to it.
"""

from __future__ import annotations

import pygame

from pgboard.tooltable import TOOL_KEYS, TOOLS

COLOR_KEYS = {getattr(pygame, f"K_{n}"): n for n in range(1, 10)}

_CTRL = {
    pygame.K_z: "undo",
    pygame.K_y: "redo",
    pygame.K_s: "export_png",
    pygame.K_o: "open_board",
    pygame.K_c: "copy_join",  # while hosting: "pgboard --connect ADDRESS:PORT" (text fields copy their own)
    pygame.K_0: "zoom_fit",
    pygame.K_DELETE: "clear_all",
    pygame.K_BACKSPACE: "clear_all",
    pygame.K_EQUALS: "zoom_in",
    pygame.K_PLUS: "zoom_in",
    pygame.K_MINUS: "zoom_out",
}
_CTRL_SHIFT = {pygame.K_z: "redo", pygame.K_s: "save_board"}
_PLAIN = {
    pygame.K_F11: "fullscreen",
    pygame.K_TAB: "toggle_panels",
    pygame.K_RETURN: "focus_chat",
    pygame.K_KP_ENTER: "focus_chat",
    pygame.K_ESCAPE: "cancel",
    pygame.K_F1: "help",
    pygame.K_F5: "reconnect",  # offline: try the server now instead of waiting for the back-off
    pygame.K_h: "timeline",  # the history replay (pgboard/timeline_view.py); H or Esc leaves it
    pygame.K_n: "toggle_cursors",  # the others' pointers and names (a laser still shows)
    pygame.K_LEFTBRACKET: "thinner",
    pygame.K_RIGHTBRACKET: "thicker",
    pygame.K_PLUS: "zoom_in",
    pygame.K_EQUALS: "zoom_in",
    pygame.K_KP_PLUS: "zoom_in",
    pygame.K_MINUS: "zoom_out",
    pygame.K_KP_MINUS: "zoom_out",
}

# What the overlay lists, in DESIGN.md's order: (keys, what they do).
HELP_ROWS = [
    *((t.key, t.label) for t in TOOLS.values()),
    ("Shift while drawing", "45° lines, square boxes"),
    ("1-9", "palette colour"),
    ("[ and ]", "thinner / thicker"),
    ("Ctrl+Z", "undo (your own operations)"),
    ("Ctrl+Y, Ctrl+Shift+Z", "redo"),
    ("Ctrl+Delete", "erase all of yours (asks first)"),
    ("Ctrl+S", "export the board as PNG"),
    ("H, /history", "replay the board's history (Space, Esc)"),
    ("N", "hide or show the others' cursors"),
    ("Ctrl+Shift+S, Ctrl+O", "save / open a board file"),
    ("Ctrl+wheel, + and -", "zoom (Ctrl+0 fits)"),
    ("Arrows (Shift: further)", "move the selection (V)"),
    ("Delete, Ctrl+D", "delete / duplicate the selection"),
    ("Ctrl+C, Ctrl+V", "copy / paste the selection (any room or window)"),
    ("Ctrl+C, nothing selected", "hosting: copy the line others join with"),
    ("Space+drag, middle mouse", "pan"),
    ("Enter", "focus chat (Enter again sends, back to drawing)"),
    ("Shift+arrows, Ctrl+A, C, X, V", "select, copy, cut, paste (in text)"),
    ("Esc", "cancel / back to drawing"),
    ("Tab", "hide or show all panels"),
    ("F11", "full screen"),
    ("F5 or a click on the status bar", "reconnect now (while offline)"),
    ("F1 or ?", "this overlay"),
]


def markdown_table(rows: list[tuple[str, str]] = HELP_ROWS) -> str:
    """``rows`` as the README's table: two (key, action) pairs a row, down the first pair's column
    first, as the overlay's two columns read."""
    half = (len(rows) + 1) // 2
    left, right = rows[:half], rows[half:]
    lines = ["| key | action | key | action |", "|---|---|---|---|"]
    for i, (keys, action) in enumerate(left):
        cells = (keys, action, *(right[i] if i < len(right) else ("", "")))
        lines.append("|" + "|".join(f" {c} " if c else " " for c in cells) + "|")
    return "\n".join(lines) + "\n"


def action_for(key: int, mod: int, unicode: str = "") -> str | None:
    """The action a key press means, or None. Tools are "tool:NAME", colours "color:N"."""
    ctrl = bool(mod & (pygame.KMOD_CTRL | pygame.KMOD_META))
    shift = bool(mod & pygame.KMOD_SHIFT)
    if ctrl:
        if shift and key in _CTRL_SHIFT:
            return _CTRL_SHIFT[key]
        return _CTRL.get(key)
    if mod & pygame.KMOD_ALT:
        return None
    if unicode == "?":
        return "help"
    if key in TOOL_KEYS:
        return "tool:" + TOOL_KEYS[key]
    if key in COLOR_KEYS:
        return f"color:{COLOR_KEYS[key]}"
    return _PLAIN.get(key)


if __name__ == "__main__":
    print(markdown_table(), end="")
