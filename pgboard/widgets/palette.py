"""The colour palette: nine swatches (keys 1-9) and a custom swatch that opens the colour picker.

The active colour is marked with an accent ring. Picking reports ``on_pick(hex)``; the app answers
with ``set_active`` (so a colour chosen by key 1-9 is marked the same way).
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from . import theme
from .colorpicker import ColorPicker
from .text import FontSet

Hint = tuple[pygame.Rect, str, str, str]
RING = 2  # the active ring's width
RING_GAP = 2


class Palette:
    def __init__(
        self,
        fonts: FontSet,
        colors: tuple[tuple[str, str], ...] = theme.PALETTE,
        *,
        custom: str = theme.DEFAULT_CUSTOM_COLOR,
        on_pick: Callable[[str], None] | None = None,
    ) -> None:
        self.fonts = fonts
        self.colors = colors
        self.custom = custom
        self.active = colors[0][1] if colors else custom
        self.on_pick = on_pick
        self.swatch = theme.SWATCH
        self.swatch_rects: list[pygame.Rect] = []
        self.custom_rect = pygame.Rect(0, 0, 0, 0)
        self.picker = ColorPicker(fonts, on_pick=self._custom_picked)
        self.window = pygame.Rect(0, 0, 1, 1)

    def natural_width(self, swatch: int = theme.SWATCH, gap: int = theme.GAP) -> int:
        return (len(self.colors) + 1) * (swatch + gap) - gap

    def layout(self, x: int, cy: int, swatch: int = theme.SWATCH, gap: int = theme.GAP) -> int:
        """Place the swatches from ``x``, centred on ``cy``; returns the right edge."""
        self.swatch = swatch
        self.swatch_rects = []
        for i in range(len(self.colors) + 1):
            r = pygame.Rect(x + i * (swatch + gap), cy - swatch // 2, swatch, swatch)
            self.swatch_rects.append(r)
        self.custom_rect = self.swatch_rects.pop()
        return self.custom_rect.right

    def set_active(self, color: str) -> None:
        self.active = color.lower()
        if self.active not in (hex_ for _, hex_ in self.colors):
            self.custom = self.active

    def _custom_picked(self, color: str) -> None:
        self.set_active(color)
        if self.on_pick is not None:
            self.on_pick(color)

    def handle_event(self, event: pygame.event.Event) -> bool:
        if event.type != pygame.MOUSEBUTTONDOWN or event.button != 1:
            return False
        for rect, (_, color) in zip(self.swatch_rects, self.colors, strict=True):
            if rect.collidepoint(event.pos):
                self.set_active(color)
                if self.on_pick is not None:
                    self.on_pick(color)
                return True
        if self.custom_rect.collidepoint(event.pos):
            self._custom_picked(self.custom)
            self.picker.show(self.custom_rect, self.window, self.custom)
            return True
        return False

    def hints(self) -> list[Hint]:
        out = [
            (rect, name.capitalize(), str(i + 1), color)
            for i, (rect, (name, color)) in enumerate(zip(self.swatch_rects, self.colors, strict=True))
        ]
        out.append((self.custom_rect, "Custom colour", "", f"{self.custom}: click to pick any colour"))
        return out

    def draw(self, surface: pygame.Surface) -> None:
        for i, (rect, (_, color)) in enumerate(zip(self.swatch_rects, self.colors, strict=True)):
            self._swatch(surface, rect, color, str(i + 1))
        self._swatch(surface, self.custom_rect, self.custom, "+")

    def _swatch(self, surface: pygame.Surface, rect: pygame.Rect, color: str, label: str) -> None:
        rgb = theme.hex_to_rgb(color)
        if color == self.active:
            ring = rect.inflate(2 * (RING + RING_GAP), 2 * (RING + RING_GAP))
            pygame.draw.rect(surface, theme.ACCENT, ring, RING, border_radius=theme.RADIUS + 2)
        pygame.draw.rect(surface, rgb, rect, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.FIELD_BORDER, rect, 1, border_radius=theme.RADIUS)
        light = sum(rgb) > 3 * 150
        ink = theme.TEXT if light else (255, 255, 255)
        if label == "+":
            self.fonts.blit(surface, "+", rect.center, theme.FONT_UI, ink, bold=True, anchor="center")
        else:
            self.fonts.blit(surface, label, (rect.right - 3, rect.bottom), 10, ink, anchor="bottomright")
