"""The drawing game in the window (the server runs it: server/game.py): a banner over the top of the
board with the word (the drawer's), its blanks (everyone else's) or the three words to choose from
(clicks or keys 1-3 while choosing: the palette keys wait), a timer bar that shrinks to the phase's
end, the scores next to the names in People, the word at the turn's end and the podium at the game's.

A game that was running when the link dropped and does not come back with the room (the server
restarted) ends here with a line saying so. The App draws :meth:`GameView.draw` over the board and
reports :meth:`GameView.next_change` so the sleeping loop wakes for the timer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from pgboard.protocol import Say
from pgboard.protocol_game import GameState
from pgboard.widgets import theme

if TYPE_CHECKING:
    from pgboard.app import App

BANNER_H = 44
BAR_H = 5
TIMER_STEP = 0.25  # seconds between two redraws of the timer bar (the loop wakes this often in a game)
CONFIRM_S = 3.0  # after a reconnect, a running game must be back within this, else it ended
PODIUM_S = 12.0  # the podium stays this long after the end
CHOICE_KEYS = {pygame.K_1: 0, pygame.K_2: 1, pygame.K_3: 2}


class GameView:
    def __init__(self) -> None:
        self.state = GameState()
        self.me = ""
        self.deadline = 0.0  # when the phase ends, on the app's clock
        self.shown_at = 0.0
        self.choice_rects: list[pygame.Rect] = []
        self._unconfirmed_since: float | None = None

    @property
    def running(self) -> bool:
        return self.state.phase in ("choosing", "drawing", "reveal")

    @property
    def choosing(self) -> bool:
        return self.state.phase == "choosing" and bool(self.state.choices) and self.state.drawer == self.me

    # -- in

    def received(self, app: App, msg: GameState) -> None:
        now = app.scheduler.now()
        self.state, self.deadline, self.shown_at = msg, now + msg.left, now
        self._unconfirmed_since = None
        self.me = app.room.me if app.room is not None else ""
        users = app.ui.user_list
        if msg.phase in ("", "over") and not msg.scores:
            users.marks.clear()
        else:
            users.marks.clear()
            for score in msg.scores:
                mark = f"{score.points}"
                if score.user == msg.drawer and self.running:
                    mark += " · drawing"
                elif score.user in msg.guessed:
                    mark += " · got it"
                users.marks[score.user] = mark

    def reconnected(self, app: App) -> None:
        """The room is back after an outage: a game must come back with it."""
        if self.running:
            self._unconfirmed_since = app.scheduler.now()

    def tick(self, app: App) -> None:
        since = self._unconfirmed_since
        if since is not None and app.scheduler.now() - since >= CONFIRM_S:
            self._unconfirmed_since = None
            self.state = GameState()
            app.ui.user_list.marks.clear()
            app.ui.add_notice("The game ended: the server restarted, and a game lives in its memory only")

    # -- the user

    def key(self, app: App, key: int) -> bool:
        """1-3 pick a word while I choose (the palette's keys wait meanwhile)."""
        if self.choosing and key in CHOICE_KEYS and CHOICE_KEYS[key] < len(self.state.choices):
            self.choose(app, CHOICE_KEYS[key])
            return True
        return False

    def click(self, app: App, pos: tuple[int, int]) -> bool:
        if not self.choosing:
            return False
        for i, rect in enumerate(self.choice_rects):
            if rect.collidepoint(pos):
                self.choose(app, i)
                return True
        return False

    def choose(self, app: App, index: int) -> None:
        if app.conn is not None:
            app.conn.send(Say(f"/game choose {index + 1}"))

    # -- out

    def text(self) -> str:
        s = self.state
        if s.phase == "choosing":
            return "Choose a word to draw:" if self.choosing else "The drawer is choosing a word..."
        if s.phase == "drawing":
            if s.drawer == self.me:
                return f"Draw: {s.hint}"
            if self.me in s.guessed:
                return f"You guessed it: {s.hint}" if "_" not in s.hint else "You guessed it!"
            letters = sum(ch not in " -" for ch in s.hint)
            return f"Guess: {' '.join(s.hint)}   ({letters} letters)"
        if s.phase == "reveal":
            return f"The word was: {s.hint}"
        if s.phase == "over" and s.scores:
            return "Game over!  " + "   ".join(
                f"{i}. {sc.nick} {sc.points}" for i, sc in enumerate(s.scores[:3], 1)
            )
        return ""

    def visible(self, now: float) -> bool:
        if self.running:
            return True
        return self.state.phase == "over" and now - self.shown_at < PODIUM_S

    def next_change(self, now: float) -> float | None:
        if self._unconfirmed_since is not None:
            return max(0.0, self._unconfirmed_since + CONFIRM_S - now)
        if self.running:
            return TIMER_STEP
        if self.state.phase == "over" and now - self.shown_at < PODIUM_S:
            return self.shown_at + PODIUM_S - now
        return None

    def draw(self, surface: pygame.Surface, app: App) -> None:
        now = app.scheduler.now()
        self.choice_rects = []
        if not self.visible(now):
            return
        fonts, board = app.ui.fonts, app.ui.board_rect
        banner = pygame.Rect(board.x, board.y, board.w, BANNER_H)
        pygame.draw.rect(surface, theme.CARD_BG, banner)
        pygame.draw.line(surface, theme.PANEL_BORDER, banner.bottomleft, banner.bottomright)
        text = self.text()
        x = banner.x + theme.PAD * 2
        fonts.blit(
            surface, text, (x, banner.centery), theme.FONT_UI + 2, theme.TEXT, bold=True, anchor="midleft"
        )
        if self.choosing:
            x += fonts.width(text, theme.FONT_UI + 2) + theme.PAD * 3
            for i, word in enumerate(self.state.choices):
                label = f"{i + 1}  {word}"
                w = fonts.width(label, theme.FONT_UI) + theme.PAD * 3
                rect = pygame.Rect(x, banner.y + 7, w, BANNER_H - 14)
                pygame.draw.rect(surface, theme.ACCENT_SOFT, rect, border_radius=theme.RADIUS)
                pygame.draw.rect(surface, theme.ACCENT, rect, 1, border_radius=theme.RADIUS)
                fonts.blit(
                    surface, label, rect.center, theme.FONT_UI, theme.ACCENT, bold=True, anchor="center"
                )
                self.choice_rects.append(rect)
                x = rect.right + theme.PAD * 2
        s = self.state
        if self.running:
            info = f"Round {s.round} of {s.rounds}"
            fonts.blit(
                surface,
                info,
                (banner.right - theme.PAD * 2, banner.centery),
                theme.FONT_SMALL,
                theme.TEXT_MUTED,
                anchor="midright",
            )
            total = max(self.deadline - self.shown_at, 0.001)
            left = max(0.0, self.deadline - now)
            bar = pygame.Rect(banner.x, banner.bottom - BAR_H, round(banner.w * left / total), BAR_H)
            color = theme.ACCENT if left > 10 or s.phase != "drawing" else (220, 60, 60)
            pygame.draw.rect(surface, color, bar)


def wire(app: App) -> None:
    """A new room: no game until the server says so; its game messages come here."""
    view = app.game
    view.state, view._unconfirmed_since = GameState(), None
    app.ui.user_list.marks.clear()
    assert app.room is not None
    app.room.on_game = lambda msg: view.received(app, msg)
