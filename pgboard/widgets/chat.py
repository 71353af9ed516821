"""The chat panel: a scroll-back log drawn from cached line surfaces, and the input box under it.

Each entry is word-wrapped and rendered once, when it arrives (again only if the panel's width
changes), so drawing costs the same with 10 lines or 1,000: a frame blits the visible rows and no
more. Styles: "nick: text" with the nick in the user's colour; /me actions as "* nick does" in
italics; private messages marked "[private]" in their own colour; system notices in grey italics
behind a bar; lines replayed to a joiner dimmed. The wheel and PageUp/PageDown scroll back; new
lines do not yank a reader who scrolled up, a "Jump to latest" pill brings them back.
"""

from __future__ import annotations

import time as _time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pygame

from . import theme
from .text import FontSet
from .textfield import TextField

MAX_ENTRIES = 1000  # entries kept in the scroll-back
MAX_CHAT_INPUT = 2000  # characters of one line (protocol.MAX_TEXT)
HEADER_H = 28
ROW_GAP = 3  # pixels between rows
INDENT = 14  # continuation rows of an entry start this far in
MIN_FIRST_W = 60  # less room than this after the name: the text starts on the next row
NOTICE_BAR_W = 2
WHEEL_ROWS = 3  # rows per wheel notch
HISTORY_ALPHA = 150  # lines replayed from before you joined are dimmed
PILL_H = 22
PLACEHOLDER_IDLE = "Press Enter to chat"
PLACEHOLDER_FOCUSED = "Message · Enter to send · Esc to leave"


@dataclass
class _Entry:
    kind: str  # say, me, private, notice
    stamp: str
    prefix: str
    prefix_color: tuple[int, int, int]
    body: str
    body_color: tuple[int, int, int]
    italic: bool = False
    dim: bool = False
    rows: list[tuple[pygame.Surface, str]] | None = field(default=None, repr=False)


