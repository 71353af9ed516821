"""Terms of bans and kicks: how long a ban lasts, and what keeps a banned or kicked guest out when it
comes back with a fresh client secret (a new author id).

- ``/ban NICK 15m`` (units s, m, h, d; at most ``max_ban`` seconds) ends by itself; ``/ban NICK``
  lasts until ``/unban``. The end is stored (a restart keeps it) and checked at each join: an expired
  ban is lifted then.
- A guest (no account) is only an author id its client made up, so a ban or kick of a guest also
  **holds its address** against *new* guests: a join from that address by a guest author id that
  never was in the room is refused while the hold lasts (the ban's time, at most
  ``ban_address_hold``; a kick's ``kick_hold``). Members who were in the room before (the 29 other
  students behind the school's NAT) and logged-in accounts are not held: the trade-off is that a
  *new* guest from that address waits, logs in, or is let in by ``/unban``. ``/ban NICK ip`` still bans
  the whole address, everyone, as before.
- ``/kick`` keeps the kicked author id out for ``kick_hold`` seconds (``join_error kicked`` with
  ``retry``): a kick is a pause, not a ban. One process keeps kicks in memory only (they are short);
  a cluster keeps them with the room (its rights hash in Redis), so they hold where the room moves.

The terms are the store's ``ban_terms`` rows (server/store_accounts.py; in a cluster, the room's rights
hash in Redis too), beside its ``bans`` (server/rights.py keeps who is banned).
"""

from __future__ import annotations

import math
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgboard_server import lockorder

from pgboard.protocol import MAX_RETRY, JoinError

if TYPE_CHECKING:
    from pgboard_server.limits import Limits
    from pgboard_server.room import Room
    from pgboard_server.store import Store

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d{1,9})([smhd])$")


class BadDuration(ValueError):
    pass


def parse_duration(word: str, maximum: float) -> int:
    """Seconds of ``15m``-like ``word``; BadDuration when malformed, zero or over ``maximum``."""
    found = _DURATION.match(word.strip().lower())
    if found is None:
        raise BadDuration(f"{word[:20]!r} is not a duration: a number and s, m, h or d (15m, 2h, 7d)")
    seconds = int(found.group(1)) * UNITS[found.group(2)]
    if seconds <= 0:
        raise BadDuration("a ban lasts at least one second")
    if seconds > maximum:
        longest = describe(maximum)
        raise BadDuration(f"a timed ban lasts at most {longest}; /ban NICK alone lasts until /unban")
    return seconds


