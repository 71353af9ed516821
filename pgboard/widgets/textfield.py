"""A one-line text field: Unicode typing from TEXTINPUT, IME composition from TEXTEDITING, selection,
the clipboard, and a limit the user sees.

Characters arrive only as TEXTINPUT events (never mapped from key codes), so any layout and any input
method work. While an input method composes, its text (TEXTEDITING) is drawn underlined at the cursor
and editing keys are left to the IME. Every step is one user-perceived character (pgboard/graphemes.py,
the rule the board's text tool uses too): Backspace, Delete, Left and Right never split an emoji, a flag
or an accented letter. Keys: Backspace, Delete, Left/Right, Home/End (with Ctrl: by word; with Shift:
selecting), Ctrl+A selects all, Ctrl+C / Ctrl+X / Ctrl+V copy, cut and paste through the clipboard
(widgets/clipboard.py; a masked field never copies); with ``history`` set, Up and Down walk through
the lines submitted before, like a shell. What does not fit ``max_len`` (or ``accept``) is refused
whole and the field says so (``refused``) until the next edit: "5151" + "47314" never becomes "51514".
A line with right-to-left text (Arabic, Hebrew) is drawn whole in visual order, its caret and
selection where its characters are drawn, Left and Right moving the way the arrow points on the screen
(widgets/bidi_line.py); a right-to-left line starts at the field's right edge.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from .. import graphemes
from ..scripts import needs_bidi
from . import bidi_line, theme
from .clipboard import CLIPBOARD, Clipboard
from .text import FontSet

HISTORY_SIZE = 100  # submitted lines Up can bring back
CURSOR_W = 2
TEXT_PAD = 8  # between the border and the text
SELECTION_BG = theme.ACCENT_SOFT
CTRL = pygame.KMOD_CTRL | pygame.KMOD_META  # Cmd on a Mac


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
        clipboard: Clipboard = CLIPBOARD,
    ) -> None:
        self.fonts = fonts
        self.accept = accept  # a filter for typed characters (the port field takes digits only)
        self.submit_empty = submit_empty  # a form's field reports Enter even when empty
        self.mask = mask  # a password field draws this character for each one typed
        self.clipboard = clipboard
        self.rect = pygame.Rect(0, 0, 200, theme.INPUT_H)
        self.max_len = max_len  # code points, as the wire counts them (protocol.MAX_TEXT)
        self.text = graphemes.cut(text, max_len)
        self.cursor = len(self.text)
        self.anchor: int | None = None  # the selection's other end (None: nothing selected)
        self.composition = ""  # IME text not yet committed
        self.refused = ""  # why the last typing or paste was not taken, shown until the next edit
        self.refused_short = ""  # the same, for a narrow field ("max 5")
        self.placeholder = placeholder
        self.size = size
        self.focused = False
        self.on_submit = on_submit
        self.keep_history = history
        self.history: list[str] = []
        self._history_pos: int | None = None  # index into history while browsing with Up/Down
        self._draft = ""  # what was typed before browsing began
        self._scroll = 0  # pixels of text hidden at the left
        self._visual_line: bidi_line.VisualLine | None = None  # the last right-to-left line laid out

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
        self.anchor = None
        self.refused = ""

    def set_text(self, text: str) -> None:
        self.text = graphemes.cut(text, self.max_len)
        self.cursor = len(self.text)
        self.anchor = None
        self.composition = ""
        self.refused = ""

    def visual(self) -> bidi_line.VisualLine | None:
        """The shown line as drawn when it has right-to-left text (laid out once per text), else None."""
        shown = self.shown
        if not needs_bidi(shown):
            return None
        line = self._visual_line
        if line is None or line.text != shown:
            line = self._visual_line = bidi_line.layout(shown, lambda s: self.fonts.width(s, self.size))
        return line

    # -- selection

    @property
    def selection(self) -> tuple[int, int] | None:
        """(start, end) of the selected text, or None."""
        if self.anchor is None or self.anchor == self.cursor:
            return None
        return (min(self.anchor, self.cursor), max(self.anchor, self.cursor))

    @property
    def selected(self) -> str:
        sel = self.selection
        return self.text[sel[0] : sel[1]] if sel else ""

    def select_all(self) -> None:
        self.anchor, self.cursor = 0, len(self.text)

    def _move(self, to: int, extend: bool) -> None:
        """The caret to ``to``; with ``extend`` (Shift) the selection grows from where it was."""
        if extend:
            if self.anchor is None:
                self.anchor = self.cursor
        else:
            self.anchor = None
        self.cursor = to

    def _replace(self, start: int, end: int, text: str) -> None:
        self.text = self.text[:start] + text + self.text[end:]
        self.cursor = start + len(text)
        self.anchor = None
        self.refused = self.refused_short = ""
        self._history_pos = None

    def _delete_selection(self) -> bool:
        sel = self.selection
        if sel is None:
            return False
        self._replace(sel[0], sel[1], "")
        return True

    # -- events

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Typing and editing keys when focused (all consumed); a click inside focuses it."""
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.rect.collidepoint(event.pos):
                self.cursor = self._index_at(event.pos[0])
                self.anchor = None
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

    def insert(self, text: str) -> bool:
        """Put ``text`` at the caret, over the selection. What does not fit is refused whole, never cut
        (a port "5151" + "47314" must not become "51514"), and ``refused`` says why; True when taken."""
        if len(text) > 2 * self.max_len:  # a huge paste is refused before it is even looked at
            return self._too_long()
        text = "".join(ch for ch in text if ch >= " " and ch != "\x7f")
        unwanted = ""
        if self.accept is not None:  # the characters a field never takes go, and it says which
            unwanted = "".join(dict.fromkeys(ch for ch in text if not self.accept(ch)))
            text = "".join(ch for ch in text if self.accept(ch))
        sel = self.selection or (self.cursor, self.cursor)
        if len(self.text) - (sel[1] - sel[0]) + len(text) > self.max_len:
            return self._too_long()
        if text or self.selection:
            self._replace(sel[0], sel[1], text)
        if unwanted:
            self.refused, self.refused_short = f"Not allowed here: {unwanted[:12]}", f"no {unwanted[:3]}"
        return not unwanted

    def _too_long(self) -> bool:
        self.refused, self.refused_short = f"At most {self.max_len} characters", f"max {self.max_len}"
        return False

    def _key(self, event: pygame.event.Event) -> None:
        if self.composition:
            return  # the input method owns the keys while it composes
        key, mod = event.key, event.mod
        word = bool(mod & CTRL)
        extend = bool(mod & pygame.KMOD_SHIFT)
        text, cursor = self.text, self.cursor
        if word and key == pygame.K_a:
            self.select_all()
        elif word and key in (pygame.K_c, pygame.K_x):
            self._copy(cut=key == pygame.K_x)
        elif word and key == pygame.K_v:
            self._paste()
        elif key == pygame.K_BACKSPACE:
            if not self._delete_selection() and cursor > 0:
                self._replace(self._word_start() if word else graphemes.before(text, cursor), cursor, "")
        elif key == pygame.K_DELETE:
            if not self._delete_selection() and cursor < len(text):
                self._replace(cursor, self._word_end() if word else graphemes.after(text, cursor), "")
        elif key in (pygame.K_LEFT, pygame.K_RIGHT) and (line := self.visual()) is not None:
            self._visual_arrow(line, -1 if key == pygame.K_LEFT else 1, word, extend)
        elif key == pygame.K_LEFT:
            sel = self.selection
            if sel and not extend:
                self._move(sel[0], False)
            else:
                self._move(self._word_start() if word else graphemes.before(text, cursor), extend)
        elif key == pygame.K_RIGHT:
            sel = self.selection
            if sel and not extend:
                self._move(sel[1], False)
            else:
                self._move(self._word_end() if word else graphemes.after(text, cursor), extend)
        elif key == pygame.K_HOME:
            self._move(0, extend)
        elif key == pygame.K_END:
            self._move(len(text), extend)
        elif key == pygame.K_UP and self.keep_history:
            self._browse(-1)
        elif key == pygame.K_DOWN and self.keep_history:
            self._browse(+1)
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self.submit()

    def _visual_arrow(self, line: bidi_line.VisualLine, toward: int, word: bool, extend: bool) -> None:
        """Left/Right on a line with right-to-left text: the way the arrow points on the screen. A
        selection collapses to its end on that side; Ctrl moves by words, forward in reading order
        being leftward on a right-to-left line."""
        sel = self.selection
        if sel and not extend:
            ends = sorted(sel, key=line.caret_x)
            self._move(ends[0] if toward < 0 else ends[-1], False)
        elif word:
            forward = (toward > 0) != line.base_rtl
            self._move(self._word_end() if forward else self._word_start(), extend)
        else:
            self._move(line.step(self.cursor, toward), extend)

    def _word_start(self) -> int:
        i = self.cursor
        while i > 0 and self.text[i - 1] == " ":
            i -= 1
        while i > 0 and self.text[i - 1] != " ":
            i -= 1
        return graphemes.snap(self.text, i)

    def _word_end(self) -> int:
        i, n = self.cursor, len(self.text)
        while i < n and self.text[i] == " ":
            i += 1
        while i < n and self.text[i] != " ":
            i += 1
        return graphemes.after(self.text, i - 1) if i > self.cursor else i

    def _copy(self, cut: bool) -> None:
        """Ctrl+C / Ctrl+X: the selection to the clipboard (never a masked field's: a password stays)."""
        if self.mask or not self.selected:
            return
        self.clipboard.put(self.selected)
        if cut:
            self._delete_selection()

    def _paste(self) -> None:
        pasted = self.clipboard.get()
        if pasted:
            self.insert(pasted.replace("\r\n", " ").replace("\r", " ").replace("\n", " "))

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
        """Hand the text to ``on_submit`` (empty lines only with ``submit_empty``) and, in a field with
        history (the chat), clear it."""
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
        line = self.visual()
        if line is not None:
            return graphemes.snap(self.text, line.index_at(rel - self._align(line)))
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
                lo = graphemes.after(self.text, lo)
        return graphemes.snap(self.text, lo)  # never inside a character

    def _align(self, line: bidi_line.VisualLine) -> int:
        """Pixels a right-to-left line that fits is moved right by: it starts at the field's right edge."""
        inner_w = self.rect.w - 2 * TEXT_PAD
        return max(0, inner_w - CURSOR_W - line.width) if line.base_rtl else 0

    def _draw_visual(
        self, surface: pygame.Surface, line: bidi_line.VisualLine, inner: pygame.Rect, y: int
    ) -> int:
        """The whole line in visual order, the selection's bands behind it; the caret's x in ``inner``."""
        caret = round(line.caret_x(self.cursor))
        self._scroll = min(self._scroll, max(0, line.width - inner.width + CURSOR_W))
        if caret - self._scroll > inner.width - CURSOR_W:
            self._scroll = caret - inner.width + CURSOR_W
        if caret - self._scroll < 0:
            self._scroll = caret
        x = inner.x - self._scroll + self._align(line)
        sel = self.selection
        if sel is not None:
            h = self.fonts.line_height(self.size)
            for x0, x1 in line.spans(*sel):
                band = pygame.Rect(x + round(x0), y - h // 2, max(1, round(x1 - x0)), h)
                pygame.draw.rect(surface, SELECTION_BG, band)
        self.fonts.blit(surface, line.text, (x, y), self.size, theme.TEXT, anchor="midleft")
        return caret - self._scroll + self._align(line)

    def draw(self, surface: pygame.Surface) -> None:
        border = theme.ACCENT if self.focused else theme.FIELD_BORDER
        pygame.draw.rect(surface, theme.FIELD_BG, self.rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, border, self.rect, 2 if self.focused else 1, border_radius=theme.RADIUS)
        inner = self.rect.inflate(-2 * TEXT_PAD, -4)
        note = None  # why typing was refused, at the right end; the text keeps the rest of the box
        if self.refused:
            full = self.fonts.width(self.refused, theme.FONT_SMALL) <= inner.width // 2
            note = self.refused if full else self.refused_short
            note_surf = self.fonts.render(note, theme.FONT_SMALL, theme.ERROR_TEXT)
            outer = inner
            inner = pygame.Rect(
                inner.x, inner.y, max(4 * CURSOR_W, inner.w - note_surf.get_width() - 4), inner.h
            )
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
        elif (line := self.visual()) is not None and not composition:
            caret_x = self._draw_visual(surface, line, inner, y)
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
            sel = self.selection
            if sel is not None:  # behind the text: the selected part on a tinted band
                left = x + self.fonts.width(shown[: sel[0]], self.size)
                right = x + self.fonts.width(shown[: sel[1]], self.size)
                if sel[0] >= self.cursor:
                    left, right = left + comp_w, right + comp_w
                h = self.fonts.line_height(self.size)
                pygame.draw.rect(surface, SELECTION_BG, pygame.Rect(left, y - h // 2, right - left, h))
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
        if note is not None:
            surface.blit(note_surf, note_surf.get_rect(midright=(outer.right, y)))
            pygame.draw.rect(surface, theme.ERROR_TEXT, self.rect, 2, border_radius=theme.RADIUS)
            if self.fonts.trace is not None:
                self.fonts.trace.append(note)
