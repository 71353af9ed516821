"""The tool bar across the top: tool buttons, undo/redo/erase-all, the palette and the width control.

Each tool button shows its icon (pgboard/assets/icons/ICON.png, drawn by tools/make_icons.py) with its
shortcut letter in the corner; the active tool sits on an accent-tinted button. Resting the pointer on
any item for HINT_DELAY seconds shows a tooltip (name, key, one-line hint); time comes from
``update(now)`` so tests drive it without waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pygame

from pgboard.resources import asset_path

from . import theme
from .palette import Palette
from .text import FontSet
from .width import WidthControl

log = logging.getLogger(__name__)

ASSET_DIR = asset_path("icons")  # package data: found in an installed wheel too
ICON = 32  # the PNGs' size
ICON_SHOWN = 28  # on a full-size button, leaving the corner to the shortcut letter
KEY_NUDGE = 3  # a tool's icon moves this far up and left, away from its letter
# (button, icon, swatch, separator gap, width presets shown, swatch gap, compact width control):
# the first that fits the window wins; everything fits from 640 pixels up.
DENSITIES = (
    (theme.BUTTON, ICON_SHOWN, theme.SWATCH, 14, True, theme.GAP, False),
    (34, 26, theme.SWATCH, 10, True, theme.GAP, False),
    (32, 24, 22, 8, False, theme.GAP, False),
    (28, 22, 18, 6, False, 4, False),
    (24, 20, 16, 4, False, 3, True),
    (22, 18, 14, 3, False, 2, True),  # 640 pixels with the select tool's button (issue 14)
)
HINT_DELAY = 0.6  # seconds the pointer rests before a tooltip shows
HINT_MAX_W = 280
Hint = tuple[pygame.Rect, str, str, str]


def load_icon(name: str, asset_dir: Path = ASSET_DIR) -> pygame.Surface | None:
    """The icon for ``name`` or None when its file is missing (the button shows its letter instead)."""
    path = asset_dir / f"{name}.png"
    if not path.exists():
        log.warning("icon %s is missing; drawing the shortcut letter instead", path)
        return None
    image = pygame.image.load(str(path))
    return image.convert_alpha() if pygame.display.get_surface() is not None else image


class ToolBar:
    def __init__(
        self,
        fonts: FontSet,
        tools: Sequence[tuple[str, str, str, str]] = (),  # (name, key, hint, icon): tooltable.TOOL_BUTTONS
        *,
        actions: Sequence[tuple[str, str, str, str]] = theme.ACTIONS,
        palette: Palette | None = None,
        width: WidthControl | None = None,
        asset_dir: Path = ASSET_DIR,
        on_tool: Callable[[str], None] | None = None,
        on_action: Callable[[str], None] | None = None,
    ) -> None:
        self.fonts = fonts
        self.tools = list(tools)
        self.actions = list(actions)
        self.active_tool = self.tools[0][0] if self.tools else ""
        self.on_tool = on_tool
        self.on_action = on_action
        self.palette = palette or Palette(fonts)
        self.width_control = width or WidthControl(fonts)
        self.rect = pygame.Rect(0, 0, 0, theme.TOOLBAR_H)
        self.tool_rects: dict[str, pygame.Rect] = {}
        self.action_rects: dict[str, pygame.Rect] = {}
        self.separators: list[int] = []
        icons = [(t[0], t[3]) for t in self.tools] + [(a[0], a[0]) for a in self.actions]
        self._icons_full = {n: load_icon(icon, asset_dir) for n, icon in icons}
        self._icons = dict(self._icons_full)
        self.button = theme.BUTTON
        self._hover_pos: tuple[int, int] | None = None
        self._hover_item: Hint | None = None
        self._hover_since: float | None = None
        self._now = 0.0

    # -- layout

    def _natural(self, density: tuple[int, int, int, int, bool, int, bool]) -> int:
        button, _, swatch, sep, presets, swatch_gap, compact = density
        n = len(self.tools) + len(self.actions)
        return (
            2 * theme.PAD
            + n * (button + 2)
            + 3 * 2 * sep
            + self.palette.natural_width(swatch, swatch_gap)
            + self.width_control.natural_width(presets, compact)
        )

    def layout(self, rect: pygame.Rect) -> None:
        """Place every item; narrower windows get smaller buttons, swatches and gaps (DENSITIES)."""
        self.rect = pygame.Rect(rect)
        chosen = next((d for d in DENSITIES if self._natural(d) <= rect.w), DENSITIES[-1])
        button, icon, swatch, sep, presets, swatch_gap, compact = chosen
        self.button = button
        self._icons = {
            n: (pygame.transform.smoothscale(img, (icon, icon)) if img is not None and icon != ICON else img)
            for n, img in self._icons_full.items()
        }
        cy = rect.centery
        x = rect.x + theme.PAD
        self.tool_rects = {}
        for name, *_ in self.tools:
            self.tool_rects[name] = pygame.Rect(x, cy - button // 2, button, button)
            x += button + 2
        self.separators = [x + sep - 1]
        x += 2 * sep
        self.action_rects = {}
        for name, *_ in self.actions:
            self.action_rects[name] = pygame.Rect(x, cy - button // 2, button, button)
            x += button + 2
        self.separators.append(x + sep - 1)
        x = self.palette.layout(x + 2 * sep, cy, swatch, swatch_gap)
        self.separators.append(x + sep)
        self.width_control.layout(x + 2 * sep, cy, presets, compact)

    # -- state

    def set_tool(self, name: str) -> None:
        self.active_tool = name

    def hints(self) -> list[Hint]:
        out: list[Hint] = [
            (self.tool_rects[name], name.capitalize(), key, hint)
            for name, key, hint, _ in self.tools
            if name in self.tool_rects
        ]
        out += [
            (self.action_rects[name], label, key, hint)
            for name, label, key, hint in self.actions
            if name in self.action_rects
        ]
        return out + self.palette.hints() + self.width_control.hints()

    # -- events

    def handle_event(self, event: pygame.event.Event) -> bool:
        if event.type == pygame.MOUSEMOTION:
            self._hover_at(event.pos)
            self.width_control.handle_event(event)
            return False
        if event.type != pygame.MOUSEBUTTONDOWN or event.button != 1:
            return False
        self._hover_since = None  # a click hides the tooltip until the pointer rests again
        self._hover_item = None
        for name, rect in self.tool_rects.items():
            if rect.collidepoint(event.pos):
                self.active_tool = name
                if self.on_tool is not None:
                    self.on_tool(name)
                return True
        for name, rect in self.action_rects.items():
            if rect.collidepoint(event.pos):
                if self.on_action is not None:
                    self.on_action(name)
                return True
        return self.palette.handle_event(event) or self.width_control.handle_event(event)

    def _hover_at(self, pos: tuple[int, int] | None) -> None:
        item = None
        if pos is not None:
            item = next((h for h in self.hints() if h[0].collidepoint(pos)), None)
        if item is None or self._hover_item is None or item[0] != self._hover_item[0]:
            self._hover_since = None
        self._hover_item = item

    def leave(self) -> None:
        """The pointer left the tool bar."""
        self._hover_at(None)

    def update(self, now: float) -> None:
        self._now = now
        if self._hover_item is not None and self._hover_since is None:
            self._hover_since = now

    def next_change(self, now: float) -> float | None:
        """Seconds until a tooltip shows by itself (the pointer resting on an item), None: none will."""
        if self._hover_item is None:
            return None
        if self._hover_since is None:
            return 0.0
        left = self._hover_since + HINT_DELAY - now
        return left if left > 0 else None  # shown already: it stays until the pointer moves

    @property
    def tooltip(self) -> Hint | None:
        """The item whose tooltip shows now, if any."""
        if self._hover_item is None or self._hover_since is None:
            return None
        return self._hover_item if self._now - self._hover_since >= HINT_DELAY else None

    # -- drawing

    def draw(self, surface: pygame.Surface) -> None:
        pygame.draw.rect(surface, theme.PANEL_BG, self.rect)
        pygame.draw.line(
            surface, theme.PANEL_BORDER, self.rect.bottomleft, (self.rect.right, self.rect.bottom), 1
        )
        hovered = self._hover_item[0] if self._hover_item else None
        for name, key, *_ in self.tools:
            rect = self.tool_rects.get(name)
            if rect is not None:
                self._button(surface, rect, name, key, name == self.active_tool, rect == hovered)
        for name, *_ in self.actions:
            rect = self.action_rects.get(name)
            if rect is not None:
                self._button(surface, rect, name, "", False, rect == hovered)
        for x in self.separators:
            pygame.draw.line(
                surface, theme.PANEL_BORDER, (x, self.rect.y + 10), (x, self.rect.bottom - 10), 1
            )
        self.palette.draw(surface)
        self.width_control.draw(surface)

    def _button(
        self, surface: pygame.Surface, rect: pygame.Rect, name: str, key: str, active: bool, hover: bool
    ) -> None:
        if active:
            pygame.draw.rect(surface, theme.ACCENT_SOFT, rect, border_radius=theme.RADIUS)
            pygame.draw.rect(surface, theme.ACCENT, rect, 2, border_radius=theme.RADIUS)
        elif hover:
            pygame.draw.rect(surface, theme.HOVER_BG, rect, border_radius=theme.RADIUS)
        icon = self._icons.get(name)
        if icon is not None:
            nudge = KEY_NUDGE if key else 0
            surface.blit(icon, icon.get_rect(center=(rect.centerx - nudge, rect.centery - nudge)))
        else:
            self.fonts.blit(
                surface, key or name[:1].upper(), rect.center, theme.FONT_HEADING, theme.TEXT, anchor="center"
            )
        if key:
            ink = theme.ACCENT if active else theme.TEXT_MUTED
            self.fonts.blit(
                surface, key, (rect.right - 4, rect.bottom), 10, ink, bold=True, anchor="bottomright"
            )

    def draw_tooltip(self, surface: pygame.Surface) -> None:
        tip = self.tooltip
        if tip is None:
            return
        anchor, title, key, hint = tip
        head = f"{title}  ({key})" if key else title
        lines = self.fonts.wrap(hint, theme.FONT_SMALL, HINT_MAX_W) if hint else []
        lh_head = self.fonts.line_height(theme.FONT_UI)
        lh = self.fonts.line_height(theme.FONT_SMALL)
        w = max(
            [self.fonts.width(head, theme.FONT_UI, bold=True)]
            + [self.fonts.width(t, theme.FONT_SMALL) for t in lines]
        )
        box = pygame.Rect(0, 0, w + 2 * theme.PAD + 4, lh_head + len(lines) * lh + 2 * theme.PAD)
        box.midtop = (anchor.centerx, anchor.bottom + theme.GAP + 2)
        box.clamp_ip(surface.get_rect())
        pygame.draw.rect(surface, theme.TOOLTIP_BG, box, border_radius=theme.RADIUS)
        y = box.y + theme.PAD
        self.fonts.blit(
            surface, head, (box.x + theme.PAD + 2, y), theme.FONT_UI, theme.TOOLTIP_TEXT, bold=True
        )
        y += lh_head
        for text in lines:
            self.fonts.blit(surface, text, (box.x + theme.PAD + 2, y), theme.FONT_SMALL, theme.TOOLTIP_MUTED)
            y += lh
