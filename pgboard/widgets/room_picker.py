"""The connect screen's room picker: the server's open rooms (busiest first, each with how many are
in it, password rooms marked), asked before joining (pgboard/room_probe.py) and shown beside the card
(under it in a narrow window; not at all when neither has room). A click on a room puts its name in
the Room field; a password room moves the focus to the room password.

The list is asked when the screen first shows a server, and again when the server or port changes
once the user has left those fields (not at each keystroke), or on a click of "Refresh".
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from pgboard.protocol import Rooms
from pgboard.room_probe import RoomProbe

from . import theme
from .text import FontSet

PANEL_W = 250  # the list's width beside the card
MIN_W = 180  # narrower than this, the list is not shown beside or under the card
MIN_ROWS = 3  # under the card, only when at least this many rows fit
HEADER_H = 40
ROW_H = 26
GAP = 16
STATUS_LINES = 4  # rows of a status or error at most
REFRESH = "Refresh"
ASKING = "Asking the server for its rooms…"
NO_ROOMS = "No open rooms yet"
TLS_TEXT = "Rooms are listed before joining on plain connections only"

Probe = Callable[[str, int], RoomProbe]


class RoomPicker:
    def __init__(self, fonts: FontSet, probe: Probe = RoomProbe) -> None:
        self.fonts = fonts
        self.probe_with = probe
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.refresh_rect = pygame.Rect(0, 0, 0, 0)
        self.asked: tuple[str, int] | None = None  # the server of the list shown (or being asked)
        self.probe: RoomProbe | None = None
        self.answer: Rooms | None = None
        self.status = ""
        self.row_rects: list[tuple[pygame.Rect, str, bool]] = []
        self.on_pick: Callable[[str, bool], None] | None = None  # (room, takes a password)

    # -- asking

    def poll(self, host: str, port: int, *, editing: bool, tls: bool) -> None:
        """Once a frame while the connect screen shows: ask about (host, port) when it is new and the
        user is not typing it; take a probe's answer when it came."""
        if self.probe is not None and self.probe.done:
            probe, self.probe = self.probe, None
            probe.close()
            result = probe.result
            if isinstance(result, Rooms):
                self.answer, self.status = result, "" if result.rooms else NO_ROOMS
            else:
                self.answer, self.status = None, str(result)
        if tls:
            self.asked, self.answer, self.status = None, None, TLS_TEXT
            return
        key = (host, port)
        first = self.asked is None  # the server the screen opens with is asked at once
        if self.probe is None and key != self.asked and (first or not editing) and 0 < port < 65536:
            self.ask(host, port)

    def ask(self, host: str, port: int) -> None:
        self.asked, self.answer, self.status = (host, port), None, ASKING
        self.probe = self.probe_with(host, port)

    def wake_fds(self) -> list[int]:
        """What wakes the sleeping frame loop for a look's answer (pgboard/frameloop.py)."""
        return [self.probe.fileno()] if self.probe is not None else []

    # -- the user

    def click(self, pos: tuple[int, int]) -> bool:
        if not self.rect.collidepoint(pos):
            return False
        if self.refresh_rect.collidepoint(pos) and self.asked is not None and self.probe is None:
            self.ask(*self.asked)
            return True
        for rect, name, password in self.row_rects:
            if rect.collidepoint(pos) and self.on_pick is not None:
                self.on_pick(name, password)
        return True

    # -- layout and drawing

    def room_beside(self, card: pygame.Rect, window: pygame.Rect) -> int:
        """How far left a centred card moves so that it and the list beside it are centred together
        (0 when the list cannot be beside it at full width)."""
        return (GAP + PANEL_W) // 2 if window.w - 2 * GAP >= card.w + GAP + PANEL_W + GAP else 0

    def layout(self, card: pygame.Rect, window: pygame.Rect) -> None:
        """Beside the card when the window is wide enough, else under it, else nowhere."""
        beside = min(PANEL_W, window.right - card.right - 2 * GAP)
        if beside >= MIN_W:
            self.rect = pygame.Rect(card.right + GAP, card.y, beside, card.h)
            return
        under = window.bottom - card.bottom - 2 * GAP
        if under >= HEADER_H + MIN_ROWS * ROW_H:
            self.rect = pygame.Rect(card.x, card.bottom + GAP, card.w, under)
        else:
            self.rect = pygame.Rect(0, 0, 0, 0)

    def rows(self) -> list[tuple[str, str, bool]]:
        """(room, its detail, takes a password) as shown."""
        if self.answer is None:
            return []
        return [
            (r.name, f"{r.users} {'person' if r.users == 1 else 'people'}", r.password)
            for r in self.answer.rooms
        ]

    def draw(self, surface: pygame.Surface, hover: tuple[int, int]) -> None:
        self.row_rects = []
        r = self.rect
        if r.w <= 0:
            return
        f = self.fonts
        pygame.draw.rect(surface, theme.CARD_BG, r, border_radius=12)
        x, right = r.x + 16, r.right - 16
        f.blit(
            surface,
            "Open rooms",
            (x, r.y + HEADER_H // 2 + 4),
            theme.FONT_UI,
            theme.TEXT,
            bold=True,
            anchor="midleft",
        )
        label_w = f.width(REFRESH, theme.FONT_SMALL)
        self.refresh_rect = pygame.Rect(right - label_w, r.y + 12, label_w, HEADER_H - 16)
        color = theme.ACCENT_HOVER if self.refresh_rect.collidepoint(hover) else theme.ACCENT
        f.blit(surface, REFRESH, self.refresh_rect.midright, theme.FONT_SMALL, color, anchor="midright")
        y = r.y + HEADER_H + 4
        if self.status:  # wrapped: an error names the server and what went wrong, never cut
            for line in f.wrap(self.status, theme.FONT_SMALL, right - x, max_lines=STATUS_LINES):
                f.blit(surface, line, (x, y), theme.FONT_SMALL, theme.TEXT_MUTED)
                y += f.line_height(theme.FONT_SMALL) + 2
            y += 6
        fit = max(0, (r.bottom - 8 - y) // ROW_H)
        shown = self.rows()
        more = len(shown) - fit + (self.answer.more if self.answer is not None else 0)
        if more > 0 and fit:
            shown = shown[: fit - 1]
        for name, detail, password in shown:
            row = pygame.Rect(r.x + 6, y, r.w - 12, ROW_H)
            if row.collidepoint(hover):
                pygame.draw.rect(surface, theme.HOVER_BG, row, border_radius=theme.RADIUS)
            side = detail + (" · password" if password else "")
            side_w = f.width(side, theme.FONT_SMALL)
            f.blit(surface, side, (right, row.centery), theme.FONT_SMALL, theme.TEXT_MUTED, anchor="midright")
            f.blit(
                surface,
                name,
                (x, row.centery),
                theme.FONT_UI,
                theme.TEXT,
                anchor="midleft",
                max_width=right - x - side_w - 8,
            )
            self.row_rects.append((row, name, password))
            y += ROW_H
        if more > 0 and fit:
            f.blit(
                surface,
                f"and {more} more",
                (x, y + ROW_H // 2),
                theme.FONT_SMALL,
                theme.TEXT_FAINT,
                anchor="midleft",
            )
