"""A modal list to pick one item from (which board file to open): keys, numbers or the mouse.

Up/Down move the highlight, Enter picks it, 1-9 pick that row at once, a click picks a row, Esc closes.
While open it takes every input event, like the confirmation dialog. With ``on_path`` it has a text
field above the rows (a file anywhere, not only the rows'): what is typed there goes to the field
(digits too), and Enter opens the typed path, or the highlighted row when the field is empty.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from . import theme
from .overlays import INPUT_EVENTS, _card, _scrim
from .text import FontSet
from .textfield import TextField

MAX_ROWS = 9  # one digit each
LIST_W = 520
ROW_H = 40
HEADER_H = 56
FOOTER_H = 34
PATH_MAX = 4096  # characters of a typed path (PATH_MAX on Linux)
PATH_STARTS = ("/", "~", ".", "\\")  # typed with the list showing, these begin a path in the field


class PickList:
    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.open = False
        self.title = ""
        self.items: list[tuple[str, str]] = []  # (label, detail)
        self.selected = 0
        self.row_rects: list[pygame.Rect] = []
        self._on_pick: Callable[[int], None] | None = None
        self._on_path: Callable[[str], None] | None = None
        self.path = TextField(
            fonts,
            placeholder="Tab or / types a path (~ is your home), Enter opens it",
            max_len=PATH_MAX,
            submit_empty=True,
            on_submit=self._path_entered,
        )

    def ask(
        self,
        title: str,
        items: Sequence[tuple[str, str]],
        on_pick: Callable[[int], None],
        on_path: Callable[[str], None] | None = None,
    ) -> None:
        """Show ``items`` (at most MAX_ROWS); ``on_pick(index)`` is called with the chosen row, and
        ``on_path(text)`` (when given: the path field is shown) with a typed path."""
        self.title = title
        self.items = list(items)[:MAX_ROWS]
        self.selected = 0
        self._on_pick = on_pick
        self._on_path = on_path
        self.path.set_text("")
        self.path.blur()
        if on_path is not None and not self.items:
            self.path.focus()  # nothing to pick: typing is a path
        self.open = bool(self.items) or on_path is not None

    def close(self) -> None:
        self.open = False
        self._on_pick = None
        self._on_path = None
        self.path.blur()

    def _path_event(self, event: pygame.event.Event) -> bool:
        """The path field's share of the input: all typing once it has focus (Tab, a click, or a
        path's first character ``/``, ``~`` or ``.`` gives it); Up/Down still move the highlight."""
        field = self.path
        if not field.focused:
            if event.type == pygame.KEYDOWN and event.key == pygame.K_TAB:
                field.focus()
                return True
            if event.type == pygame.TEXTINPUT and event.text[:1] in PATH_STARTS:
                field.focus()
            else:
                return field.handle_event(event)  # a click inside focuses it
        if event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
            self.close()
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_DOWN, pygame.K_UP):
            return False
        return field.handle_event(event)

    def _path_entered(self, text: str) -> None:
        if not text.strip():
            self.pick(self.selected)
            return
        callback = self._on_path
        self.close()
        if callback is not None:
            callback(text.strip())

    def pick(self, index: int) -> None:
        callback = self._on_pick
        self.close()
        if callback is not None and 0 <= index < len(self.items):
            callback(index)

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.open:
            return False
        if self._on_path is not None and self._path_event(event):
            return True
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.close()
            elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                self.pick(self.selected)
            elif event.key == pygame.K_DOWN:
                self.selected = min(self.selected + 1, len(self.items) - 1)
            elif event.key == pygame.K_UP:
                self.selected = max(self.selected - 1, 0)
            elif pygame.K_1 <= event.key <= pygame.K_9:
                self.pick(event.key - pygame.K_1)
        elif event.type == pygame.MOUSEMOTION:
            for i, rect in enumerate(self.row_rects):
                if rect.collidepoint(event.pos):
                    self.selected = i
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            hit = [i for i, rect in enumerate(self.row_rects) if rect.collidepoint(event.pos)]
            if hit:
                self.pick(hit[0])
        return event.type in INPUT_EVENTS

    def draw(self, surface: pygame.Surface) -> None:
        if not self.open:
            return
        _scrim(surface)
        f = self.fonts
        field_h = ROW_H if self._on_path is not None else 0
        card = pygame.Rect(0, 0, LIST_W, HEADER_H + field_h + len(self.items) * ROW_H + FOOTER_H)
        card.center = surface.get_rect().center
        _card(surface, card)
        x = card.x + 2 * theme.PAD
        title, room = self.title, card.w - 4 * theme.PAD
        while len(title) > 1 and f.width(title, theme.FONT_HEADING, bold=True) > room:
            title = "…" + title[2:]  # a long folder keeps its end, the part that tells folders apart
        f.blit(surface, title, (x, card.y + 18), theme.FONT_HEADING, theme.TEXT, bold=True)
        if field_h:
            self.path.rect = pygame.Rect(x, card.y + HEADER_H, card.w - 4 * theme.PAD, theme.INPUT_H)
            self.path.draw(surface)
        self.row_rects = []
        for i, (label, detail) in enumerate(self.items):
            row = pygame.Rect(
                card.x + theme.PAD, card.y + HEADER_H + field_h + i * ROW_H, card.w - 2 * theme.PAD, ROW_H
            )
            self.row_rects.append(row)
            if i == self.selected:
                pygame.draw.rect(surface, theme.ACCENT_SOFT, row, border_radius=theme.RADIUS)
            f.blit(
                surface,
                str(i + 1),
                (row.x + 10, row.centery),
                theme.FONT_UI,
                theme.TEXT_MUTED,
                anchor="midleft",
            )
            f.blit(surface, label, (row.x + 34, row.y + 4), theme.FONT_UI, theme.TEXT)
            f.blit(surface, detail, (row.x + 34, row.y + 21), theme.FONT_SMALL, theme.TEXT_MUTED)
        hint = (
            "Enter or 1-9 opens · Tab types a path · Esc closes"
            if field_h
            else "Enter or 1-9 opens · Esc closes"
        )
        f.blit(surface, hint, (x, card.bottom - FOOTER_H + 8), theme.FONT_SMALL, theme.TEXT_FAINT)
