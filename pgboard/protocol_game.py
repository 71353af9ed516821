"""The wire message of the drawing game (docs/PROTOCOL.md, "The drawing game"): ``game``, the state of
the room's game as one member may see it (only the drawer gets the word and the words to choose from).
Registered with pgboard.protocol's decorator, which imports this module at its end."""

from __future__ import annotations

from dataclasses import dataclass

from pgboard import wire_fields
from pgboard.protocol import MAX_ID, MAX_USERS_LISTED, Message, message

_spec = wire_fields.spec
MAX_WORD = 40  # characters of a game word (server/game.py's MAX_WORD)
GAME_PHASES = ("", "choosing", "drawing", "reveal", "over")  # "": no game (it was stopped)


@dataclass(frozen=True, slots=True)
class Score(wire_fields.WireRecord):
    user: str = wire_fields.spec(wire_fields.text(MAX_ID))
    nick: str = wire_fields.spec(wire_fields.text(200), "")
    points: int = wire_fields.spec(wire_fields.int_in(-(2**31), 2**31), 0)


@message("game")
class GameState(Message):
    """Server -> client, whenever the room's game changes and after a join: ``phase``; ``round`` of
    ``rounds``; ``drawer``'s author id; ``hint`` the word as blanks and revealed letters (the word
    itself in ``reveal`` and ``over``, and to the drawer); ``choices`` the drawer's three words while
    choosing (to the drawer only); ``left`` seconds left in this phase; ``scores`` best first;
    ``guessed`` who has the word this turn."""

    phase: str = _spec(wire_fields.choice(GAME_PHASES), "")
    round: int = _spec(wire_fields.int_in(0, 1000), 0)
    rounds: int = _spec(wire_fields.int_in(0, 1000), 0)
    drawer: str = _spec(wire_fields.text(MAX_ID), "")
    hint: str = _spec(wire_fields.text(MAX_WORD), "")
    choices: tuple[str, ...] = _spec(wire_fields.tuple_of(wire_fields.text(MAX_WORD), 3), ())
    left: int = _spec(wire_fields.int_in(0, 3600), 0)
    scores: tuple[Score, ...] = _spec(wire_fields.tuple_of(Score.from_wire, MAX_USERS_LISTED), ())
    guessed: tuple[str, ...] = _spec(wire_fields.tuple_of(wire_fields.text(MAX_ID), MAX_USERS_LISTED), ())
