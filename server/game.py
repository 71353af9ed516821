"""The drawing game (``/game start``), as a pure state machine on an injected clock: no socket, no lock,
no room. server/game_room.py wires it to a room (commands, guesses, the heartbeat's tick, who may
draw) and sends what it says.

A game is ``rounds`` turns; in each, the next player in join order draws. The drawer is offered three
words (CHOOSE_SECONDS to pick one, else the first is taken), then draws for ``seconds`` while the others
guess in chat: a guess is folded (case, accents, spaces and hyphens) and compared with the word; one
edit away is "close" (told to the guesser only). A right guess scores by the time left, and gives the
drawer DRAWER_POINTS; the turn ends when every guesser has it or the time is up, the word is shown for
REVEAL_SECONDS, and the next turn begins. Letters of the word are revealed to the guessers over the
turn (at most a third of them). A drawer who leaves ends the turn with no points for it.
"""

from __future__ import annotations

import enum
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

CHOOSE_SECONDS = 15.0  # the drawer's time to pick one of the three words
REVEAL_SECONDS = 5.0  # the word and the turn's points are shown this long before the next turn
CHOICES = 3
MIN_PLAYERS = 2
MAX_ROUNDS, DEFAULT_ROUNDS = 20, 3
MIN_SECONDS, MAX_SECONDS, DEFAULT_SECONDS = 20, 300, 80
GUESS_POINTS = 100  # a right guess at the last moment; up to 3x that at once
DRAWER_POINTS = 50  # for each player who guessed the drawer's word
MAX_WORD = 40  # characters of a word (a custom list's too)
MAX_AWAY_KEPT = 64  # players away with no points whose place is kept (the longest gone go first past it)
MAX_CUSTOM_WORDS = 200  # words in an operator's list (/game words; one chat line holds them)


class Phase(enum.StrEnum):
    CHOOSING = "choosing"  # the drawer picks a word
    DRAWING = "drawing"
    REVEAL = "reveal"  # the turn is over: the word is shown
    OVER = "over"


class Guess(enum.StrEnum):
    RIGHT = "right"
    CLOSE = "close"
    WRONG = "wrong"
    NOT_A_GUESS = "not_a_guess"  # the drawer, someone who has it already, or no turn running


def fold(text: str) -> str:
    """What a guess and a word are compared as: no case, accents, spaces, hyphens or apostrophes."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) and ch not in " -'’\t" and ch.isprintable()
    )


def one_edit_apart(a: str, b: str) -> bool:
    """One letter added, removed or changed (a typo, a plural)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def hint_of(word: str, shown: frozenset[int]) -> str:
    """The word as a guesser sees it: letters as ``_`` unless revealed, spaces and hyphens kept."""
    return "".join(ch if ch in " -" or i in shown else "_" for i, ch in enumerate(word))


@dataclass
class Turn:
    drawer: str
    choices: tuple[str, ...]
    word: str = ""
    started: float = 0.0  # when the drawing began
    deadline: float = 0.0  # when the current phase ends
    shown: frozenset[int] = frozenset()  # revealed letter positions
    guessed: dict[str, int] = field(default_factory=dict)  # guesser -> points, in order
    drawer_points: int = 0
    told: bool = False  # the room was told the word (game_room)
    cleared: bool = False  # the board was cleared for this turn (game_room)


