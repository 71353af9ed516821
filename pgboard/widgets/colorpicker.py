"""The custom-colour popup: hue, saturation and value sliders, a preview and a #rrggbb field.

Dragging a slider previews the colour at once; releasing it, pressing Enter in the hex field or
clicking Done reports the colour through ``on_pick``. Esc or a click outside closes the popup.
"""

from __future__ import annotations

import colorsys
import re
from collections.abc import Callable

import pygame

from . import theme
from .text import FontSet
from .textfield import TextField

POPUP_W = 236
POPUP_H = 176
SLIDER_H = 14
SLIDER_GAP = 10
LABEL_W = 18
PREVIEW = 36
HEX_RE = re.compile(r"#?[0-9a-fA-F]{6}\Z")


class ColorPicker:
    """A popup anchored under a swatch; ``open`` says whether it shows."""

    def __init__(self, fonts: FontSet, on_pick: Callable[[str], None] | None = None) -> None:
        self.fonts = fonts
        self.on_pick = on_pick
        self.open = False
        self.rect = pygame.Rect(0, 0, POPUP_W, POPUP_H)
        self.hsv = [0.0, 0.0, 0.0]
        self._dragging: int | None = None  # which slider follows the pointer
        self.hex_field = TextField(fonts, max_len=7, placeholder="#rrggbb", size=theme.FONT_SMALL)
        self.hex_field.on_submit = self._hex_submitted
        self.done_rect = pygame.Rect(0, 0, 60, 26)
        self._bars: dict[tuple[int, tuple[float, ...]], pygame.Surface] = {}

    @property
    def color(self) -> str:
        r, g, b = colorsys.hsv_to_rgb(*self.hsv)
        return theme.rgb_to_hex((round(r * 255), round(g * 255), round(b * 255)))

    def set_color(self, value: str) -> None:
        r, g, b = theme.hex_to_rgb(value)
        self.hsv = list(colorsys.rgb_to_hsv(r / 255, g / 255, b / 255))
        self.hex_field.set_text(value)

    def show(self, anchor: pygame.Rect, window: pygame.Rect, color: str) -> None:
        self.set_color(color)
        self.rect.topleft = (anchor.x, anchor.bottom + theme.GAP)
        self.rect.clamp_ip(window)
        self.open = True
        self._place()

    def close(self) -> None:
        self.open = False
        self._dragging = None
        self.hex_field.blur()

    def _place(self) -> None:
        x = self.rect.x + theme.PAD + LABEL_W
        self._sliders = [
            pygame.Rect(
                x,
                self.rect.y + theme.PAD + i * (SLIDER_H + SLIDER_GAP),
                POPUP_W - 2 * theme.PAD - LABEL_W,
                SLIDER_H,
            )
            for i in range(3)
        ]
        bottom = self._sliders[-1].bottom + SLIDER_GAP
        self.preview_rect = pygame.Rect(self.rect.x + theme.PAD, bottom, PREVIEW, PREVIEW)
        self.hex_field.rect = pygame.Rect(self.preview_rect.right + theme.GAP, bottom + 3, 84, theme.INPUT_H)
        self.done_rect.topleft = (self.hex_field.rect.right + theme.GAP, bottom + 5)
        self.done_rect.w = self.rect.right - theme.PAD - self.done_rect.x

    # -- events

    def handle_event(self, event: pygame.event.Event) -> bool:
        """While open: every pointer and key event is the popup's (a click outside closes it)."""
        if not self.open:
            return False
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if not self.rect.collidepoint(event.pos):
                self.close()
                return True
            for i, bar in enumerate(self._sliders):
                if bar.inflate(0, 8).collidepoint(event.pos):
                    self._dragging = i
                    self._slide(event.pos[0])
                    return True
            if self.done_rect.collidepoint(event.pos):
                self._pick()
                self.close()
                return True
            if not self.hex_field.handle_event(event):
                self.hex_field.blur()
            return True
        if event.type == pygame.MOUSEMOTION and self._dragging is not None:
            self._slide(event.pos[0])
            return True
        if event.type == pygame.MOUSEBUTTONUP and self._dragging is not None:
            self._dragging = None
            self._pick()
            return True
        if event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE:
            self.close()
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            if self.hex_field.focused:
                return self.hex_field.handle_event(event)
            self._pick()
            self.close()
            return True
        if self.hex_field.handle_event(event):
            return True
        return event.type in (pygame.KEYDOWN, pygame.KEYUP, pygame.TEXTINPUT, pygame.MOUSEBUTTONDOWN)

    def _slide(self, x: int) -> None:
        assert self._dragging is not None
        bar = self._sliders[self._dragging]
        value = min(1.0, max(0.0, (x - bar.x) / max(1, bar.w - 1)))
        if self._dragging == 0:
            value = min(value, 0.999)  # hue 1.0 is hue 0.0; keep the handle where it was put
        self.hsv[self._dragging] = value
        self.hex_field.set_text(self.color)

    def _hex_submitted(self, text: str) -> None:
        text = text.strip()
        if HEX_RE.match(text):
            self.set_color("#" + text.lstrip("#").lower())
            self._pick()
            self.close()

    def _pick(self) -> None:
        if self.on_pick is not None:
            self.on_pick(self.color)

    # -- drawing

    def _bar(self, i: int, width: int) -> pygame.Surface:
        h, s, v = self.hsv
        key = (i, (h, s, v) if i else ())
        bar = self._bars.get(key)
        if bar is None:
            if len(self._bars) > 16:
                self._bars.clear()
            bar = pygame.Surface((width, SLIDER_H))
            for x in range(width):
                t = x / max(1, width - 1)
                hsv = ((t, 1, 1), (h, t, v), (h, s, t))[i]
                r, g, b = colorsys.hsv_to_rgb(*hsv)
                pygame.draw.line(bar, (round(r * 255), round(g * 255), round(b * 255)), (x, 0), (x, SLIDER_H))
            self._bars[key] = bar
        return bar

    def draw(self, surface: pygame.Surface) -> None:
        if not self.open:
            return
        shadow = self.rect.move(0, 3)
        pygame.draw.rect(surface, theme.PANEL_BORDER, shadow, border_radius=theme.RADIUS + 2)
        pygame.draw.rect(surface, theme.CARD_BG, self.rect, border_radius=theme.RADIUS + 2)
        pygame.draw.rect(surface, theme.PANEL_BORDER, self.rect, 1, border_radius=theme.RADIUS + 2)
        for i, (bar, label) in enumerate(zip(self._sliders, "HSV", strict=True)):
            self.fonts.blit(
                surface,
                label,
                (self.rect.x + theme.PAD, bar.centery),
                theme.FONT_SMALL,
                theme.TEXT_MUTED,
                anchor="midleft",
            )
            surface.blit(self._bar(i, bar.w), bar)
            pygame.draw.rect(surface, theme.PANEL_BORDER, bar, 1)
            hx = bar.x + round(self.hsv[i] * (bar.w - 1))
            handle = pygame.Rect(0, 0, 6, SLIDER_H + 6)
            handle.center = (hx, bar.centery)
            pygame.draw.rect(surface, theme.CARD_BG, handle, border_radius=2)
            pygame.draw.rect(surface, theme.TEXT, handle, 1, border_radius=2)
        pygame.draw.rect(surface, theme.hex_to_rgb(self.color), self.preview_rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.PANEL_BORDER, self.preview_rect, 1, border_radius=theme.RADIUS)
        self.hex_field.draw(surface)
        pygame.draw.rect(surface, theme.ACCENT, self.done_rect, border_radius=theme.RADIUS)
        self.fonts.blit(
            surface,
            "Done",
            self.done_rect.center,
            theme.FONT_SMALL,
            theme.BUTTON_PRIMARY_TEXT,
            anchor="center",
        )
