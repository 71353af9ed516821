"""Grouping join and leave notices: many people joining or leaving close together make one line
("user01, user02 and 9 others left") instead of one line each flooding the chat.

A pure state machine on the caller's clock: ``PresenceGroups.add`` says whether the notice extends the
newest group (the chat panel then rewrites that line, while it is still the newest line) or starts a new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Notices of the same kind (joined, or left: the reason shown when they share it) within this many
# seconds of the previous one are merged into its line: a class joining at 9:00 or a server restart's
# timeouts make one line; people coming and going through a day still get one line each.
PRESENCE_WINDOW_S = 10.0
NAMES_SHOWN = 2  # names spelled out in a group of four or more ("a, b and 9 others left")


@dataclass
class PresenceGroup:
    verb: str  # "joined" or "left"
    reason: str
    last: float  # when its newest notice came
    nicks: list[str] = field(default_factory=list)  # the first NAMES_SHOWN + 1 only (bounded)
    count: int = 1

    def add(self, nick: str, reason: str, now: float) -> None:
        if reason != self.reason:  # mixed reasons ("quit", "connection lost"): none is shown
            self.reason = ""
        if len(self.nicks) <= NAMES_SHOWN:
            self.nicks.append(nick)
        self.count += 1
        self.last = now

    def text(self) -> str:
        n, names = self.count, self.nicks
        if n == 1:
            who = names[0]
        elif n <= NAMES_SHOWN + 1:
            who = ", ".join(names[:-1]) + " and " + names[-1]
        else:
            who = f"{', '.join(names[:NAMES_SHOWN])} and {n - NAMES_SHOWN:,} others"
        said = self.reason and self.reason != self.verb  # "left (left)" says nothing more
        return f"{who} {self.verb}" + (f" ({self.reason})" if said else "")


class PresenceGroups:
    def __init__(self) -> None:
        self.newest: PresenceGroup | None = None

    def add(self, nick: str, verb: str, reason: str, now: float, *, still_newest: bool) -> bool:
        """Record ``nick``'s notice; True when it joined the newest group (its line is to be rewritten
        with ``self.newest.text()``), False when it starts a group of its own (a new line).
        ``still_newest``: the newest group's line is still the chat's last line."""
        g = self.newest
        if (
            g is not None
            and still_newest
            and g.verb == verb
            and 0 <= now - g.last <= PRESENCE_WINDOW_S
        ):
            g.add(nick, reason, now)
            return True
        self.newest = PresenceGroup(verb, reason, now, [nick])
        return False
