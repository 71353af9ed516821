"""The timeline's bar (the time-lapse, key H): play/pause, speed, a scrubber to drag, where the replay
is, an export button with its progress, and a close button; and the "watch what you missed" offer.

Widgets only: they draw what :class:`pgboard.timeline_view.TimelineMode` tells them and report clicks
through callbacks. The scrubber reports a fraction (0-1) of the replay while it is dragged.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from . import theme
from .text import FontSet

BAR_H = 44  # pixels: the bar along the bottom of the board
BUTTON_W = 64
KNOB_R = 8


def _ignore(*_args: object) -> None:
    return None


class TimelineBar:
    """The bar (see the module's docstring). ``layout(board_rect)`` places it along the bottom."""

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.rect = pygame.Rect(0, 0, 0, BAR_H)
        self.play_rect = self.speed_rect = self.track = self.export_rect = self.close_rect = pygame.Rect(
            0, 0, 0, 0
        )
        self.on_toggle: Callable[[], None] = _ignore
        self.on_speed: Callable[[], None] = _ignore
        self.on_seek: Callable[[float], None] = _ignore
        self.on_export: Callable[[], None] = _ignore
        self.on_close: Callable[[], None] = _ignore
        self.dragging = False
        # what to show (set by the mode each frame)
        self.playing = False
        self.speed = 1
        self.position = 0
        self.total = 0
        self.fetched = 0.0  # fraction of the replay fetched so far
        self.label = ""
        self.export_progress: float | None = None  # None: no export under way

    def layout(self, board: pygame.Rect) -> None:
        self.rect = pygame.Rect(board.x, board.bottom - BAR_H, board.w, BAR_H)
        pad, h = theme.PAD, BAR_H - 2 * theme.PAD
        y = self.rect.y + pad
        self.play_rect = pygame.Rect(self.rect.x + pad, y, h + 8, h)
        self.speed_rect = pygame.Rect(self.play_rect.right + theme.GAP, y, 44, h)
        self.close_rect = pygame.Rect(self.rect.right - pad - h, y, h, h)
        self.export_rect = pygame.Rect(self.close_rect.x - theme.GAP - 92, y, 92, h)
        label_w = 190
        left = self.speed_rect.right + 2 * theme.PAD
        right = self.export_rect.x - label_w - theme.PAD
        self.track = pygame.Rect(left, self.rect.centery - 3, max(20, right - left), 6)

    def fraction_at(self, x: int) -> float:
        return max(0.0, min(1.0, (x - self.track.x) / max(1, self.track.w)))

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Consumed: a press on the bar, a drag of its scrubber (anywhere until released)."""
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            pos = event.pos
            if not self.rect.collidepoint(pos):
                return False
            if self.play_rect.collidepoint(pos):
                self.on_toggle()
            elif self.speed_rect.collidepoint(pos):
                self.on_speed()
            elif self.export_rect.collidepoint(pos):
                self.on_export()
            elif self.close_rect.collidepoint(pos):
                self.on_close()
            elif self.track.inflate(2 * KNOB_R, 4 * KNOB_R).collidepoint(pos):
                self.dragging = True
                self.on_seek(self.fraction_at(pos[0]))
            return True
        if event.type == pygame.MOUSEMOTION and self.dragging:
            self.on_seek(self.fraction_at(event.pos[0]))
            return True
        if event.type == pygame.MOUSEBUTTONUP and event.button == 1 and self.dragging:
            self.dragging = False
            self.on_seek(self.fraction_at(event.pos[0]))
            return True
        return False

    def knob_x(self) -> int:
        frac = self.position / self.total if self.total else 0.0
        return self.track.x + round(frac * self.track.w)

    def draw(self, surface: pygame.Surface) -> None:
        r = self.rect
        layer = pygame.Surface(r.size, pygame.SRCALPHA)
        pygame.draw.rect(layer, (*theme.CARD_BG, 235), layer.get_rect())
        surface.blit(layer, r)
        pygame.draw.line(surface, theme.PANEL_BORDER, r.topleft, r.topright)
        self._button(surface, self.play_rect, "", primary=True)
        self._play_icon(surface)
        self._button(surface, self.speed_rect, f"{self.speed}x")
        t = self.track
        pygame.draw.rect(surface, theme.PROGRESS_BG, t, border_radius=3)
        fetched = t.copy()
        fetched.w = round(t.w * self.fetched)
        pygame.draw.rect(surface, theme.ACCENT_SOFT, fetched, border_radius=3)
        done = t.copy()
        done.w = self.knob_x() - t.x
        pygame.draw.rect(surface, theme.ACCENT, done, border_radius=3)
        pygame.draw.circle(
            surface, theme.ACCENT_HOVER if self.dragging else theme.ACCENT, (self.knob_x(), t.centery), KNOB_R
        )
        label = self.fonts.render(self.label, theme.FONT_SMALL, theme.TEXT)
        surface.blit(label, label.get_rect(midleft=(t.right + 2 * theme.PAD, r.centery)))
        if self.export_progress is None:
            self._button(surface, self.export_rect, "Export GIF")
        else:
            box = self.export_rect
            pygame.draw.rect(surface, theme.PROGRESS_BG, box, border_radius=theme.RADIUS)
            part = box.copy()
            part.w = round(box.w * max(0.0, min(1.0, self.export_progress)))
            pygame.draw.rect(surface, theme.STATE_OK, part, border_radius=theme.RADIUS)
            text = self.fonts.render(f"{round(100 * self.export_progress)}%", theme.FONT_SMALL, theme.TEXT)
            surface.blit(text, text.get_rect(center=box.center))
        self._button(surface, self.close_rect, "×")

    def _button(self, surface: pygame.Surface, rect: pygame.Rect, text: str, primary: bool = False) -> None:
        bg = theme.ACCENT if primary else theme.BUTTON_BG
        pygame.draw.rect(surface, bg, rect, border_radius=theme.RADIUS)
        if not primary:
            pygame.draw.rect(surface, theme.FIELD_BORDER, rect, 1, border_radius=theme.RADIUS)
        if text:
            color = theme.BUTTON_PRIMARY_TEXT if primary else theme.TEXT
            label = self.fonts.render(text, theme.FONT_UI, color)
            surface.blit(label, label.get_rect(center=rect.center))

    def _play_icon(self, surface: pygame.Surface) -> None:
        c, s, white = self.play_rect.center, 7, theme.BUTTON_PRIMARY_TEXT
        if self.playing:
            pygame.draw.rect(surface, white, (c[0] - s + 1, c[1] - s, 4, 2 * s))
            pygame.draw.rect(surface, white, (c[0] + 2, c[1] - s, 4, 2 * s))
        else:
            pygame.draw.polygon(
                surface, white, [(c[0] - s + 2, c[1] - s), (c[0] - s + 2, c[1] + s), (c[0] + s, c[1])]
            )


class MissedOffer:
    """ "Watch what you missed (N ops)": a banner at the top of the board after a catch-up that
    brought operations in; a click on it accepts, its × (or time, ``OFFER_SECONDS``) dismisses."""

    OFFER_SECONDS = 20.0

    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.text = ""
        self.until = 0.0
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.close_rect = pygame.Rect(0, 0, 0, 0)
        self.on_accept: Callable[[], None] = _ignore

    @property
    def visible(self) -> bool:
        return bool(self.text)

    def show(self, text: str, now: float) -> None:
        self.text, self.until = text, now + self.OFFER_SECONDS

    def hide(self) -> None:
        self.text = ""

    def update(self, now: float) -> None:
        if self.text and now >= self.until:
            self.hide()

    def next_change(self, now: float) -> float | None:
        return self.until if self.text else None

    def layout(self, board: pygame.Rect) -> None:
        w = min(board.w - 2 * theme.PAD, 420)
        self.rect = pygame.Rect(0, board.y + theme.PAD, w, 34)
        self.rect.centerx = board.centerx
        self.close_rect = pygame.Rect(self.rect.right - 30, self.rect.y + 4, 26, 26)

    def handle_event(self, event: pygame.event.Event) -> bool:
        if not self.text or event.type != pygame.MOUSEBUTTONDOWN or event.button != 1:
            return False
        if self.close_rect.collidepoint(event.pos):
            self.hide()
            return True
        if self.rect.collidepoint(event.pos):
            self.hide()
            self.on_accept()
            return True
        return False

    def draw(self, surface: pygame.Surface) -> None:
        if not self.text:
            return
        pygame.draw.rect(surface, theme.TOOLTIP_BG, self.rect, border_radius=self.rect.h // 2)
        label = self.fonts.render("▶  " + self.text, theme.FONT_UI, theme.TOOLTIP_TEXT)
        surface.blit(label, label.get_rect(midleft=(self.rect.x + 2 * theme.PAD, self.rect.centery)))
        x = self.fonts.render("×", theme.FONT_UI, theme.TOOLTIP_MUTED)
        surface.blit(x, x.get_rect(center=self.close_rect.center))
