"""The connect screen's drawing (widgets/connect.py keeps its state, events and layout): the card, its
fields and labels, the Guest / Log in / Sign up choice, the TLS and change-password switches, the
message box and the two buttons."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from . import connect_message, theme
from .overlays import shadow

if TYPE_CHECKING:
    from .connect import ConnectScreen

CARD_RADIUS = 12
LABEL_H = 20
MODES = (("guest", "Guest"), ("login", "Log in"), ("signup", "Sign up"))
CHANGE_LABEL = "Change password"
TLS_LABELS = ("Secure (TLS): off", "Secure (TLS): on")
BACKGROUND = (233, 237, 243)


def draw(self: ConnectScreen, surface: pygame.Surface) -> None:
    f = self.fonts
    surface.fill(BACKGROUND)
    shadow(surface, self.card, CARD_RADIUS)
    pygame.draw.rect(surface, theme.CARD_BG, self.card, border_radius=CARD_RADIUS)
    x = self.card.x + 28
    f.blit(surface, "pgboard", (x, self.card.y + 24), 26, theme.TEXT, bold=True)
    f.blit(
        surface,
        "Join a shared whiteboard or host one here.",
        (x, self.card.y + 60),
        theme.FONT_UI,
        theme.TEXT_MUTED,
    )
    for field in self.fields:
        f.blit(
            surface,
            self.labels[field],
            (field.rect.x, field.rect.y - LABEL_H),
            theme.FONT_SMALL,
            theme.TEXT_MUTED,
            bold=True,
        )
        field.draw(surface)
    _draw_modes(self, surface)
    connect_message.draw_message(self, surface)
    host_bg = theme.HOVER_BG if self.host_rect.collidepoint(self._hover) else theme.BUTTON_BG
    pygame.draw.rect(surface, host_bg, self.host_rect, border_radius=theme.RADIUS)
    pygame.draw.rect(surface, theme.FIELD_BORDER, self.host_rect, 1, border_radius=theme.RADIUS)
    f.blit(surface, "Host a board", self.host_rect.center, theme.FONT_UI, theme.TEXT, anchor="center")
    connect_bg = theme.ACCENT_HOVER if self.connect_rect.collidepoint(self._hover) else theme.ACCENT
    pygame.draw.rect(surface, connect_bg, self.connect_rect, border_radius=theme.RADIUS)
    f.blit(
        surface,
        "Trust and connect"
        if self.untrusted
        else "Sign up and connect"
        if self.mode == "signup"
        else "Connect",
        self.connect_rect.center,
        theme.FONT_UI,
        theme.BUTTON_PRIMARY_TEXT,
        bold=True,
        anchor="center",
    )


def _draw_modes(self: ConnectScreen, surface: pygame.Surface) -> None:
    """Guest / Log in / Sign up as a segmented choice, the change-password and TLS switches."""
    f = self.fonts
    for mode, label in MODES:
        rect = self.mode_rects[mode]
        chosen = mode == self.mode
        if chosen:
            bg = theme.ACCENT_SOFT
        else:
            bg = theme.HOVER_BG if rect.collidepoint(self._hover) else theme.BUTTON_BG
        pygame.draw.rect(surface, bg, rect, border_radius=theme.RADIUS)
        border = theme.ACCENT if chosen else theme.FIELD_BORDER
        pygame.draw.rect(surface, border, rect, 1, border_radius=theme.RADIUS)
        color = theme.ACCENT if chosen else theme.TEXT
        f.blit(surface, label, rect.center, theme.FONT_UI, color, bold=chosen, anchor="center")
    if self.mode == "login":
        color = theme.ACCENT_HOVER if self.change_rect.collidepoint(self._hover) else theme.ACCENT
        label = "Keep password" if self.changing else CHANGE_LABEL
        f.blit(surface, label, self.change_rect.midright, theme.FONT_SMALL, color, anchor="midright")
    color = theme.ACCENT_HOVER if self.tls_rect.collidepoint(self._hover) else theme.ACCENT
    label = TLS_LABELS[self.tls]
    f.blit(surface, label, self.tls_rect.midright, theme.FONT_SMALL, color, bold=self.tls, anchor="midright")
