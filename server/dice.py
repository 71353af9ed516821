"""Fair chance: ``/roll [NdM]`` and ``/flip``, decided by the server and shown to the whole room.

The client only asks; the server draws the numbers (``secrets``, the operating system's generator) and
tells every member in a notice that names who rolled, so nobody can claim a roll they did not get
(Drawpile's /roll runs in the client and can be faked). A notice is the server's own line: a member's
``/me rolled 6`` shows as an action, never as a notice.

``/roll`` alone is 1d6; ``/roll d20`` is 1d20; at most ``roll_max_dice`` dice of at most
``roll_max_sides`` sides (server/limits.py), so the work and the line are bounded whatever is typed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgboard.protocol import Error, Notice

if TYPE_CHECKING:
    from pgboard_server.chat import ChatCommands
    from pgboard_server.room import Room
    from pgboard_server.session import Session

DEFAULT_DICE, DEFAULT_SIDES = 1, 6
_SPEC = re.compile(r"(\d{1,9})?d(\d{1,9})\Z", re.IGNORECASE)  # digits bounded before int() reads them
USAGE = "/roll [NdM] (1d6 by default; /roll 2d6, /roll d20)"

Handler = Callable[["ChatCommands", "Session", "Room", str], None]

HELP = (
    ("/roll [NdM]", "the server rolls N dice of M sides (1d6) and shows the room who rolled what"),
    ("/flip", "the server flips a coin and shows the room"),
)


class BadRoll(ValueError):
    pass


def parse(spec: str, max_dice: int, max_sides: int) -> tuple[int, int]:
    """(N, M) of ``NdM`` (empty: 1d6); BadRoll with a sentence saying what is allowed."""
    spec = spec.strip()
    if not spec:
        return DEFAULT_DICE, DEFAULT_SIDES
    found = _SPEC.match(spec)
    if found is None:
        raise BadRoll(f"{spec[:20]!r} is not dice: write NdM, N dice of M sides (usage: {USAGE})")
    dice = int(found.group(1) or DEFAULT_DICE)
    sides = int(found.group(2))
    if not 1 <= dice <= max_dice:
        raise BadRoll(f"roll 1 to {max_dice} dice at once, not {dice} (usage: {USAGE})")
    if not 2 <= sides <= max_sides:
        raise BadRoll(f"a die has 2 to {max_sides} sides, not {sides} (usage: {USAGE})")
    return dice, sides


def roll(dice: int, sides: int, randbelow: Callable[[int], int] = secrets.randbelow) -> list[int]:
    return [randbelow(sides) + 1 for _ in range(dice)]


def roll_text(nick: str, dice: int, sides: int, results: list[int]) -> str:
    """ "alice rolled 2d6: 3 + 5 = 8" (one die: "alice rolled 1d20: 17")."""
    if len(results) == 1:
        return f"{nick} rolled {dice}d{sides}: {results[0]}"
    return f"{nick} rolled {dice}d{sides}: {' + '.join(map(str, results))} = {sum(results)}"


def roll_command(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    limits = session.limits
    try:
        dice, sides = parse(rest, limits.roll_max_dice, limits.roll_max_sides)
    except BadRoll as exc:
        session.send(Error("bad_command", str(exc)))
        return
    text = roll_text(session.nick, dice, sides, roll(dice, sides))
    with room.lock:
        if session.room is room:
            room.broadcast(Notice(text))


def flip_command(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    side = "heads" if secrets.randbelow(2) else "tails"
    with room.lock:
        if session.room is room:
            room.broadcast(Notice(f"{session.nick} flipped a coin: {side}"))


COMMANDS: dict[str, Handler] = {"roll": roll_command, "flip": flip_command}
