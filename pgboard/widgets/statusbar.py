"""The status bar: connection state (with the reconnect countdown), while hosting where others join,
room, nickname, latency, catch-up, the zoom (``extra``), and, in red, a note that the board is locked
(``lock``).

Everything is plain data the app passes in ``set_status``; the widget only formats it. A click on it
calls ``on_click`` (the app: reconnect now, while offline). While a board
is replayed, ``progress`` (0..1, or (done, total)) shows as a progress bar on the right.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame

from . import theme
from .text import FontSet

if TYPE_CHECKING:
    from pgboard.net import Connection

DOT = 8
PROGRESS_W = 160
PROGRESS_H = 8
FIELD_GAP = 22
GOOD_STATES = ("connected", "online", "joined")
BAD_STATES = ("offline", "disconnected", "error", "failed", "closed", "refused", "unreachable", "down")

Progress = float | tuple[int, int] | None
RETRY_KEY = "F5"  # pgboard/shortcuts.py binds it to "reconnect" (retry_now); a click on the status bar too
DOWN_TEXT = "Server down: still retrying"  # the line after LONG_OUTAGE_ATTEMPTS failed tries


def connection_text(conn: Connection) -> str:
    """One line saying where the connection stands, for the status bar."""
    state = conn.state
    if state == "connecting":
        tail = f" (attempt {conn.attempts + 1})" if conn.attempts else ""
        return f"Connecting to {conn.host}:{conn.port}...{tail}"
    if state == "joining":
        return f"Joining {conn.room or 'the lobby'}..."
    if state == "catching_up":
        if conn.catchup_progress and conn.catchup_progress[1]:
            done, total = conn.catchup_progress
            return f"Catching up: {done}/{total}"
        return "Catching up..."
    if state == "online":
        ping = f", {round(conn.latency * 1000)} ms" if conn.latency is not None else ""
        if conn.held:
            return f"Online: {conn.nick} in {conn.room}{ping}; slowed down by the server, resending"
        return f"Online: {conn.nick} in {conn.room}{ping}"
    if state == "offline":
        kept = conn.pending
        tail = f"; {kept} unsent change{'s' if kept != 1 else ''} kept" if kept else ""
        head = DOWN_TEXT if conn.long_outage else "Offline: retrying"
        return f"{head} in {max(1, math.ceil(conn.retry_in))} s{tail} ({RETRY_KEY}: now)"
    if state == "refused":
        err = conn.join_error or conn.account_error
        if err is None:
            return "Refused by the server"
        text = f"Refused: {err.detail or err.reason}"
        suggestion = getattr(err, "suggestion", "")
        return f"{text}. Try {suggestion!r}?" if suggestion else text
    if state == "untrusted":
        if conn.tls_changed:
            return str(conn.last_error)
        return f"Untrusted certificate, SHA256 {conn.tls_fingerprint}: trust it?"
    return f"Disconnected: {conn.last_error}" if conn.last_error not in ("", "closed") else "Disconnected"


def state_color(state: str) -> tuple[int, int, int]:
    s = state.lower()
    if any(s.startswith(w) for w in GOOD_STATES):
        return theme.STATE_OK
    if any(w in s for w in BAD_STATES):
        return theme.STATE_BAD
    return theme.STATE_WAIT


def _nothing() -> None:
    pass


class StatusBar:
    def __init__(self, fonts: FontSet) -> None:
        self.fonts = fonts
        self.rect = pygame.Rect(0, 0, 0, theme.STATUS_H)
        self.state = "Offline"
        self.detail = ""
        self.room = ""
        self.nick = ""
        self.latency_ms: float | None = None
        self.progress: Progress = None
        self.extra = ""  # a right-aligned note (e.g. the zoom level), set by the app
        self.share = ""  # while hosting: where others join (pgboard.hosting.invitation), set by the app
        self.lock = ""  # "Board locked ..." while an operator locked the board, set by the app
        self.on_click: Callable[[], None] = _nothing  # the app: reconnect now (while offline)

    def set_status(
        self,
        state: str,
        room: str = "",
        nick: str = "",
        latency_ms: float | None = None,
        progress: Progress = None,
        detail: str = "",
    ) -> None:
        self.state, self.room, self.nick = state, room, nick
        self.latency_ms, self.progress, self.detail = latency_ms, progress, detail

    def fraction(self) -> float | None:
        p = self.progress
        if p is None:
            return None
        if isinstance(p, tuple):
            done, total = p
            return 1.0 if total <= 0 else max(0.0, min(1.0, done / total))
        return max(0.0, min(1.0, float(p)))

    def texts(self) -> list[str]:
        """The fields shown left to right."""
        state = f"{self.state} · {self.detail}" if self.detail else self.state
        out = [state]
        if self.share:
            out.append(self.share)
        if self.room:
            out.append(f"Room: {self.room}")
        if self.nick:
            out.append(f"You: {self.nick}")
        if self.latency_ms is not None:
            out.append(f"{round(self.latency_ms)} ms")
        if self.lock:
            out.append(self.lock)
        return out

    def handle_event(self, event: pygame.event.Event) -> bool:
        if event.type == pygame.MOUSEBUTTONDOWN and self.rect.collidepoint(event.pos):
            if event.button == 1:
                self.on_click()
            return True
        return False

    def draw(self, surface: pygame.Surface) -> None:
        r = self.rect
        pygame.draw.rect(surface, theme.STATUS_BG, r)
        pygame.draw.line(surface, theme.PANEL_BORDER, r.topleft, (r.right, r.y))
        cy = r.centery
        pygame.draw.circle(surface, state_color(self.state), (r.x + theme.PAD + DOT // 2 + 2, cy), DOT // 2)
        x = r.x + theme.PAD + DOT + 10
        right_limit = r.right - theme.PAD
        frac = self.fraction()
        if frac is not None:
            right_limit -= PROGRESS_W + 110
        elif self.extra:  # the zoom on the right: the fields stop before it, never run under it
            right_limit -= self.fonts.width(self.extra, theme.FONT_SMALL) + FIELD_GAP
        for i, text in enumerate(self.texts()):
            color = theme.TEXT if i == 0 else theme.TEXT_MUTED
            if self.lock and text == self.lock:
                color = theme.DANGER
            if x >= right_limit:
                break
            rect = self.fonts.blit(
                surface, text, (x, cy), theme.FONT_SMALL, color, anchor="midleft", max_width=right_limit - x
            )
            x = rect.right + FIELD_GAP
        if frac is not None:
            bar = pygame.Rect(0, 0, PROGRESS_W, PROGRESS_H)
            bar.midright = (r.right - theme.PAD - 2, cy)
            pygame.draw.rect(surface, theme.PROGRESS_BG, bar, border_radius=PROGRESS_H // 2)
            done = bar.copy()
            done.w = max(PROGRESS_H, round(bar.w * frac))
            pygame.draw.rect(surface, theme.ACCENT, done, border_radius=PROGRESS_H // 2)
            label = f"Loading board {round(frac * 100)}%"
            self.fonts.blit(
                surface, label, (bar.x - theme.PAD, cy), theme.FONT_SMALL, theme.TEXT_MUTED, anchor="midright"
            )
        elif self.extra:
            self.fonts.blit(
                surface,
                self.extra,
                (r.right - theme.PAD, cy),
                theme.FONT_SMALL,
                theme.TEXT_MUTED,
                anchor="midright",
            )