def describe(seconds: float) -> str:
    """``90`` -> "2 min"; whole units, rounded up, for notices."""
    seconds = max(1, math.ceil(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{math.ceil(seconds / size)} {unit}"
    return f"{seconds} s"


@dataclass(frozen=True)
class Term:
    until: float  # 0: no end
    hold: str
    hold_until: float


class Bans:
    """The terms of every room's bans (stored) and kicks (in memory), on the server's wall clock."""

    def __init__(self, store: Store, limits: Limits, wall_clock: Callable[[], float]) -> None:
        self.store = store
        self.max_ban = limits.max_ban
        self.address_hold = limits.ban_address_hold
        self.kick_hold = limits.kick_hold
        self.now = wall_clock
        self._lock = lockorder.leaf("bans")
        self._kicks: dict[tuple[str, str], tuple[float, str]] = {}  # (room, user) -> (until, guest address)
        self._terms: dict[str, dict[str, Term]] = {}  # room key -> user -> term (loaded on first use)

    # -- the store

    def _room_terms(self, key: str) -> dict[str, Term]:
        with self._lock:
            terms = self._terms.get(key)
            if terms is not None:
                return terms
        try:
            rows = self.store.ban_terms(key)
        except sqlite3.Error as exc:
            self.store.health.failed(f"the ban terms of room {key!r}", exc)
            rows = {}
        terms = {user: Term(*row) for user, row in rows.items()}
        with self._lock:
            return self._terms.setdefault(key, terms)

    def _store_term(self, key: str, user: str, term: Term | None) -> None:
        self.store.set_ban_term(key, user, None if term is None else (term.until, term.hold, term.hold_until))
        terms = self._room_terms(key)
        with self._lock:
            if term is None:
                terms.pop(user, None)
            else:
                terms[user] = term

    def reload(self, key: str) -> None:
        """Cluster mode: room ``key`` was taken from another process (its store rows rebuilt from
        Redis): read its terms and kick holds again, not from what this process knew before."""
        try:
            kicks = self.store.kick_holds(key)
        except sqlite3.Error as exc:
            self.store.health.failed(f"the kick holds of room {key!r}", exc)
            kicks = {}
        with self._lock:
            self._terms.pop(key, None)
            for k in [k for k in self._kicks if k[0] == key]:
                del self._kicks[k]
            for user, hold in kicks.items():
                self._kicks[(key, user)] = hold

    # -- changes (under the room's lock; sqlite3.Error raises before memory changes)

    def banned(self, room: Room, user: str, seconds: int | None, guest_address: str) -> Term:
        """Record the term of a ban just made: ``seconds`` None is until /unban; a guest's address is
        held against new guests for the ban's time, at most ``ban_address_hold``."""
        now = self.now()
        until = now + seconds if seconds else 0.0
        hold_for = min(seconds or self.address_hold, self.address_hold)
        term = Term(until, guest_address, now + hold_for if guest_address else 0.0)
        self._store_term(room.rights.key, user, term)
        return term

    def lifted(self, room: Room, user: str) -> None:
        self._store_term(room.rights.key, user, None)
        with self._lock:
            self._kicks.pop((room.rights.key, user), None)

    def kicked(self, room: Room, user: str, guest_address: str) -> None:
        until = self.now() + self.kick_hold
        try:  # kept where the room goes (cluster mode); the kick holds here whatever becomes of it
            self.store.set_kick_hold(room.rights.key, user, until, guest_address)
        except sqlite3.Error as exc:
            self.store.health.failed(f"the kick hold of room {room.rights.key!r}", exc)
        with self._lock:
            self._kicks[(room.rights.key, user)] = (until, guest_address)
            if len(self._kicks) > 4096:  # forget the expired ones now and then
                now = self.now()
                for k in [k for k, (t, _) in self._kicks.items() if t <= now]:
                    del self._kicks[k]

    # -- reading

    def left(self, room: Room, user: str) -> float | None:
        """Seconds left of ``user``'s ban (None: no end; 0.0: not banned or over)."""
        term = self._room_terms(room.rights.key).get(user)
        if user not in room.rights.bans:
            return 0.0
        if term is None or not term.until:
            return None
        return max(0.0, term.until - self.now())

    def refusal(self, room: Room, user: str, address: str, guest: bool) -> JoinError | None:
        """Under the room's lock, at a join: why ``user`` from ``address`` may not come in, if a
        term says so. An expired ban is lifted here (stored first)."""
        key, now = room.rights.key, self.now()
        terms = self._room_terms(key)
        term = terms.get(user)
        if term is not None and term.until and term.until <= now and user in room.rights.bans:
            kept = Term(0.0, term.hold, term.hold_until) if term.hold_until > now else None  # hold stays
            try:
                room.rights.unban(user)
                self._store_term(key, user, kept)
            except sqlite3.Error as exc:  # not lifted in memory either: the ban holds until it can be
                self.store.health.failed(f"lifting an ended ban in room {key!r}", exc)
        with self._lock:
            kick = self._kicks.get((key, user))
            if kick is not None and kick[0] <= now:
                del self._kicks[(key, user)]
                kick = None
            holds = [(t, a) for (r, _), (t, a) in self._kicks.items() if r == key and a and t > now]
        if kick is not None:
            wait = math.ceil(kick[0] - now)
            detail = f"you were kicked: you may come back in {describe(wait)}"
            return JoinError("kicked", detail, retry=min(wait, MAX_RETRY))
        if not guest or user in room.rights.known:
            return None
        holds += [(t.hold_until, t.hold) for t in terms.values() if t.hold and t.hold_until > now]
        ends = [t for t, a in holds if a == address]
        if not ends:
            return None
        wait = math.ceil(max(ends) - now)
        detail = (
            "an operator sent a guest from your address away: new guests from it may join again in "
            f"{describe(wait)} (log in, or ask an operator to /unban)"
        )
        return JoinError("banned", detail, retry=min(wait, MAX_RETRY))
