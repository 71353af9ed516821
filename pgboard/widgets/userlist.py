"""The user list: who is in the room, each with a colour derived from their id, "(you)" for yourself
and an "op" badge for the room's operators.

Clicking someone else reports ``on_pick(nick)`` (the UI starts a private message to them); a right-click
reports ``on_menu(nick)`` (pgboard/people_menu.py: message, add or remove a friend). A list
longer than the panel scrolls (the wheel over it, ``scroll_by``, or Page Up, Page Down, Home and End
with the pointer over it: ``page``; a scroll bar shows where you are); it
said "and 6 more" and hid them. While the server is down (``offline``) the header says so and the list
is greyed: it is who was there, not who is. ``marks``: a short word after a nick (author id -> "idle",
"drawing"...), for whoever knows it (the cursor widgets).
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from . import theme
from .text import FontSet

HEADER_H = 28
ROW_H = 22
DOT = 8
MAX_ROWS_SHOWN = 12  # the panel grows to this many rows; beyond, the list scrolls
BADGE_TEXT = "op"  # the operator badge after a nick
BADGE_W = 30  # pixels kept free for it
WHEEL_ROWS = 2  # rows per wheel notch
OFFLINE_TEXT = "offline: as last seen"


class UserList:
    def __init__(self, fonts: FontSet, on_pick: Callable[[str], None] | None = None) -> None:
        self.fonts = fonts
        self.on_pick = on_pick
        self.on_menu: Callable[[str], None] | None = None  # a right-click on someone else
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.users: list[tuple[str, str]] = []
        self.me = ""
        self.operators: frozenset[str] = frozenset()
        self.is_drawing: Callable[[str], bool] = lambda uid: False  # set by the app (Presence.drawing)
        self.marked: set[str] = set()  # who wore the drawing mark when last drawn
        self.top = 0  # rows scrolled past at the top
        self.offline = False
        self.marks: dict[str, str] = {}

    def set_users(
        self, users: list[tuple[str, str]], me: str = "", operators: frozenset[str] = frozenset()
    ) -> None:
        """``users``: (id, nick) pairs; ``me``: your own id. You are listed first, then the operators
        (a class finds its teacher at the top, not below kid00-kid29), then everyone by name.
        ``operators``: the ids that get a badge."""
        self.me = me
        self.operators = operators
        mine = [u for u in users if u[0] == me]
        others = [u for u in users if u[0] != me]
        others.sort(key=lambda u: (u[0] not in operators, u[1].casefold()))
        self.users = mine + others

    def wanted_height(self) -> int:
        return HEADER_H + max(1, min(len(self.users), MAX_ROWS_SHOWN)) * ROW_H + theme.PAD

    @property
    def fit(self) -> int:
        """Rows the panel shows."""
        return max(1, (self.rect.h - HEADER_H - theme.PAD) // ROW_H)

    def scroll_by(self, rows: int) -> None:
        """Positive: further down the list."""
        self.top = max(0, min(self.top + rows, len(self.users) - self.fit))

    def page(self, key: int) -> None:
        """Page Up / Page Down a panel's worth, Home / End to either end (the pointer over the list)."""
        step = {pygame.K_PAGEUP: -self.fit, pygame.K_PAGEDOWN: self.fit, pygame.K_HOME: -len(self.users)}
        self.scroll_by(step.get(key, len(self.users)))

    def rows(self) -> list[tuple[str, str]]:
        """What the list shows now: (colour key, text) per visible row."""
        self.scroll_by(0)  # the list may have shrunk
        shown = self.users[self.top : self.top + self.fit]
        return [(uid, f"{nick} (you)" if uid == self.me else nick) for uid, nick in shown]

    def handle_event(self, event: pygame.event.Event) -> bool:
        if event.type == pygame.MOUSEWHEEL:
            self.scroll_by(-int(event.y) * WHEEL_ROWS)
            return True
        if event.type != pygame.MOUSEBUTTONDOWN or not self.rect.collidepoint(event.pos):
            return False
        row = (event.pos[1] - self.rect.y - HEADER_H - theme.PAD // 2) // ROW_H
        rows = self.rows()
        if event.button == 1 and 0 <= row < len(rows) and event.pos[1] >= self.rect.y + HEADER_H:
            uid = rows[row][0]
            nick = next((n for i, n in self.users if i == uid), "")
            if nick and uid != self.me and self.on_pick is not None:
                self.on_pick(nick)
        if event.button == 3 and 0 <= row < len(rows) and event.pos[1] >= self.rect.y + HEADER_H:
            nick = next((n for i, n in self.users if i == rows[row][0]), "")
            if nick and rows[row][0] != self.me and self.on_menu is not None:
                self.on_menu(nick)
        return True

    def draw(self, surface: pygame.Surface) -> None:
        r = self.rect
        pygame.draw.rect(surface, theme.PANEL_BG, r)
        header = pygame.Rect(r.x, r.y, r.w, HEADER_H)
        pygame.draw.rect(surface, theme.PANEL_HEADER, header)
        self.fonts.blit(
            surface,
            "People",
            (r.x + theme.PAD + 2, header.centery),
            theme.FONT_UI,
            theme.TEXT,
            bold=True,
            anchor="midleft",
        )
        self.fonts.blit(
            surface,
            OFFLINE_TEXT if self.offline else str(len(self.users)),
            (r.right - theme.PAD - 2, header.centery),
            theme.FONT_SMALL,
            theme.TEXT_MUTED,
            anchor="midright",
        )
        y = header.bottom + theme.PAD // 2
        self.marked = set()
        for uid, text in self.rows():
            cy = y + ROW_H // 2
            dot = theme.TEXT_FAINT if self.offline else theme.user_color(uid)
            pygame.draw.circle(surface, dot, (r.x + theme.PAD + 6, cy), DOT // 2)
            color = theme.TEXT_FAINT if self.offline else theme.TEXT
            nick_w = r.w - 3 * theme.PAD - DOT - 6
            you = uid == self.me and text.endswith(" (you)")
            shown = text[: -len(" (you)")] if you else text
            rect = self.fonts.blit(
                surface,
                shown,
                (r.x + 2 * theme.PAD + DOT + 2, cy),
                theme.FONT_UI,
                color,
                anchor="midleft",
                max_width=nick_w - (48 if you else 0) - (BADGE_W if uid in self.operators else 0),
            )
            if you:
                rect = self.fonts.blit(
                    surface,
                    "(you)",
                    (rect.right + 5, cy),
                    theme.FONT_SMALL,
                    theme.TEXT_FAINT if self.offline else theme.SELF_MARK,
                    anchor="midleft",
                )
            if uid and self.is_drawing(uid) and not self.offline:  # offline: who draws now is not known
                self.marked.add(uid)
                rect = self._pen(surface, rect.right + 5, cy, theme.user_color(uid))
            if uid in self.operators:
                rect = self._badge(surface, rect.right + 6, cy)
            if self.marks.get(uid):
                self.fonts.blit(
                    surface,
                    self.marks[uid],
                    (rect.right + 5, cy),
                    theme.FONT_SMALL,
                    theme.TEXT_FAINT,
                    anchor="midleft",
                )
            y += ROW_H
        self._draw_scrollbar(surface)
        pygame.draw.line(surface, theme.PANEL_BORDER, (r.x, r.bottom - 1), (r.right, r.bottom - 1))

    def _pen(self, surface: pygame.Surface, x: int, cy: int, color: tuple[int, int, int]) -> pygame.Rect:
        """The drawing-now mark: a small pen in the person's colour, tip down-left."""
        pygame.draw.line(surface, color, (x + 2, cy + 4), (x + 9, cy - 3), 4)
        pygame.draw.polygon(surface, color, [(x, cy + 6), (x + 1, cy + 2), (x + 4, cy + 5)])
        return pygame.Rect(x, cy - 5, 11, 12)

    def _draw_scrollbar(self, surface: pygame.Surface) -> None:
        total, fit = len(self.users), self.fit
        if total <= fit:
            return
        track = pygame.Rect(
            self.rect.right - theme.SCROLLBAR_W - 2, self.rect.y + HEADER_H + 2, theme.SCROLLBAR_W, 0
        )
        track.h = self.rect.h - HEADER_H - 4
        thumb_h = max(12, track.h * fit // total)
        thumb_y = track.y + (track.h - thumb_h) * self.top // max(1, total - fit)
        pygame.draw.rect(surface, theme.PANEL_BORDER, (track.x, thumb_y, track.w, thumb_h), border_radius=2)

    def _badge(self, surface: pygame.Surface, x: int, cy: int) -> pygame.Rect:
        """The operator badge: "op" in white on the accent colour."""
        label = self.fonts.render(BADGE_TEXT, theme.FONT_SMALL, theme.BUTTON_PRIMARY_TEXT, bold=True)
        box = pygame.Rect(x, 0, label.get_width() + 8, label.get_height() + 2)
        box.centery = cy
        box.right = min(box.right, self.rect.right - 2)
        fill = theme.TEXT_FAINT if self.offline else theme.ACCENT  # the whole list greys while offline
        pygame.draw.rect(surface, fill, box, border_radius=box.h // 2)
        surface.blit(label, label.get_rect(center=box.center))
        return box
