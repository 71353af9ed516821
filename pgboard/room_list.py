"""The list of open rooms a `rooms` request answers (docs/PROTOCOL.md, "Listing rooms"): its record on
the wire, its bound, and the lines the client shows for it (chat's /rooms, the connect screen)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pgboard import wire_fields

MAX_ROOMS_LISTED = 100  # rooms in one `rooms` answer at most (the busiest first): a server holds up to
# 1,000, and a list longer than a screen helps nobody; `more` says how many were left out
_NAME = 200  # protocol.MAX_NAME_FIELD (not imported: protocol imports this module)


@dataclass(frozen=True, slots=True)
class RoomInfo(wire_fields.WireRecord):
    """One open room: its name, how many are in it, whether joining it takes a password."""

    name: str = wire_fields.spec(wire_fields.text(_NAME))
    users: int = wire_fields.spec(wire_fields.int_in(0, 1_000_000), 0)
    password: bool = wire_fields.spec(wire_fields.boolean, False)


def describe(rooms: Sequence[RoomInfo], more: int = 0) -> list[str]:
    """The answer as lines for people: one a room, then how many were left out."""
    if not rooms:
        return ["No open rooms listed; /join ROOM opens one"]
    lines = [f"Open rooms on this server ({len(rooms) + more}), /join ROOM to go there:"]
    lines += [
        f"{r.name}: {r.users} {'person' if r.users == 1 else 'people'}"
        + (" (password)" if r.password else "")
        for r in rooms
    ]
    if more:
        lines.append(f"and {more} more rooms not listed")
    return lines
