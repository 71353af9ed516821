"""The chat panel: a scroll-back log drawn from cached row surfaces, and the input box under it.

Every cost is bounded whatever the lines say (a guest may send 2,000 "W" a line, a server thousands of
history lines). An entry is word-wrapped to text when it arrives, under a per-frame budget of measures
(WRAP_MEASURES_PER_FRAME: a burst shows over a few frames), and folded past FOLD_ROWS rows with "… show
all" (a click unfolds it, up to MAX_EXPANDED_ROWS). Rows are rendered only when they come into view, into
one cache bounded in rows and pixels (MAX_CACHED_ROWS, MAX_CACHED_ROW_PIXELS), so a frame renders at
most the rows it shows and a line that never shows is never rendered; drawing costs the same with 10
lines or 1,000. Styles: "nick: text" with the nick in the user's colour; /me actions as "* nick does" in
italics; private messages marked "[private]" in their own colour; system notices in grey italics
behind a bar; lines replayed to a joiner dimmed. The wheel and PageUp/PageDown scroll back; new
lines do not yank a reader who scrolled up, a "Jump to latest" pill brings them back.
"""

from __future__ import annotations

import itertools
import time as _time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pygame

from ..protocol import MAX_TEXT
from . import chat_rows, theme
from .presence import PresenceGroups
from .text import FontSet
from .textfield import TextField

MAX_ENTRIES = 1000  # entries kept in the scroll-back (and lines waiting to be wrapped, as many again)
MAX_CHAT_INPUT = 2000  # characters of one line (protocol.MAX_TEXT)
# Characters of one entry kept (a chat line's most, protocol.MAX_TEXT; a notice line may be 64 KiB):
# the log and the lines waiting keep at most 2 x MAX_ENTRIES x 2,000 characters, 16 MB at 4 bytes each.
MAX_ENTRY_CHARS = MAX_TEXT
# A line shows at most FOLD_ROWS rows; a longer one ends in "… show all" and a click unfolds it, up to
# MAX_EXPANDED_ROWS rows (2,000 characters of "W", the widest valid line, take ~110 rows of the
# 300-pixel panel). Without the fold every such line was all its rows, a flood of them tens of thousands.
FOLD_ROWS = 6
MAX_EXPANDED_ROWS = 160
FOLD_MARK = "… show all"
CUT_MARK = "… (cut)"
# Row surfaces are rendered only when a row is on screen, and kept in one cache bounded in rows and
# pixels (RGBA: 4 bytes a pixel, so ~8 MiB at most): a line scrolled out of sight costs its text only.
# (Before, every wrapped row of the 1,000 lines kept had its own surface: 400 flood lines, 835 MiB.)
MAX_CACHED_ROWS = 400
MAX_CACHED_ROW_PIXELS = 2_000_000
# Lines arriving in a burst (a join's history replay, a flood) are wrapped under a per-frame budget of
# measuring work (FontSet.measured: one per string measured plus one per 8 characters, 3-12 us a unit
# here, so 3-10 ms a frame): the rest wait for the next frames. A line costs at most ~(FOLD_ROWS + 1)
# rows of measures (a folded 2,000-"W" line ~175 units, 2,000 CJK characters ~250, a line of combining
# or zero-width characters ~560 as text.py MAX_LINE_CHARS cuts its rows): a frame never goes far past.
WRAP_MEASURES_PER_FRAME = 800
# Lines of one notice shown (a notice may be 64 KiB of newlines: 65,536 entries, ~110 ms to make);
# the server's longest, the /help list, is about 20.
MAX_NOTICE_LINES = 50
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