@dataclass
class Game:
    """One room's game. ``players``: author id -> nick, in turn order (late joiners at the end)."""

    words: Sequence[str]
    players: dict[str, str]
    rounds: int = DEFAULT_ROUNDS
    seconds: int = DEFAULT_SECONDS
    rng: random.Random = field(default_factory=random.Random)
    scores: dict[str, int] = field(default_factory=dict)
    away: dict[str, None] = field(default_factory=dict)  # who left, in that order: skipped, place kept
    phase: Phase = Phase.CHOOSING
    round: int = 0  # 1-based once started
    turn: Turn | None = None
    _next: int = 0  # index in players of the next drawer

    def start(self, now: float) -> None:
        for user in self.players:
            self.scores.setdefault(user, 0)
        self._next_turn(now)

    # -- what the room asks

    @property
    def drawer(self) -> str:
        return self.turn.drawer if self.turn is not None and self.phase is not Phase.OVER else ""

    def may_draw(self, user: str) -> bool:
        """Only the drawer draws, and only while drawing (the reveal and the choice are pauses)."""
        return self.phase is Phase.DRAWING and user == self.drawer

    def hint(self) -> str:
        turn = self.turn
        if turn is None or not turn.word:
            return ""
        return turn.word if self.phase in (Phase.REVEAL, Phase.OVER) else hint_of(turn.word, turn.shown)

    # -- what the players do

    def choose(self, user: str, index: int, now: float) -> bool:
        turn = self.turn
        if self.phase is not Phase.CHOOSING or turn is None or user != turn.drawer:
            return False
        if not 0 <= index < len(turn.choices):
            return False
        self._draw(turn.choices[index], now)
        return True

    def guess(self, user: str, text: str, now: float) -> Guess:
        turn = self.turn
        if self.phase is not Phase.DRAWING or turn is None or user == turn.drawer or user in turn.guessed:
            return Guess.NOT_A_GUESS
        if user not in self.players or user in self.away:
            return Guess.NOT_A_GUESS
        said, word = fold(text), fold(turn.word)
        if said == word:
            left = max(0.0, turn.deadline - now) / self.seconds
            points = round(GUESS_POINTS * (1 + 2 * left))
            turn.guessed[user] = points
            self.scores[user] = self.scores.get(user, 0) + points
            turn.drawer_points += DRAWER_POINTS
            self.scores[turn.drawer] = self.scores.get(turn.drawer, 0) + DRAWER_POINTS
            if all(u in turn.guessed for u in self.present if u != turn.drawer):
                self._reveal(now)
            return Guess.RIGHT
        return Guess.CLOSE if one_edit_apart(said, word) else Guess.WRONG

    @property
    def present(self) -> list[str]:
        """The players here now, in turn order."""
        return [u for u in self.players if u not in self.away]

    def join(self, user: str, nick: str) -> None:
        """A late joiner plays from the next turn on (drawing when their turn comes); one who comes
        back (a reconnect) has their place and points again."""
        self.away.pop(user, None)
        if user not in self.players:
            self.players[user] = nick
            self.scores.setdefault(user, 0)

    def leave(self, user: str, now: float) -> None:
        """A player left: out of the turns, their place and points kept for a comeback (a reconnect);
        a drawer's turn ends at once, with no points for it. Past MAX_AWAY_KEPT players away with no
        points, those gone longest are forgotten (back later, they join at the end): joining and
        leaving again and again cannot grow the players, nor the scoreboard every member is sent."""
        if user not in self.players or user in self.away or self.phase is Phase.OVER:
            return
        self.away[user] = None
        turn = self.turn
        self._forget_scoreless(turn.drawer if turn is not None else "")
        if turn is not None and turn.drawer == user and self.phase in (Phase.CHOOSING, Phase.DRAWING):
            for guesser, points in turn.guessed.items():
                self.scores[guesser] -= points  # a turn that did not happen counts for nobody
            self.scores[user] = self.scores.get(user, 0) - turn.drawer_points
            turn.guessed.clear()
            turn.drawer_points = 0
            if not turn.word:
                turn.word = turn.choices[0]
            self._reveal(now)
        elif len(self.present) < MIN_PLAYERS:
            self.stop()
        elif turn is not None and self.phase is Phase.DRAWING:
            if all(u in turn.guessed for u in self.present if u != turn.drawer):
                self._reveal(now)

    def stop(self) -> None:
        self.phase = Phase.OVER

    def _forget_scoreless(self, drawer: str) -> None:
        scoreless = [u for u in self.away if not self.scores.get(u) and u != drawer]  # earliest gone first
        for user in scoreless[: max(0, len(scoreless) - MAX_AWAY_KEPT)]:
            index = list(self.players).index(user)
            del self.players[user]
            self.scores.pop(user, None)
            del self.away[user]
            if index < self._next:
                self._next -= 1  # the next drawer stays the next one

    def skip(self, now: float) -> None:
        """An operator's /game skip: the turn ends now (its points stay)."""
        turn = self.turn
        if turn is not None and self.phase in (Phase.CHOOSING, Phase.DRAWING):
            if not turn.word:
                turn.word = turn.choices[0]
            self._reveal(now)

    # -- time

    def tick(self, now: float) -> bool:
        """Move on as time says (a choice taken for a slow drawer, letters revealed, the turn's end,
        the next turn). True when something changed that players must be told."""
        turn = self.turn
        if turn is None or self.phase is Phase.OVER:
            return False
        if self.phase is Phase.CHOOSING and now >= turn.deadline:
            self._draw(turn.choices[0], now)
            return True
        if self.phase is Phase.DRAWING:
            if now >= turn.deadline:
                self._reveal(now)
                return True
            return self._reveal_letters(now)
        if self.phase is Phase.REVEAL and now >= turn.deadline:
            self._next_turn(now)
            return True
        return False

    def next_tick(self, now: float) -> float | None:
        turn = self.turn
        if turn is None or self.phase is Phase.OVER:
            return None
        return max(0.0, turn.deadline - now)

    # -- the steps

    def _next_turn(self, now: float) -> None:
        if self.round >= self.rounds or len(self.present) < MIN_PLAYERS:
            self.phase = Phase.OVER
            return
        order = list(self.players)
        for _ in order:  # the next one here, in join order (one away is skipped, keeping their place)
            self._next %= len(order)
            drawer = order[self._next]
            self._next += 1
            if drawer not in self.away:
                break
        self.round += 1
        choices = tuple(self.rng.sample(list(self.words), min(CHOICES, len(self.words))))
        self.turn = Turn(drawer, choices, deadline=now + CHOOSE_SECONDS)
        self.phase = Phase.CHOOSING

    def _draw(self, word: str, now: float) -> None:
        turn = self.turn
        assert turn is not None
        turn.word, turn.started, turn.deadline = word, now, now + self.seconds
        self.phase = Phase.DRAWING

    def _reveal(self, now: float) -> None:
        turn = self.turn
        assert turn is not None
        turn.deadline = now + REVEAL_SECONDS
        self.phase = Phase.REVEAL

    def _reveal_letters(self, now: float) -> bool:
        """A third of the letters at most, evenly over the turn (one at a half, more later)."""
        turn = self.turn
        assert turn is not None
        letters = [i for i, ch in enumerate(turn.word) if ch not in " -"]
        most = len(letters) // 3
        if not most:
            return False
        elapsed = (now - turn.started) / self.seconds
        due = int(most * max(0.0, elapsed - 0.4) / 0.6 + 1e-9) if elapsed >= 0.5 else 0
        due = min(due if elapsed < 0.5 else max(due, 1), most)
        if due <= len(turn.shown):
            return False
        hidden = [i for i in letters if i not in turn.shown]
        turn.shown = turn.shown | frozenset(self.rng.sample(hidden, due - len(turn.shown)))
        return True


def standings(scores: dict[str, int], nick_of: Callable[[str], str]) -> list[tuple[str, str, int]]:
    """(author id, nick, points), best first (then by nick)."""
    return sorted(((u, nick_of(u), p) for u, p in scores.items()), key=lambda r: (-r[2], r[1]))
