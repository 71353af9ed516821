"""Things drawn over everything: the shortcut overlay, the yes/no dialog and the toast line.

The overlay and the dialog are modal: while open they take every key, text and click (so nothing
draws or switches tools behind them). The toast is not: it fades out by itself after TOAST_SECONDS.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from . import theme
from .text import FontSet

OVERLAY_ROW_H = 26
OVERLAY_COL_GAP = 28
KEYCAP_PAD = 6
DIALOG_W = 420
BUTTON_W = 110
BUTTON_H = 32
CARD_RADIUS = 10
SHADOW_SPREAD = 6
SHADOW_ALPHA = 10  # per layer; the layers add up towards the card
SHADOW_DROP = 3
TOAST_SECONDS = 2.5
TOAST_FADE = 0.5  # the last part of its life, spent fading out
CLOSE_KEYS = (pygame.K_ESCAPE, pygame.K_F1, pygame.K_RETURN, pygame.K_KP_ENTER)
INPUT_EVENTS = (
    pygame.KEYDOWN,
    pygame.KEYUP,
    pygame.TEXTINPUT,
    pygame.TEXTEDITING,
    pygame.MOUSEBUTTONDOWN,
    pygame.MOUSEBUTTONUP,
    pygame.MOUSEMOTION,
    pygame.MOUSEWHEEL,
)


def _scrim(surface: pygame.Surface) -> None:
    shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
    shade.fill(theme.SCRIM)
    surface.blit(shade, (0, 0))


def shadow(surface: pygame.Surface, rect: pygame.Rect, radius: int = CARD_RADIUS) -> None:
    """A soft drop shadow under ``rect`` (alpha needs its own layer on an opaque surface)."""
    layer = pygame.Surface(rect.inflate(2 * SHADOW_SPREAD, 2 * SHADOW_SPREAD).size, pygame.SRCALPHA)
    for i in range(SHADOW_SPREAD, 0, -1):
        box = layer.get_rect().inflate(-2 * i, -2 * i)
        pygame.draw.rect(layer, (0, 0, 0, SHADOW_ALPHA), box, border_radius=radius + i)
    surface.blit(layer, rect.move(-SHADOW_SPREAD, -SHADOW_SPREAD + SHADOW_DROP))


def _card(surface: pygame.Surface, rect: pygame.Rect) -> None:
    shadow(surface, rect)
    pygame.draw.rect(surface, theme.CARD_BG, rect, border_radius=CARD_RADIUS)


class ShortcutOverlay:
    """F1 or ?: every shortcut in a two-column table of key caps and what they do."""

    def __init__(self, fonts: FontSet, rows: Sequence[tuple[str, str]]) -> None:
        self.fonts = fonts
        self.rows = list(rows)
        self.open = False

    def toggle(self) -> None:
        self.open = not self.open

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.open:
            return False
        if event.type == pygame.KEYDOWN and event.key in CLOSE_KEYS:
            self.open = False
        elif event.type == pygame.TEXTINPUT and event.text == "?":
            self.open = False
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self.open = False
        return event.type in INPUT_EVENTS

    def draw(self, surface: pygame.Surface) -> None:
        if not self.open:
            return
        _scrim(surface)
        f = self.fonts
        room = surface.get_width() - 40 - 6 * theme.PAD  # what the card may hold across
        columns, key_ws, col_ws = self._columns(2)
        if sum(col_ws) + OVERLAY_COL_GAP > room and 64 + len(self.rows) * OVERLAY_ROW_H + 40 <= (
            surface.get_height() - 40
        ):
            columns, key_ws, col_ws = self._columns(1)  # a narrow window: one column, if it is tall enough
        gaps = OVERLAY_COL_GAP * (len(columns) - 1)
        if sum(col_ws) + gaps > room:  # still too wide: each column narrower, its texts cut to fit
            share, whole = room - gaps, sum(col_ws)
            col_ws = [max(k + 2 * theme.PAD, w * share // whole) for k, w in zip(key_ws, col_ws, strict=True)]
        width = min(surface.get_width() - 40, sum(col_ws) + gaps + 6 * theme.PAD)
        height = min(surface.get_height() - 40, 64 + len(columns[0]) * OVERLAY_ROW_H + 40)
        card = pygame.Rect(0, 0, width, height)
        card.center = surface.get_rect().center
        _card(surface, card)
        f.blit(
            surface,
            "Keyboard shortcuts",
            (card.x + 2 * theme.PAD, card.y + 18),
            theme.FONT_TITLE,
            theme.TEXT,
            bold=True,
        )
        top = card.y + 64
        x = card.x + 3 * theme.PAD
        for c, rows in enumerate(columns):
            key_w = key_ws[c]
            if c:
                x += col_ws[c - 1] + OVERLAY_COL_GAP
            for i, (keys, action) in enumerate(rows):
                cy = top + i * OVERLAY_ROW_H + OVERLAY_ROW_H // 2
                cap = pygame.Rect(x, 0, f.width(keys, theme.FONT_SMALL, bold=True) + 2 * KEYCAP_PAD, 20)
                cap.centery = cy
                pygame.draw.rect(surface, theme.KEYCAP_BG, cap, border_radius=4)
                pygame.draw.rect(surface, theme.KEYCAP_BORDER, cap, 1, border_radius=4)
                f.blit(surface, keys, cap.center, theme.FONT_SMALL, theme.TEXT, bold=True, anchor="center")
                f.blit(
                    surface,
                    action,
                    (x + key_w + theme.PAD * 2, cy),
                    theme.FONT_UI,
                    theme.TEXT,
                    anchor="midleft",
                    max_width=col_ws[c] - key_w - 2 * theme.PAD,
                )
        f.blit(
            surface,
            "Esc, F1 or ? closes this",
            (card.centerx, card.bottom - 16),
            theme.FONT_SMALL,
            theme.TEXT_MUTED,
            anchor="midbottom",
        )


    def _columns(self, count: int) -> tuple[list[list[tuple[str, str]]], list[int], list[int]]:
        """The rows in ``count`` columns, down the first one first; each column's key cap width and
        whole width, as wide as its texts."""
        f, per = self.fonts, (len(self.rows) + count - 1) // count
        columns = [self.rows[i * per : (i + 1) * per] for i in range(count)]
        key_ws = [
            max((f.width(k, theme.FONT_SMALL, bold=True) for k, _ in col), default=0) + 2 * KEYCAP_PAD
            for col in columns
        ]
        act_ws = [max((f.width(a, theme.FONT_UI) for _, a in col), default=0) for col in columns]
        return columns, key_ws, [k + 2 * theme.PAD + a for k, a in zip(key_ws, act_ws, strict=True)]


class ConfirmDialog:
    """A yes/no question: Enter or Y says yes, Esc or N says no; buttons for the mouse."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.open = False
        self.title = ""
        self.message = ""
        self.yes_label = "Yes"
        self.no_label = "No"
        self._on_yes: Callable[[], None] | None = None
        self._on_no: Callable[[], None] | None = None
        self.yes_rect = pygame.Rect(0, 0, BUTTON_W, BUTTON_H)
        self.no_rect = pygame.Rect(0, 0, BUTTON_W, BUTTON_H)

    def ask(
        self,
        title: str,
        message: str,
        on_yes: Callable[[], None],
        on_no: Callable[[], None] | None = None,
        *,
        yes: str = "Yes",
        no: str = "No",
    ) -> None:
        self.title, self.message = title, message
        self.yes_label, self.no_label = yes, no
        self._on_yes, self._on_no = on_yes, on_no
        self.open = True

    def answer(self, yes: bool) -> None:
        self.open = False
        callback = self._on_yes if yes else self._on_no
        self._on_yes = self._on_no = None
        if callback is not None:
            callback()

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.open:
            return False
        if event.type == pygame.KEYDOWN:
            if event.key in (pygame.K_RETURN, pygame.K_KP_ENTER, pygame.K_y):
                self.answer(True)
            elif event.key in (pygame.K_ESCAPE, pygame.K_n):
                self.answer(False)
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.yes_rect.collidepoint(event.pos):
                self.answer(True)
            elif self.no_rect.collidepoint(event.pos):
                self.answer(False)
        return event.type in INPUT_EVENTS

    def draw(self, surface: pygame.Surface) -> None:
        if not self.open:
            return
        _scrim(surface)
        f = self.fonts
        lines = f.wrap(self.message, theme.FONT_UI, DIALOG_W - 4 * theme.PAD)
        lh = f.line_height(theme.FONT_UI) + 2
        card = pygame.Rect(0, 0, DIALOG_W, 56 + len(lines) * lh + BUTTON_H + 36)
        card.center = surface.get_rect().center
        _card(surface, card)
        x = card.x + 2 * theme.PAD
        f.blit(surface, self.title, (x, card.y + 18), theme.FONT_HEADING, theme.TEXT, bold=True)
        y = card.y + 50
        for line in lines:
            f.blit(surface, line, (x, y), theme.FONT_UI, theme.TEXT_MUTED)
            y += lh
        self.yes_rect.bottomright = (card.right - 2 * theme.PAD, card.bottom - 2 * theme.PAD)
        self.no_rect.bottomright = (self.yes_rect.x - theme.PAD, self.yes_rect.bottom)
        pygame.draw.rect(surface, theme.DANGER, self.yes_rect, border_radius=theme.RADIUS)
        f.blit(
            surface,
            self.yes_label,
            self.yes_rect.center,
            theme.FONT_UI,
            theme.BUTTON_PRIMARY_TEXT,
            bold=True,
            anchor="center",
        )
        pygame.draw.rect(surface, theme.BUTTON_BG, self.no_rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.FIELD_BORDER, self.no_rect, 1, border_radius=theme.RADIUS)
        f.blit(surface, self.no_label, self.no_rect.center, theme.FONT_UI, theme.TEXT, anchor="center")


