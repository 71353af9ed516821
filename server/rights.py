"""Who may do what in one room: operators, edit grants, bans, the lock, and who was here as whom.

As in the original whiteboard, a member edits (moves, erases, clears) only their own objects unless
their author ``/allow``-ed them; an operator edits everything. The room's first member (of a room that
never existed) is its operator. Everything is kept in the store, written before memory changes, so a
restart brings the same rights back. Called under the room's lock; the store has its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgboard import names
from pgboard.protocol import MAX_USERS_LISTED, BoardObject, RoomState

if TYPE_CHECKING:
    from pgboard_server.store import Store


def address_of(peer: str) -> str:
    """The address part of a session's ``host:port`` peer."""
    return peer.rpartition(":")[0] or peer


class RoomRights:
    """One room's rights, loaded from the store; every change is stored first (sqlite3.Error raises
    and nothing changes in memory)."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.key = names.fold(name)
        rows = store.load_rights(self.key, name)
        self.exists = rows.exists
        self.creator = rows.creator
        self.locked = rows.locked
        self.operators = rows.operators
        self.watch_only = rows.watch_only  # a member seen for the first time watches only
        self.watchers = rows.watchers  # author ids who may not draw (operators never are)
        self.grants: dict[str, set[str]] = {}  # owner -> authors who may edit the owner's objects
        self._granted_to: dict[str, set[str]] = {}  # grantee -> owners who allowed them (the reverse)
        for owner, grantee in rows.grants:
            self.grants.setdefault(owner, set()).add(grantee)
            self._granted_to.setdefault(grantee, set()).add(owner)
        self.bans = rows.bans  # author id -> (nick, address or "")
        self.known: dict[str, tuple[str, str]] = {}  # author id -> (last nick, last address)
        self._by_nick: dict[str, str] = {}  # folded nick -> the author id who used it last
        for user, nick, address in rows.members:
            self._learn(user, nick, address)

    # -- reading

    def is_operator(self, user: str) -> bool:
        return user in self.operators

    def may_edit(self, user: str, obj: BoardObject) -> bool:
        """The board's edit policy: your own objects, those of authors who allowed you, or any as an
        operator."""
        return obj.author == user or user in self.operators or user in self.grants.get(obj.author, ())

    def editable_authors(self, user: str) -> frozenset[str] | None:
        """Whose objects ``may_edit`` lets ``user`` edit: None for an operator (everyone's), else
        their own and those of the authors who allowed them. The board's clear reads its index of
        objects by author with it, so a guest's clear never looks at anybody else's objects."""
        if user in self.operators:
            return None
        return frozenset((user, *self._granted_to.get(user, ())))

    def may_draw(self, user: str) -> bool:
        return user in self.operators or (not self.locked and user not in self.watchers)

    def watching(self, user: str) -> bool:
        """``user`` watches only (/readonly, or joined while new joiners watch only)."""
        return user in self.watchers and user not in self.operators

    def banned(self, user: str, address: str) -> bool:
        if user in self.operators:
            return False
        return user in self.bans or any(a == address for _, a in self.bans.values() if a)

    def author_of(self, nick: str) -> str:
        """The author id last seen in this room under ``nick`` ("" if nobody was)."""
        return self._by_nick.get(names.fold(nick.strip()), "")

    def nick_of(self, user: str) -> str:
        return self.known.get(user, (user, ""))[0]

    def state_for(self, user: str) -> RoomState:
        """What ``user`` may do, as the client is told (lists capped at MAX_USERS_LISTED)."""
        granted_me = sorted(owner for owner, grantees in self.grants.items() if user in grantees)
        return RoomState(
            operators=tuple(sorted(self.operators)[:MAX_USERS_LISTED]),
            locked=self.locked,
            may_edit=tuple(granted_me[:MAX_USERS_LISTED]),
            allowed=tuple(sorted(self.grants.get(user, ()))[:MAX_USERS_LISTED]),
            watching=self.watching(user),
            watch_only=self.watch_only,
        )

    # -- changing (stored first)

    def arrive(self, user: str, nick: str, address: str) -> bool:
        """A member joined: remember under which nick; the first member of a room that never existed
        becomes its creator and operator (returns True then)."""
        created = False
        if not self.exists:
            self.store.create_room(self.key, user)
            self.exists, self.creator, created = True, user, True
            self.operators.add(user)
        elif self.watch_only and user not in self.known and user not in self.operators:
            self.set_watcher(user, True)  # new here while the room's option is on: watch only
        self.rename(user, nick, address)
        return created

    def rename(self, user: str, nick: str, address: str | None = None) -> None:
        if address is None:
            address = self.known.get(user, ("", ""))[1]
        if self.known.get(user) == (nick, address):
            return
        self.store.remember_member(self.key, user, nick, names.fold(nick), address)
        self._learn(user, nick, address)

    def _learn(self, user: str, nick: str, address: str) -> None:
        self.known[user] = (nick, address)
        self._by_nick[names.fold(nick)] = user

    def set_operator(self, user: str, on: bool) -> None:
        self.store.set_operator(self.key, user, on)
        if on:
            self.operators.add(user)
        else:
            self.operators.discard(user)

    def set_grant(self, owner: str, grantee: str, on: bool) -> None:
        self.store.set_grant(self.key, owner, grantee, on)
        grantees = self.grants.setdefault(owner, set())
        owners = self._granted_to.setdefault(grantee, set())
        if on:
            grantees.add(grantee)
            owners.add(owner)
        else:
            grantees.discard(grantee)
            owners.discard(owner)
            if not grantees:
                del self.grants[owner]
            if not owners:
                del self._granted_to[grantee]

    def grants_of(self, owner: str) -> int:
        return len(self.grants.get(owner, ()))

    def ban(self, user: str, nick: str, address: str) -> None:
        """Ban ``user`` (by account), and everyone from ``address`` unless it is ""."""
        self.store.set_ban(self.key, user, nick, address)
        self.bans[user] = (nick, address)

    def unban(self, user: str) -> None:
        self.store.set_ban(self.key, user, "", None)
        self.bans.pop(user, None)

    def set_watcher(self, user: str, on: bool) -> None:
        self.store.set_watcher(self.key, user, on)
        if on:
            self.watchers.add(user)
        else:
            self.watchers.discard(user)

    def set_watch_only(self, on: bool) -> None:
        self.store.set_watch_only(self.key, on)
        self.watch_only = on

    def set_locked(self, locked: bool) -> None:
        self.store.set_locked(self.key, locked)
        self.locked = locked
