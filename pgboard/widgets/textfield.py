"""A one-line text field: Unicode typing from TEXTINPUT, IME composition from TEXTEDITING.

Characters arrive only as TEXTINPUT events (never mapped from key codes), so any layout and any input
method work. While an input method composes, its text (TEXTEDITING) is drawn underlined at the cursor
and editing keys are left to the IME. Keys: Backspace, Delete, Left/Right, Home/End; with
``history`` set, Up and Down walk through the lines submitted before, like a shell.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from . import theme
from .text import FontSet

HISTORY_SIZE = 100  # submitted lines Up can bring back
CURSOR_W = 2
TEXT_PAD = 8  # between the border and the text


class TextField:
    """An editable line of text inside ``rect``. The owner gives it focus and draws it."""

    def __init__(
        self,
        fonts: FontSet,
        *,
        text: str = "",
        placeholder: str = "",
        max_len: int = 2000,
        history: bool = False,
        on_submit: Callable[[str], None] | None = None,
        size: int = theme.FONT_UI,
        submit_empty: bool = False,
        accept: Callable[[str], bool] | None = None,
        mask: str = "",
    ) -> None:
        self.fonts = fonts
        self.accept = accept  # a filter for typed characters (the port field takes digits only)
        self.submit_empty = submit_empty  # a form's field reports Enter even when empty
        self.mask = mask  # a password field draws this character for each one typed
        self.rect = pygame.Rect(0, 0, 200, theme.INPUT_H)
        self.text = text[:max_len]
        self.cursor = len(self.text)
        self.composition = ""  # IME text not yet committed
        self.placeholder = placeholder
        self.max_len = max_len
        self.size = size
        self.focused = False
        self.on_submit = on_submit
        self.keep_history = history
        self.history: list[str] = []
        self._history_pos: int | None = None  # index into history while browsing with Up/Down
        self._draft = ""  # what was typed before browsing began
        self._scroll = 0  # pixels of text hidden at the left

    # -- focus

    def focus(self) -> None:
        self.focused = True
        try:
            pygame.key.start_text_input()
            pygame.key.set_text_input_rect(self.rect)  # the IME's candidate window goes near the field
        except pygame.error:
            pass  # no video system: nothing to tell

    def blur(self) -> None:
        self.focused = False
        self.composition = ""

    def set_text(self, text: str) -> None:
        self.text = text[: self.max_len]
        self.cursor = len(self.text)
        self.composition = ""

    # -- events

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Typing and editing keys when focused (all consumed); a click inside focuses it."""
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.rect.collidepoint(event.pos):
                self.cursor = self._index_at(event.pos[0])
                self.focus()
                return True
            return False
        if not self.focused:
            return False
        if event.type == pygame.TEXTINPUT:
            self.composition = ""
            self.insert(event.text)
            return True
        if event.type == pygame.TEXTEDITING:
            self.composition = event.text
            return True
        if event.type == pygame.KEYDOWN:
            self._key(event)
            return True
        return event.type == pygame.KEYUP

    def insert(self, text: str) -> None:
        room = self.max_len - len(self.text)
        text = "".join(ch for ch in text if ch >= " " and ch != "\x7f")
        if self.accept is not None:
            text = "".join(ch for ch in text if self.accept(ch))
        text = text[: max(0, room)]
        self.text = self.text[: self.cursor] + text + self.text[self.cursor :]
        self.cursor += len(text)
        self._history_pos = None

    def _key(self, event: pygame.event.Event) -> None:
        if self.composition:
            return  # the input method owns the keys while it composes
        key = event.key
        word = bool(event.mod & pygame.KMOD_CTRL)
        if key == pygame.K_BACKSPACE and self.cursor > 0:
            start = self._word_start() if word else self.cursor - 1
            self.text = self.text[:start] + self.text[self.cursor :]
            self.cursor = start
        elif key == pygame.K_DELETE:
            self.text = self.text[: self.cursor] + self.text[self.cursor + 1 :]
        elif key == pygame.K_LEFT:
            self.cursor = self._word_start() if word else max(0, self.cursor - 1)
        elif key == pygame.K_RIGHT:
            self.cursor = min(len(self.text), self.cursor + 1)
        elif key == pygame.K_HOME:
            self.cursor = 0
        elif key == pygame.K_END:
            self.cursor = len(self.text)
        elif key == pygame.K_UP and self.keep_history:
            self._browse(-1)
        elif key == pygame.K_DOWN and self.keep_history:
            self._browse(+1)
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.submit()
        elif key == pygame.K_v and event.mod & pygame.KMOD_CTRL:
            self._paste()

    def _word_start(self) -> int:
        i = self.cursor
        while i > 0 and self.text[i - 1] == " ":
            i -= 1
        while i > 0 and self.text[i - 1] != " ":
            i -= 1
        return i

    def _paste(self) -> None:
        try:
            pasted = pygame.scrap.get_text()
        except (pygame.error, AttributeError):  # no clipboard on this video driver
            pasted = ""
        if pasted:
            self.insert(pasted.replace("\r", " ").replace("\n", " "))

    def _browse(self, step: int) -> None:
        if not self.history:
            return
        if self._history_pos is None:
            if step > 0:
                return
            self._draft = self.text
            pos = len(self.history)
        else:
            pos = self._history_pos
        pos += step
        if pos < 0:
            pos = 0
        if pos >= len(self.history):
            self._history_pos = None
            self.set_text(self._draft)
            return
        self._history_pos = pos
        self.set_text(self.history[pos])

    def submit(self) -> None:
        """Hand the text to ``on_submit`` (empty lines are not sent) and clear the field."""
        line = self.text
        if self.keep_history and line.strip():
            if not self.history or self.history[-1] != line:
                self.history.append(line)
                del self.history[:-HISTORY_SIZE]
        self._history_pos = None
        if self.on_submit is not None and (line.strip() or self.submit_empty):
            if self.keep_history:
                self.set_text("")
            self.on_submit(line)

    # -- drawing

    @property
    def shown(self) -> str:
        """What the field draws: the text, or one mask character per character typed."""
        return self.mask * len(self.text) if self.mask else self.text

    def _index_at(self, x: int) -> int:
        """The caret position nearest to screen ``x`` (prefix widths grow: a binary search)."""
        rel = x - (self.rect.x + TEXT_PAD) + self._scroll
        shown = self.shown
        lo, hi = 0, len(shown)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.fonts.width(shown[:mid], self.size) <= rel:
                lo = mid
            else:
                hi = mid - 1
        if lo < len(shown):
            left = self.fonts.width(shown[:lo], self.size)
            right = self.fonts.width(shown[: lo + 1], self.size)
            if rel - left > right - rel:
                lo += 1
        return lo

    def draw(self, surface: pygame.Surface) -> None:
        border = theme.ACCENT if self.focused else theme.FIELD_BORDER
        pygame.draw.rect(surface, theme.FIELD_BG, self.rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, border, self.rect, 2 if self.focused else 1, border_radius=theme.RADIUS)
        inner = self.rect.inflate(-2 * TEXT_PAD, -4)
        clip = surface.get_clip()
        surface.set_clip(inner.clip(clip) if clip else inner)
        y = self.rect.centery
        shown = self.shown
        before = shown[: self.cursor]
        after = shown[self.cursor :]
        composition = self.mask * len(self.composition) if self.mask else self.composition
        if not self.text and not composition:
            if self.placeholder:
                self.fonts.blit(
                    surface, self.placeholder, (inner.x, y), self.size, theme.TEXT_FAINT, anchor="midleft"
                )
            caret_x = 0
        else:
            caret_x = self.fonts.width(before, self.size)
            comp_w = self.fonts.width(composition, self.size) if composition else 0
            # keep the caret (and the composition) inside the box, and no empty space at the right
            total = caret_x + comp_w + self.fonts.width(after, self.size)
            self._scroll = min(self._scroll, max(0, total - inner.width + CURSOR_W))
            if caret_x + comp_w - self._scroll > inner.width - CURSOR_W:
                self._scroll = caret_x + comp_w - inner.width + CURSOR_W
            if caret_x - self._scroll < 0:
                self._scroll = caret_x
            x = inner.x - self._scroll
            self.fonts.blit(surface, before, (x, y), self.size, theme.TEXT, anchor="midleft")
            if composition:
                surf = self.fonts.render(composition, self.size, theme.ACCENT, underline=True)
                surface.blit(surf, surf.get_rect(midleft=(x + caret_x, y)))
                if self.fonts.trace is not None:
                    self.fonts.trace.append(composition)
            self.fonts.blit(
                surface, after, (x + caret_x + comp_w, y), self.size, theme.TEXT, anchor="midleft"
            )
            caret_x += comp_w - self._scroll
        if self.focused:
            h = self.fonts.line_height(self.size)
            caret = pygame.Rect(inner.x + caret_x, y - h // 2, CURSOR_W, h)
            pygame.draw.rect(surface, theme.ACCENT, caret)
        surface.set_clip(clip)