class Toast:
    """A short notice near the bottom of the board ("Saved board.png") that fades by itself."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.text = ""
        self.shown_at: float | None = None  # set by the first update() after show()
        self.now = 0.0
        self.anchor = (0, 0)  # midbottom, placed by the UI's layout

    def show(self, text: str) -> None:
        self.text = text
        self.shown_at = None

    def update(self, now: float) -> None:
        self.now = now
        if self.text and self.shown_at is None:
            self.shown_at = now
        if self.shown_at is not None and now - self.shown_at >= TOAST_SECONDS:
            self.text = ""
            self.shown_at = None

    @property
    def visible(self) -> bool:
        return bool(self.text)

    def next_change(self, now: float) -> float | None:
        """Seconds until the toast looks different by itself (0: it is fading now), None: never."""
        if not self.text:
            return None
        if self.shown_at is None:
            return 0.0
        age = now - self.shown_at
        fade_at = TOAST_SECONDS - TOAST_FADE
        return 0.0 if age >= fade_at else fade_at - age

    def draw(self, surface: pygame.Surface) -> None:
        if not self.text:
            return
        age = 0.0 if self.shown_at is None else self.now - self.shown_at
        alpha = 255 if age < TOAST_SECONDS - TOAST_FADE else int(255 * (TOAST_SECONDS - age) / TOAST_FADE)
        label = self.fonts.render(self.text, theme.FONT_UI, theme.TOOLTIP_TEXT)
        box = pygame.Rect(0, 0, label.get_width() + 4 * theme.PAD, label.get_height() + 2 * theme.PAD)
        box.midbottom = self.anchor
        layer = pygame.Surface(box.size, pygame.SRCALPHA)
        pygame.draw.rect(layer, theme.TOOLTIP_BG, layer.get_rect(), border_radius=box.h // 2)
        layer.blit(label, label.get_rect(center=layer.get_rect().center))
        layer.set_alpha(max(0, min(255, alpha)))
        surface.blit(layer, box)
        if self.fonts.trace is not None:
            self.fonts.trace.append(self.text)
