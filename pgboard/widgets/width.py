"""The stroke width control: - and + buttons around a preview of the width, and a few presets.

The app handles the [ and ] keys itself and tells the widget the width with ``set_width``; clicks
report ``on_pick(width)``.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from .. import sizes
from . import theme
from .text import FontSet

Hint = tuple[pygame.Rect, str, str, str]
STEP_BUTTON = 26
PREVIEW_W = 56
COMPACT_STEP_BUTTON = 22  # narrow windows
COMPACT_PREVIEW_W = 40
PRESET = 24
MAX_PREVIEW_DOT = 18  # the preview dot's largest diameter in pixels


class WidthControl:
    def __init__(
        self,
        fonts: FontSet,
        *,
        width: int = sizes.DEFAULT_WIDTH,
        steps: tuple[int, ...] = sizes.WIDTH_STEPS,
        presets: tuple[int, ...] = sizes.WIDTH_PRESETS,
        on_pick: Callable[[int], None] | None = None,
    ) -> None:
        self.fonts = fonts
        self.width = width
        self.steps = steps
        self.presets = presets
        self.show_presets = True
        self.on_pick = on_pick
        self.minus_rect = pygame.Rect(0, 0, STEP_BUTTON, STEP_BUTTON)
        self.plus_rect = pygame.Rect(0, 0, STEP_BUTTON, STEP_BUTTON)
        self.preview_rect = pygame.Rect(0, 0, PREVIEW_W, STEP_BUTTON)
        self.preset_rects: list[pygame.Rect] = []
        self._hover: pygame.Rect | None = None

    def natural_width(self, presets: bool = True, compact: bool = False) -> int:
        step, preview = (COMPACT_STEP_BUTTON, COMPACT_PREVIEW_W) if compact else (STEP_BUTTON, PREVIEW_W)
        base = 2 * step + preview + 2 * theme.GAP
        if presets:
            base += len(self.presets) * (PRESET + 2) + theme.PAD
        return base

    def layout(self, x: int, cy: int, presets: bool = True, compact: bool = False) -> int:
        self.show_presets = presets
        step, preview = (COMPACT_STEP_BUTTON, COMPACT_PREVIEW_W) if compact else (STEP_BUTTON, PREVIEW_W)
        self.minus_rect.size = self.plus_rect.size = (step, step)
        self.preview_rect.size = (preview, step)
        self.minus_rect.midleft = (x, cy)
        self.preview_rect.midleft = (self.minus_rect.right + theme.GAP, cy)
        self.plus_rect.midleft = (self.preview_rect.right + theme.GAP, cy)
        right = self.plus_rect.right
        self.preset_rects = []
        if presets:
            px = right + theme.PAD
            for _ in self.presets:
                self.preset_rects.append(pygame.Rect(px, cy - PRESET // 2, PRESET, PRESET))
                px += PRESET + 2
            right = px - 2
        return right

    def set_width(self, width: int) -> None:
        self.width = width

    def step(self, direction: int) -> int:
        """The next width in ``steps`` below (-1) or above (+1) the current one."""
        return sizes.step_width(self.width, direction, self.steps)

    def _pick(self, width: int) -> None:
        self.width = width
        if self.on_pick is not None:
            self.on_pick(width)

    def handle_event(self, event: pygame.event.Event) -> bool:
        if event.type == pygame.MOUSEMOTION:
            self._hover = next((r for r in self._rects() if r.collidepoint(event.pos)), None)
            return False
        if event.type != pygame.MOUSEBUTTONDOWN or event.button != 1:
            return False
        if self.minus_rect.collidepoint(event.pos):
            self._pick(self.step(-1))
            return True
        if self.plus_rect.collidepoint(event.pos):
            self._pick(self.step(+1))
            return True
        for rect, width in zip(self.preset_rects, self.presets, strict=False):
            if rect.collidepoint(event.pos):
                self._pick(width)
                return True
        return self.preview_rect.collidepoint(event.pos)

    def _rects(self) -> list[pygame.Rect]:
        return [self.minus_rect, self.plus_rect, *self.preset_rects]

    def hints(self) -> list[Hint]:
        out = [
            (self.minus_rect, "Thinner", "[", "Make the stroke thinner"),
            (self.preview_rect, f"Width {self.width}", "", "The stroke width in board pixels"),
            (self.plus_rect, "Thicker", "]", "Make the stroke thicker"),
        ]
        out += [
            (r, f"Width {w}", "", "A preset width")
            for r, w in zip(self.preset_rects, self.presets, strict=False)
        ]
        return out

    def draw(self, surface: pygame.Surface) -> None:
        for rect, label in ((self.minus_rect, "−"), (self.plus_rect, "+")):
            bg = theme.HOVER_BG if rect is self._hover else theme.BUTTON_BG
            pygame.draw.rect(surface, bg, rect, border_radius=theme.RADIUS)
            pygame.draw.rect(surface, theme.FIELD_BORDER, rect, 1, border_radius=theme.RADIUS)
            self.fonts.blit(surface, label, rect.center, theme.FONT_HEADING, theme.TEXT, anchor="center")
        r = self.preview_rect
        pygame.draw.rect(surface, theme.FIELD_BG, r, border_radius=theme.RADIUS)
        pygame.draw.rect(surface, theme.FIELD_BORDER, r, 1, border_radius=theme.RADIUS)
        biggest = min(MAX_PREVIEW_DOT, r.h - 8)
        dot = max(2, min(biggest, self.width))
        pygame.draw.circle(surface, theme.TEXT, (r.x + 4 + biggest // 2, r.centery), dot // 2 + 1)
        self.fonts.blit(
            surface, str(self.width), (r.right - 6, r.centery), theme.FONT_UI, theme.TEXT, anchor="midright"
        )
        for rect, width in zip(self.preset_rects, self.presets, strict=False):
            active = width == self.width
            pygame.draw.rect(
                surface, theme.ACCENT_SOFT if active else theme.PANEL_BG, rect, border_radius=theme.RADIUS
            )
            if active:
                pygame.draw.rect(surface, theme.ACCENT, rect, 1, border_radius=theme.RADIUS)
            size = max(2, min(PRESET - 8, width))
            pygame.draw.circle(surface, theme.TEXT, rect.center, size // 2 + 1)