class ChatPanel:
    def __init__(self, fonts: FontSet, *, on_send: Callable[[str], None] | None = None) -> None:
        self.fonts = fonts
        self.on_send = on_send
        self.rect = pygame.Rect(0, 0, 0, 0)
        self.log_rect = pygame.Rect(0, 0, 0, 0)
        self.entries: deque[_Entry] = deque()
        self.me = ""
        self.scroll = 0  # rows hidden below the view (0: showing the newest)
        self.size = theme.FONT_CHAT
        self.row_h = fonts.line_height(self.size) + ROW_GAP
        self._wrap_w = 0
        self._total_rows = 0
        self.input = TextField(
            fonts, placeholder=PLACEHOLDER_IDLE, max_len=MAX_CHAT_INPUT, history=True, on_submit=self._submit
        )
        self.pill_rect = pygame.Rect(0, 0, 0, 0)

    # -- focus

    @property
    def focused(self) -> bool:
        return self.input.focused

    def focus(self) -> None:
        self.input.focus()
        self.input.placeholder = PLACEHOLDER_FOCUSED

    def blur(self) -> None:
        self.input.blur()
        self.input.placeholder = PLACEHOLDER_IDLE

    def _submit(self, text: str) -> None:
        self.scroll = 0
        if self.on_send is not None:
            self.on_send(text)

    # -- adding lines

    def add_chat(
        self,
        nick: str,
        text: str,
        kind: str = "say",
        *,
        user: str = "",
        to: str = "",
        history: bool = False,
        stamp: int = 0,
        away: bool = False,
        again: bool = False,
    ) -> None:
        """A chat line as protocol.Chat carries it (kind: say, me or private; ``away``: a private line
        kept while its reader was offline, shown with the day it was sent; ``again``: such a line sent
        before, to a connection that dropped before it said it had it)."""
        when = _time.strftime("%d %b %H:%M " if away else "%H:%M ", _time.localtime(stamp)) if stamp else ""
        color = theme.user_color(user or nick)
        if kind == "me":
            entry = _Entry(kind, when, f"* {nick} ", theme.ACTION_TEXT, text, theme.ACTION_TEXT, italic=True)
        elif kind == "private":
            mine = bool(self.me) and user == self.me
            if away:
                prefix = (
                    f"[kept until {to} is back] you → {to}: "
                    if mine
                    else f"[while you were away{', again' if again else ''}] {nick} → you: "
                )
            else:
                prefix = f"[private] you → {to}: " if mine else f"[private] {nick} → you: "
            entry = _Entry(kind, when, prefix, theme.PRIVATE_TEXT, text, theme.PRIVATE_TEXT)
        else:
            entry = _Entry("say", when, f"{nick}: ", color, text, theme.TEXT)
        entry.dim = history
        self._append(entry)

    def add_notice(self, text: str, *, stamp: int = 0) -> None:
        """A system line (joins, leaves, command replies, errors)."""
        when = _time.strftime("%H:%M ", _time.localtime(stamp)) if stamp else ""
        for line in text.splitlines() or [""]:
            self._append(_Entry("notice", when, "", theme.NOTICE_TEXT, line, theme.NOTICE_TEXT, italic=True))
            when = ""

    def _append(self, entry: _Entry) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            old = self.entries.popleft()
            self._total_rows -= len(old.rows or ())
        self.entries.append(entry)
        if self._wrap_w:
            n = len(self._rows(entry))
            self._total_rows += n
            if self.scroll:
                self.scroll += n  # keep what the reader is looking at in place
            self.scroll = min(self.scroll, self.max_scroll)  # the oldest entry may have gone

    def clear(self) -> None:
        self.entries.clear()
        self._total_rows = 0
        self.scroll = 0

    # -- layout and rows

    def layout(self, rect: pygame.Rect) -> None:
        self.rect = pygame.Rect(rect)
        input_h = theme.INPUT_H + 2 * theme.PAD
        self.log_rect = pygame.Rect(rect.x, rect.y + HEADER_H, rect.w, max(0, rect.h - HEADER_H - input_h))
        self.input.rect = pygame.Rect(
            rect.x + theme.PAD, rect.bottom - input_h + theme.PAD, rect.w - 2 * theme.PAD, theme.INPUT_H
        )
        wrap_w = max(40, self.log_rect.w - 2 * theme.PAD - theme.SCROLLBAR_W - 2)
        if wrap_w != self._wrap_w:
            self._wrap_w = wrap_w
            for e in self.entries:
                e.rows = None
            self._total_rows = sum(len(self._rows(e)) for e in self.entries)
        self.scroll = min(self.scroll, self.max_scroll)

    def _rows(self, e: _Entry) -> list[tuple[pygame.Surface, str]]:
        if e.rows is not None:
            return e.rows
        f, size, w = self.fonts, self.size, self._wrap_w
        lead = NOTICE_BAR_W + 6 if e.kind == "notice" else 0
        head = e.stamp + e.prefix
        stamp_w = f.width(e.stamp, theme.FONT_SMALL) if e.stamp else 0
        prefix_w = f.width(e.prefix, size, bold=e.kind != "notice", italic=e.italic)
        first_w = w - lead - stamp_w - prefix_w
        alone = first_w < MIN_FIRST_W  # a long name: the text starts on the next row
        rest_w = w - lead - INDENT
        lines = f.wrap(e.body, size, rest_w if alone else first_w, rest_w, italic=e.italic)
        if alone:
            lines.insert(0, "")
        asc, height = f.metrics(size)
        rows = []
        for i, line in enumerate(lines):
            surf = pygame.Surface((w, height), pygame.SRCALPHA)
            x = lead
            if e.kind == "notice":
                pygame.draw.rect(surf, theme.NOTICE_BAR, (0, 0, NOTICE_BAR_W, height + ROW_GAP))
            if i == 0:
                if e.stamp:
                    st = f.render(e.stamp, theme.FONT_SMALL, theme.TEXT_FAINT)
                    surf.blit(st, (x, asc - f.metrics(theme.FONT_SMALL)[0]))
                    x += stamp_w
                if e.prefix:
                    surf.blit(f.render(e.prefix, size, e.prefix_color, bold=True, italic=e.italic), (x, 0))
                    x += prefix_w
            else:
                x += INDENT
            if line:
                surf.blit(f.render(line, size, e.body_color, italic=e.italic, cache=False), (x, 0))
            if e.dim:
                surf.set_alpha(HISTORY_ALPHA)
            rows.append((surf, (head + line) if i == 0 else line))
        e.rows = rows
        return rows

    @property
    def visible_count(self) -> int:
        return max(1, (self.log_rect.h - theme.PAD) // self.row_h)

    @property
    def total_rows(self) -> int:
        return self._total_rows

    @property
    def max_scroll(self) -> int:
        return max(0, self._total_rows - self.visible_count)

    def scroll_by(self, rows: int) -> None:
        """Positive: back in time (older lines)."""
        self.scroll = max(0, min(self.max_scroll, self.scroll + rows))

    def page(self, direction: int) -> None:
        """PageUp (direction +1) or PageDown (-1): most of a screenful."""
        self.scroll_by(direction * max(1, self.visible_count - 1))

    def visible_rows(self) -> list[str]:
        """The text of the rows on screen, top to bottom."""
        return [text for _, text in self._visible()]

    def _visible(self) -> list[tuple[pygame.Surface, str]]:
        want, skip = self.visible_count, self.scroll
        out: list[tuple[pygame.Surface, str]] = []
        for e in reversed(self.entries):
            for row in reversed(self._rows(e)):
                if skip:
                    skip -= 1
                    continue
                out.append(row)
                if len(out) == want:
                    return out[::-1]
        return out[::-1]

    # -- events

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Keys and text while focused (Esc leaves); clicks inside the panel; the wheel is the UI's call."""
        if event.type == pygame.MOUSEBUTTONDOWN:
            if not self.rect.collidepoint(event.pos):
                return False
            if event.button == 1 and self.scroll and self.pill_rect.collidepoint(event.pos):
                self.scroll = 0
            elif event.button == 1 and self.input.rect.collidepoint(event.pos):
                self.input.handle_event(event)
                self.focus()
            return True
        if not self.focused:
            return False
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_ESCAPE:
                self.blur()
                return True
            if event.key == pygame.K_PAGEUP:
                self.page(+1)
                return True
            if event.key == pygame.K_PAGEDOWN:
                self.page(-1)
                return True
            if (
                event.key in (pygame.K_RETURN, pygame.K_KP_ENTER)
                and not self.input.text
                and not self.input.composition
            ):
                self.blur()  # Enter on an empty line goes back to drawing
                return True
        return self.input.handle_event(event) or event.type in (
            pygame.KEYDOWN,
            pygame.KEYUP,
            pygame.TEXTINPUT,
        )

    # -- drawing

    def draw(self, surface: pygame.Surface) -> None:
        r = self.rect
        pygame.draw.rect(surface, theme.PANEL_BG, r)
        header = pygame.Rect(r.x, r.y, r.w, HEADER_H)
        pygame.draw.rect(surface, theme.PANEL_HEADER, header)
        self.fonts.blit(
            surface,
            "Chat",
            (r.x + theme.PAD + 2, header.centery),
            theme.FONT_UI,
            theme.TEXT,
            bold=True,
            anchor="midleft",
        )
        log_area = self.log_rect
        pygame.draw.rect(surface, theme.CARD_BG, log_area)
        clip = surface.get_clip()
        surface.set_clip(log_area.clip(clip))
        rows = self._visible()
        y = log_area.bottom - theme.PAD // 2 - len(rows) * self.row_h
        for surf, text in rows:
            surface.blit(surf, (log_area.x + theme.PAD, y))
            if self.fonts.trace is not None:
                self.fonts.trace.append(text)
            y += self.row_h
        self._draw_scrollbar(surface)
        if self.scroll:
            self._draw_pill(surface)
        surface.set_clip(clip)
        pygame.draw.line(surface, theme.PANEL_BORDER, (r.x, log_area.bottom), (r.right, log_area.bottom))
        self.input.draw(surface)

    def _draw_scrollbar(self, surface: pygame.Surface) -> None:
        total, shown = self._total_rows, self.visible_count
        if total <= shown:
            return
        track = pygame.Rect(
            self.log_rect.right - theme.SCROLLBAR_W - 2,
            self.log_rect.y + 2,
            theme.SCROLLBAR_W,
            self.log_rect.h - 4,
        )
        thumb_h = max(16, track.h * shown // total)
        top_row = total - shown - self.scroll  # rows above the view
        thumb_y = track.y + (track.h - thumb_h) * top_row // max(1, total - shown)
        pygame.draw.rect(surface, theme.PANEL_BORDER, (track.x, thumb_y, track.w, thumb_h), border_radius=2)

    def _draw_pill(self, surface: pygame.Surface) -> None:
        label = "Jump to latest ↓"
        w = self.fonts.width(label, theme.FONT_SMALL) + 2 * theme.PAD + 4
        self.pill_rect = pygame.Rect(0, 0, w, PILL_H)
        self.pill_rect.midbottom = (self.log_rect.centerx, self.log_rect.bottom - theme.PAD)
        pygame.draw.rect(surface, theme.ACCENT, self.pill_rect, border_radius=PILL_H // 2)
        self.fonts.blit(
            surface,
            label,
            self.pill_rect.center,
            theme.FONT_SMALL,
            theme.BUTTON_PRIMARY_TEXT,
            anchor="center",
        )
