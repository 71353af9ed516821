"""The text tool: click to place a text and type it in place, with full Unicode and input methods.

Characters arrive through TEXTINPUT (never by mapping key codes), an input method's composition through
TEXTEDITING (shown at the caret, not yet part of the text); editing keys move by user-perceived
characters (extended grapheme clusters, pgboard/graphemes.py, as in every text field), so an accented
letter, a flag or a joined emoji is erased whole.
"""

from __future__ import annotations

import unicodedata

import pygame

from pgboard import graphemes
from pgboard.protocol import BOARD_H, BOARD_W, MAX_TEXT, Add, BoardObject
from pgboard.tool_base import PREVIEW_ID, Point, Tool, ToolContext, shift_held

# One user-perceived character (pgboard/graphemes.py), the same rule as every text field's.
cluster_before = graphemes.before  # where the character ending at an index starts (Backspace, Left)
cluster_after = graphemes.after  # where the character starting at an index ends (Delete, Right)
WRAP_MARGIN = 16  # board units kept free at the board's right edge when a typed line wraps
LINE_ROOM = 1.5  # a line's height in text sizes: a text started at the board's bottom edge moves up


class TextTool(Tool):
    """Click to place a text, type in place (TEXTINPUT and IME composition through TEXTEDITING).

    Backspace and Delete erase, Left/Right/Home/End move the caret, Enter adds the text,
    Shift+Enter starts a new line, Esc drops it. Clicking elsewhere adds it and starts a new one. A line
    wraps where it would pass the board's right edge.
    """

    name = "text"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.at: Point | None = None
        self.text = ""
        self.index = 0  # caret position in ``text``
        self.composition = ""  # IME text being composed, shown at the caret, not yet typed
        self.composition_cursor = 0

    @property
    def is_typing(self) -> bool:
        return self.at is not None

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        """A text starts here; a click at the board's bottom or right edge (the grey around it, clamped)
        starts it where a line of it still shows, not below the page where nothing of it would."""
        self.commit()
        room = round(self.ctx.font_size() * LINE_ROOM)
        self.at = (min(pos[0], BOARD_W - 2 * room), min(pos[1], BOARD_H - room))

    def text_input(self, text: str) -> None:
        if self.at is None:
            return
        # control characters out (a stray tab or carriage return); format characters stay: joiners
        # glue emoji and scripts such as Persian need them
        text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cs"))
        text = graphemes.cut(text, MAX_TEXT - len(self.text))  # never half a character
        self.text = self.text[: self.index] + text + self.text[self.index :]
        self.index += len(text)
        self.composition = ""
        self._wrap()

    def _wrap(self) -> None:
        """The line being typed breaks where it would pass the board's right edge: at its last space
        before the caret, or before the last character of a word longer than the line (a text ran off
        the board, cut on every screen). Measured with the fonts it is drawn in."""
        measure = self.ctx.board.text_box
        if measure is None or self.at is None:
            return
        for _ in range(MAX_TEXT):  # bounded: each pass adds a line break
            start = self.text.rfind("\n", 0, self.index) + 1
            end = self.text.find("\n", self.index)
            line = self.text[start : len(self.text) if end < 0 else end]  # the caret's line alone
            if measure(self._text_object(PREVIEW_ID, line))[2] <= BOARD_W - WRAP_MARGIN:
                return
            space = self.text.rfind(" ", start, self.index)
            if space > start:
                self.text = self.text[:space] + "\n" + self.text[space + 1 :]
                continue
            cut = cluster_before(self.text, self.index)
            if cut <= start:
                return  # one character wider than the room left: nothing to break
            self.text = self.text[:cut] + "\n" + self.text[cut:]
            self.index += 1

    def text_editing(self, text: str, start: int) -> None:
        if self.at is not None:
            self.composition, self.composition_cursor = text, start

    def key_down(self, key: int, mod: int = 0) -> bool:
        if self.at is None:
            return False
        if self.composition:  # the input method owns the keys while it composes
            return True
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            if shift_held(mod):
                self.text_input("\n")
            else:
                self.commit()
        elif key == pygame.K_ESCAPE:
            self.cancel()
        elif key == pygame.K_BACKSPACE:
            start = cluster_before(self.text, self.index)
            self.text, self.index = self.text[:start] + self.text[self.index :], start
        elif key == pygame.K_DELETE:
            self.text = self.text[: self.index] + self.text[cluster_after(self.text, self.index) :]
        elif key == pygame.K_LEFT:
            self.index = cluster_before(self.text, self.index)
        elif key == pygame.K_RIGHT:
            self.index = cluster_after(self.text, self.index)
        elif key == pygame.K_HOME:
            self.index = self.text.rfind("\n", 0, self.index) + 1
        elif key == pygame.K_END:
            end = self.text.find("\n", self.index)
            self.index = len(self.text) if end < 0 else end
        else:
            return False
        return True

    def commit(self) -> None:
        """Add the typed text (if there is any) and close it."""
        if self.at is not None and self.text.strip():
            obj = self._text_object(self.ctx.new_id(), self.text)
            self.ctx.emit(Add(oid=self.ctx.new_oid(), obj=obj))
        self.cancel()

    def cancel(self) -> None:
        self.at, self.text, self.index, self.composition = None, "", 0, ""

    def finish(self) -> None:
        self.commit()

    def _shown(self) -> BoardObject | None:
        if self.at is None:
            return None
        shown = self.text[: self.index] + self.composition + self.text[self.index :]
        return self._text_object(PREVIEW_ID, shown)

    def _text_object(self, oid: str, text: str) -> BoardObject:
        assert self.at is not None
        return BoardObject(
            oid, "text", (self.at,), self.ctx.wire_color(), text=text, size=self.ctx.font_size()
        )

    def preview(self) -> list[BoardObject]:
        obj = self._shown()
        return [obj] if obj is not None else []

    def caret(self) -> tuple[BoardObject, int] | None:
        obj = self._shown()
        if obj is None:
            return None
        return obj, self.index + (self.composition_cursor if self.composition else 0)