_serial = itertools.count(1)


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
    # the wrapped rows' texts (the body's part of each; the first row starts with stamp and prefix),
    # None until wrapped; ``mark``: what ends the last row (FOLD_MARK, CUT_MARK or "")
    rows: list[str] | None = field(default=None, repr=False)
    mark: str = ""
    head: int = 0  # a header wider than the panel wraps over this many rows of its own (rows[:head])
    expanded: bool = False
    key: int = field(default_factory=lambda: next(_serial))  # names its rows in the surface cache


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
        self._waiting: deque[_Entry] = deque()  # arrived, not wrapped yet (over this frame's budget)
        self._budget = WRAP_MEASURES_PER_FRAME
        self._surfaces: OrderedDict[tuple[int, int], pygame.Surface] = OrderedDict()
        self._cached_pixels = 0
        self.rows_rendered = 0  # row surfaces rendered, ever (tests: work per frame)
        self.frame_rendered = 0  # ... in the last draw
        self.lines_dropped = 0  # lines that arrived faster than they could be shown and were skipped
        self.input = TextField(
            fonts,
            placeholder=PLACEHOLDER_IDLE,
            max_len=MAX_CHAT_INPUT,
            history=True,
            on_submit=self._submit,
            submit_empty=True,
        )
        self.pill_rect = pygame.Rect(0, 0, 0, 0)
        self._shown: list[tuple[_Entry, int]] = []  # the rows drawn last, top to bottom (for clicks)
        self.clock: Callable[[], float] = _time.monotonic  # the App's scheduler clock (presence groups)
        self.presence = PresenceGroups()
        self._presence_entry: _Entry | None = None  # the line of presence.newest

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
        """Enter: the line goes, and the keys go back to drawing (the next tool key picks the tool);
        Enter on an empty line goes back too."""
        self.blur()
        if not text.strip():
            return
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
        """A system line (joins, leaves, command replies, errors); one entry per line of ``text``, at
        most MAX_NOTICE_LINES of them."""
        when = _time.strftime("%H:%M ", _time.localtime(stamp)) if stamp else ""
        lines = text.split("\n", MAX_NOTICE_LINES)  # bounded work, however many lines it has
        if len(lines) > MAX_NOTICE_LINES:
            more = lines.pop().count("\n") + 1
            lines.append(f"… ({more:,} more line{'s' if more > 1 else ''})")
        for line in lines:
            line = line.rstrip("\r")
            self._append(_Entry("notice", when, "", theme.NOTICE_TEXT, line, theme.NOTICE_TEXT, italic=True))
            when = ""

    def add_presence(self, nick: str, verb: str, reason: str = "") -> None:
        """ "NICK joined" / "NICK left (reason)": merged into the newest such line while it is still
        the chat's last line and the last came within presence.PRESENCE_WINDOW_S (on ``clock``)."""
        last = self._waiting[-1] if self._waiting else self.entries[-1] if self.entries else None
        newest = last is not None and last is self._presence_entry
        if self.presence.add(nick, verb, reason, self.clock(), still_newest=newest) and last is not None:
            last.body = self.presence.newest.text() if self.presence.newest else last.body
            self._rewrap(last)
        else:
            self.add_notice(self.presence.newest.text() if self.presence.newest else f"{nick} {verb}")
            self._presence_entry = self._waiting[-1] if self._waiting else self.entries[-1]

    def _append(self, entry: _Entry) -> None:
        if len(entry.body) > MAX_ENTRY_CHARS:  # a notice line (a chat line is at most this long)
            entry.body = entry.body[: MAX_ENTRY_CHARS - 1] + "…"
        self._waiting.append(entry)
        if len(self._waiting) > MAX_ENTRIES:  # they would push each other out of the log anyway
            self._waiting.popleft()
            self.lines_dropped += 1
        self._take_waiting()

    def _take_waiting(self) -> None:
        """Move waiting lines into the log while this frame's wrapping budget lasts."""
        fonts = self.fonts
        while self._waiting and self._budget > 0:
            before = fonts.measured
            self._add(self._waiting.popleft())
            self._budget -= fonts.measured - before

    def _add(self, entry: _Entry) -> None:
        if len(self.entries) >= MAX_ENTRIES:
            old = self.entries.popleft()
            self._total_rows -= len(old.rows or ())
        self.entries.append(entry)
        if self._wrap_w:
            n = len(self._wrap(entry))
            self._total_rows += n
            if self.scroll:
                self.scroll += n  # keep what the reader is looking at in place
            self.scroll = min(self.scroll, self.max_scroll)  # the oldest entry may have gone

    @property
    def waiting(self) -> int:
        """Lines received and not in the log yet (over the frames' wrapping budget)."""
        return len(self._waiting)

    def catch_up(self) -> None:
        """Wrap every waiting line now, whatever the budget (tests, and reading the log as a whole)."""
        while self._waiting:
            self._add(self._waiting.popleft())

    def clear(self) -> None:
        self.entries.clear()
        self._waiting.clear()
        self._total_rows = 0
        self.scroll = 0
        self._drop_surfaces()

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
            self._drop_surfaces()
            for e in self.entries:
                e.rows = None
            self._total_rows = sum(len(self._wrap(e)) for e in self.entries)
        self.scroll = min(self.scroll, self.max_scroll)

    def _drop_surfaces(self) -> None:
        self._surfaces.clear()
        self._cached_pixels = 0

    def _wrap(self, e: _Entry) -> list[str]:
        return chat_rows.wrap(self, e)

    def _row_text(self, e: _Entry, i: int) -> str:
        rows = self._wrap(e)
        text = (e.stamp + ("" if e.head else e.prefix) + rows[i]) if i == 0 else rows[i]
        return text + e.mark if i == len(rows) - 1 else text

    def _surface(self, e: _Entry, i: int) -> pygame.Surface:
        """Row ``i`` of ``e`` as a surface, from the cache or rendered now (and cached)."""
        key = (e.key, i)
        surf = self._surfaces.get(key)
        if surf is not None:
            self._surfaces.move_to_end(key)
            return surf
        surf = self._render_row(e, i)
        self.rows_rendered += 1
        self.frame_rendered += 1
        self._surfaces[key] = surf
        self._cached_pixels += surf.get_width() * surf.get_height()
        while len(self._surfaces) > MAX_CACHED_ROWS or self._cached_pixels > MAX_CACHED_ROW_PIXELS:
            _, old = self._surfaces.popitem(last=False)
            self._cached_pixels -= old.get_width() * old.get_height()
        return surf

    def _render_row(self, e: _Entry, i: int) -> pygame.Surface:
        return chat_rows.render_row(self, e, i)

    def toggle_fold(self, e: _Entry) -> None:
        """Unfold a folded line (or fold it back); the rows above it stay where they are on screen."""
        if not e.mark and not e.expanded:
            return
        e.expanded = not e.expanded
        self._rewrap(e)

    def _rewrap(self, e: _Entry) -> None:
        """``e`` changed (unfolded, or a grouped notice grew): wrap it again; the rows above it stay
        where they are on screen."""
        if e.rows is None:  # not wrapped yet (waiting): nothing to redo
            return
        before = len(e.rows)
        e.rows = None
        for key in [k for k in self._surfaces if k[0] == e.key]:
            old = self._surfaces.pop(key)
            self._cached_pixels -= old.get_width() * old.get_height()
        change = len(self._wrap(e)) - before
        self._total_rows += change
        # the view's top row stays put: the line grows (or shrinks) downwards, newer rows move below
        if self.scroll:
            self.scroll += change
        self.scroll = max(0, min(self.scroll, self.max_scroll))

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
        return [self._row_text(e, i) for e, i in self._visible()]

    def _visible(self) -> list[tuple[_Entry, int]]:
        """The rows on screen, top to bottom, as (entry, row index): nothing rendered here."""
        want, skip = self.visible_count, self.scroll
        out: list[tuple[_Entry, int]] = []
        for e in reversed(self.entries):
            n = len(self._wrap(e))
            if skip >= n:
                skip -= n
                continue
            for i in range(n - 1 - skip, -1, -1):
                out.append((e, i))
                if len(out) == want:
                    return out[::-1]
            skip = 0
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
            elif event.button == 1 and (row := self._row_at(event.pos)) is not None:
                self.toggle_fold(row[0])  # a click on a folded line unfolds it
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

    def _row_at(self, pos: tuple[int, int]) -> tuple[_Entry, int] | None:
        """The row drawn last at ``pos``, if any."""
        if not self.log_rect.collidepoint(pos) or not self._shown:
            return None
        top = self.log_rect.bottom - theme.PAD // 2 - len(self._shown) * self.row_h
        i = (pos[1] - top) // self.row_h
        return self._shown[i] if 0 <= i < len(self._shown) else None

    # -- drawing

    def draw(self, surface: pygame.Surface) -> None:
        r = self.rect
        log_area = self.log_rect
        # the header, the log and the input's strip below it, each filled once: the panel is 300 x 948
        # pixels on a 1080p screen, and one more fill of all of it cost ~0.4 ms of every frame
        surface.fill(theme.PANEL_BG, (r.x, log_area.bottom, r.w, r.bottom - log_area.bottom))
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
        pygame.draw.rect(surface, theme.CARD_BG, log_area)
        clip = surface.get_clip()
        surface.set_clip(log_area.clip(clip))
        self._take_waiting()
        self.frame_rendered = 0
        self._shown = rows = self._visible()
        y = log_area.bottom - theme.PAD // 2 - len(rows) * self.row_h
        for e, i in rows:
            surface.blit(self._surface(e, i), (log_area.x + theme.PAD, y))
            if self.fonts.trace is not None:
                self.fonts.trace.append(self._row_text(e, i))
            y += self.row_h
        self._draw_scrollbar(surface)
        if self.scroll:
            self._draw_pill(surface)
        surface.set_clip(clip)
        pygame.draw.line(surface, theme.PANEL_BORDER, (r.x, log_area.bottom), (r.right, log_area.bottom))
        self.input.draw(surface)
        self._budget = WRAP_MEASURES_PER_FRAME  # the next frame's lines

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
