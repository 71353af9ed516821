"""The connect screen's message box: an error wrapped over as many rows as it needs (up to
MAX_MESSAGE_ROWS), the box and the card growing to fit, so a name or an address is never cut (two fixed
rows cut them before); a detail that repeats the message's first sentence is shown once."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pygame

from . import theme

if TYPE_CHECKING:
    from .connect import ConnectScreen

MESSAGE_H = 40  # the error box under the fields, at least; an untrusted certificate's needs more rows
TRUST_MESSAGE_H = 96
# Rows of an error shown at most: the box grows to the error's wrapped rows; a server's detail is at
# most a few sentences, an untrusted certificate's warning six rows.
MAX_MESSAGE_ROWS = 8


def unrepeated(detail: str, message: str) -> str:
    """``detail`` without what ``message`` already says: "Cannot reach h:p. Is the server running?"
    and "cannot reach h:p (cannot connect to h:p: refused)" read as "Cannot reach h:p. Is the server
    running? (refused)"; the address was said three times and cut off."""
    head = message.split(". ", 1)[0].strip()
    if not head or not detail.casefold().startswith(head.casefold()):
        return detail
    rest = detail[len(head) :].strip(" :,;")
    addr = head.rsplit(" ", 1)[-1]  # "h:p": any clause that names it again goes too
    return re.sub(rf"[^()]*{re.escape(addr)}:?\s*", "", rest) if ":" in addr else rest


def message_lines(s: ConnectScreen) -> list[str]:
    """The error's rows as the box shows them (beside the "Use ..." button when there is one)."""
    if not s.error:
        return []
    from .connect import CARD_W  # (connect imports this module)

    f = s.fonts
    w = min(CARD_W, s.window.w - 24) - 56
    label = f"Use “{s.suggestion}”" if s.suggestion else ""
    use_w = f.width(label, theme.FONT_SMALL, bold=True) + 2 * theme.PAD + 4 if label else 0
    return f.wrap(s.error, theme.FONT_SMALL, max(40, w - 2 * theme.PAD - use_w))[:MAX_MESSAGE_ROWS]


def message_height(s: ConnectScreen) -> int:
    least = TRUST_MESSAGE_H if s.untrusted else MESSAGE_H
    return max(least, len(message_lines(s)) * s.fonts.line_height(theme.FONT_SMALL) + 2 * theme.PAD)


def draw_message(s: ConnectScreen, surface: pygame.Surface) -> None:
    f = s.fonts
    x, w = s.card.x + 28, s.card.w - 56
    y = s.message_y
    if s.error:
        use_w = 0
        label = f"Use “{s.suggestion}”" if s.suggestion else ""
        if label:
            use_w = f.width(label, theme.FONT_SMALL, bold=True) + 2 * theme.PAD + 4
        lines = message_lines(s)
        box = pygame.Rect(x, y, w, message_height(s))
        pygame.draw.rect(surface, theme.ERROR_BG, box, border_radius=theme.RADIUS)
        lh = f.line_height(theme.FONT_SMALL)
        ty = box.centery - len(lines) * lh // 2
        for line in lines:
            f.blit(surface, line, (box.x + theme.PAD, ty), theme.FONT_SMALL, theme.ERROR_TEXT)
            ty += lh
        if label:
            s.use_rect = pygame.Rect(0, 0, use_w, 26)
            s.use_rect.midright = (box.right - 7, box.centery)
            pygame.draw.rect(surface, theme.CARD_BG, s.use_rect, border_radius=theme.RADIUS)
            pygame.draw.rect(surface, theme.ERROR_TEXT, s.use_rect, 1, border_radius=theme.RADIUS)
            f.blit(
                surface,
                label,
                s.use_rect.center,
                theme.FONT_SMALL,
                theme.ERROR_TEXT,
                bold=True,
                anchor="center",
            )
    elif s.busy:
        f.blit(surface, s.busy, (x, y + 12), theme.FONT_SMALL, theme.TEXT_MUTED)
