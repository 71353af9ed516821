"""A modal list to pick one item from (which board file to open): keys, numbers or the mouse.

Up/Down move the highlight, Enter picks it, 1-9 pick that row at once, a click picks a row, Esc closes.
While open it takes every input event, like the confirmation dialog.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from . import theme
from .overlays import INPUT_EVENTS, _card, _scrim
from .text import FontSet

MAX_ROWS = 9  # one digit each
LIST_W = 520
ROW_H = 40
HEADER_H = 56
FOOTER_H = 34


class PickList:
    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.open = False
        self.title = ""
        self.items: list[tuple[str, str]] = []  # (label, detail)
        self.selected = 0
        self.row_rects: list[pygame.Rect] = []
        self._on_pick: Callable[[int], None] | None = None

    def ask(self, title: str, items: Sequence[tuple[str, str]], on_pick: Callable[[int], None]) -> None:
        """Show ``items`` (at most MAX_ROWS); ``on_pick(index)`` is called with the chosen row."""
        self.title = title
        self.items = list(items)[:MAX_ROWS]
        self.selected = 0
        self._on_pick = on_pick
        self.open = bool(self.items)

    def close(self) -> None:
        self.open = False
        self._on_pick = None

    def pick(self, index: int) -> None:
        callback = self._on_pick
        self.close()
        if callback is not None and 0 <= index < len(self.items):
            callback(index)

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.open:
            return False
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
        card = pygame.Rect(0, 0, LIST_W, HEADER_H + len(self.items) * ROW_H + FOOTER_H)
        card.center = surface.get_rect().center
        _card(surface, card)
        x = card.x + 2 * theme.PAD
        f.blit(surface, self.title, (x, card.y + 18), theme.FONT_HEADING, theme.TEXT, bold=True)
        self.row_rects = []
        for i, (label, detail) in enumerate(self.items):
            row = pygame.Rect(
                card.x + theme.PAD, card.y + HEADER_H + i * ROW_H, card.w - 2 * theme.PAD, ROW_H
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
        hint = "Enter or 1-9 opens · Esc closes"
        f.blit(surface, hint, (x, card.bottom - FOOTER_H + 8), theme.FONT_SMALL, theme.TEXT_FAINT)
