"""The drawing game in the window (the server runs it: server/game.py): a banner over the top of the
board with the word (the drawer's), its blanks (everyone else's) or the three words to choose from
(clicks or keys 1-3 while choosing: the palette keys wait), a timer bar that shrinks to the phase's
end, the scores next to the names in People, the word at the turn's end and the podium at the game's.

A game that was running when the link dropped and does not come back with the room (the server
restarted) ends here with a line saying so. The App draws :meth:`GameView.draw` over the board and
reports :meth:`GameView.next_change` so the sleeping loop wakes for the timer.

The banner takes its height off the board while it shows (:func:`board_area`: the viewport starts
under it, so nothing on the board hides under it) and fits the window: in a narrow one the texts
shorten ("Choose:", "1/3") and the word buttons go to a second row before anything would overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pygame

from pgboard.protocol import Say
from pgboard.protocol_game import GameState
from pgboard.widgets import theme

if TYPE_CHECKING:
    from pgboard.app import App

BANNER_H = 44  # one row; a second row of the same height holds the word buttons when a row is too narrow
TITLE_SIZE = theme.FONT_UI + 2
BAR_H = 5
TIMER_STEP = 0.25  # seconds between two redraws of the timer bar (the loop wakes this often in a game)
CONFIRM_S = 3.0  # after a reconnect, a running game must be back within this, else it ended
PODIUM_S = 12.0  # the podium stays this long after the end
CHOICE_KEYS = {pygame.K_1: 0, pygame.K_2: 1, pygame.K_3: 2}


@dataclass
class Banner:
    """What the banner shows in a given width: its texts (as shortened to fit), the word buttons'
    rects and labels, and its height (one row or two)."""

    rect: pygame.Rect
    text: str = ""
    info: str = ""
    buttons: list[tuple[pygame.Rect, str]] = field(default_factory=list)


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
        if self.running:  # the game's banner is at the top of the board, where the replay offer sits
            app.timeline.offer.hide()
        users = app.ui.user_list
        users.marks.clear()
        if msg.phase == "":  # stopped: no scores to show
            return
        for score in msg.scores:  # over: the final points alone, no "drawing" or "got it" left
            mark = f"{score.points}"
            if score.user == msg.drawer and self.running:
                mark += " · drawing"
            elif score.user in msg.guessed and self.running:
                mark += " · got it"
            users.marks[score.user] = mark

    def reconnected(self, app: App) -> None:
        """The room is back after an outage: a game must come back with it."""
        if self.running:
            self._unconfirmed_since = app.scheduler.now()

    def tick(self, app: App) -> None:
        fit_viewport(app)  # the banner's rows are not the board's
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
        """A word button picks it; any other click on the banner is the banner's (not a stroke
        started under it)."""
        if not self.visible(app.scheduler.now()):
            return False
        for i, rect in enumerate(self.choice_rects):
            if self.choosing and rect.collidepoint(pos):
                self.choose(app, i)
                return True
        return bool(self.banner(app).rect.collidepoint(pos))

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

    def short_text(self) -> str:
        """text() for a narrow banner."""
        s = self.state
        if s.phase == "choosing":
            return "Choose:" if self.choosing else "Choosing..."
        if s.phase == "drawing" and s.drawer != self.me and self.me not in s.guessed:
            letters = sum(ch not in " -" for ch in s.hint)
            return f"{' '.join(s.hint)}  ({letters})"
        return self.text()

    def banner(self, app: App) -> Banner:
        """The banner laid out in the board's width (over the board's top)."""
        fonts, board = app.ui.fonts, app.ui.board_rect
        s, inner = self.state, board.w - theme.PAD * 4
        labels = [f"{i + 1}  {word}" for i, word in enumerate(s.choices)] if self.choosing else []
        widths = [fonts.width(label, theme.FONT_UI) + theme.PAD * 3 for label in labels]
        buttons_w = sum(widths) + theme.PAD * 2 * max(0, len(widths) - 1)
        long_info = f"Turn {s.round} of {s.rounds}" if self.running else ""  # a turn: one drawer
        short_info = f"{s.round}/{s.rounds}" if self.running else ""
        variants = [(self.text(), long_info), (self.short_text(), long_info)]
        variants += [(self.short_text(), short_info), (self.short_text(), "")]

        def need(text: str, info: str, with_buttons: bool) -> int:
            w = fonts.width(text, TITLE_SIZE, bold=True)
            w += theme.PAD * 3 + buttons_w if with_buttons and labels else 0
            return w + (fonts.width(info, theme.FONT_SMALL) + theme.PAD * 3 if info else 0)

        one_row = next(((t, i) for t, i in variants if need(t, i, True) <= inner), None)
        rows = 1 if one_row is not None or not labels else 2
        text, info = one_row or next(
            ((t, i) for t, i in variants if need(t, i, False) <= inner), variants[-1]
        )
        out = Banner(pygame.Rect(board.x, board.y, board.w, BANNER_H * rows), text, info)
        x = (
            board.x
            + theme.PAD * 2
            + (fonts.width(text, TITLE_SIZE, bold=True) + theme.PAD * 3 if rows == 1 else 0)
        )
        y = board.y + (BANNER_H if rows == 2 else 0) + 7
        fit = max(1, (inner - theme.PAD * 2 * max(0, len(widths) - 1)) // max(1, len(widths)))
        for label, w in zip(labels, widths, strict=True):
            w = w if rows == 1 or buttons_w <= inner else fit  # a long word is cut in its button
            out.buttons.append((pygame.Rect(x, y, w, BANNER_H - 14), label))
            x += w + theme.PAD * 2
        return out

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
        fonts, b = app.ui.fonts, self.banner(app)
        banner = b.rect
        pygame.draw.rect(surface, theme.CARD_BG, banner)
        pygame.draw.line(surface, theme.PANEL_BORDER, banner.bottomleft, banner.bottomright)
        row = pygame.Rect(banner.x, banner.y, banner.w, BANNER_H)
        x = banner.x + theme.PAD * 2
        right = banner.right - theme.PAD * 2
        info_w = fonts.width(b.info, theme.FONT_SMALL) + theme.PAD * 3 if b.info else 0
        text_w = (
            b.buttons[0][0].x - theme.PAD * 3
            if b.buttons and b.buttons[0][0].y < row.bottom
            else right - info_w
        ) - x
        fonts.blit(
            surface,
            b.text,
            (x, row.centery),
            TITLE_SIZE,
            theme.TEXT,
            bold=True,
            anchor="midleft",
            max_width=text_w,
        )
        for rect, label in b.buttons:
            pygame.draw.rect(surface, theme.ACCENT_SOFT, rect, border_radius=theme.RADIUS)
            pygame.draw.rect(surface, theme.ACCENT, rect, 1, border_radius=theme.RADIUS)
            fonts.blit(
                surface,
                label,
                rect.center,
                theme.FONT_UI,
                theme.ACCENT,
                bold=True,
                anchor="center",
                max_width=rect.w - theme.PAD,
            )
            self.choice_rects.append(rect)
        s = self.state
        if b.info:
            fonts.blit(
                surface, b.info, (right, row.centery), theme.FONT_SMALL, theme.TEXT_MUTED, anchor="midright"
            )
        if self.running:
            total = max(self.deadline - self.shown_at, 0.001)
            left = max(0.0, self.deadline - now)
            bar = pygame.Rect(banner.x, banner.bottom - BAR_H, round(banner.w * left / total), BAR_H)
            color = theme.ACCENT if left > 10 or s.phase != "drawing" else (220, 60, 60)
            pygame.draw.rect(surface, color, bar)


def board_area(app: App) -> pygame.Rect:
    """Where the board is drawn: the UI's board rect less the game's banner while it shows."""
    board = app.ui.board_rect
    if not app.game.visible(app.scheduler.now()) or app.ui.connect_visible:
        return pygame.Rect(board)
    top = app.game.banner(app).rect.h
    return pygame.Rect(board.x, board.y + top, board.w, max(1, board.h - top))


def fit_viewport(app: App) -> None:
    """Once a frame: the viewport covers :func:`board_area` (a banner that comes or goes, a resize, the
    panels toggled), keeping its zoom and the board point at its centre."""
    area = board_area(app)
    if app.viewport.rect != area:
        app.viewport.resize(area)


def wire(app: App) -> None:
    """A new room: no game until the server says so; its game messages come here."""
    view = app.game
    view.state, view._unconfirmed_since = GameState(), None
    app.ui.user_list.marks.clear()
    assert app.room is not None
    app.room.on_game = lambda msg: view.received(app, msg)
