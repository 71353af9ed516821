"""Room passwords: a room created with a password keeps it (hashed, in the store) and every join must
give it; wrong passwords are limited per (room, address) and per address, like logins (server/accounts.py).

The join that creates a room (server/rights.py: a room is created once, by its first member, and
remembered in the store) sets its password when ``password`` is not empty. A room without a password
ignores the field. An operator sets or removes it with ``/password [NEW]``. Hashing and checking
happen on the joiner's reader thread before the room's lock is taken: a slow hash never holds up the
room.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgboard_server.pacing import AddressPacer
from pgboard_server.passwords import FailureLimiter, ScryptCost, hash_password, verify_password
from pgboard_server.rights import address_of

from pgboard import names
from pgboard.protocol import MAX_NAME_FIELD, Error, JoinError, Notice

if TYPE_CHECKING:
    from pgboard_server.chat import ChatCommands
    from pgboard_server.limits import Limits
    from pgboard_server.room import Room
    from pgboard_server.session import Session
    from pgboard_server.store import Store

log = logging.getLogger(__name__)


class RoomPasswords:
    def __init__(self, store: Store, limits: Limits, clock: Callable[[], float]) -> None:
        self.store = store
        self.cost = ScryptCost(limits.scrypt_n, limits.scrypt_r, limits.scrypt_p)
        self.attempts = FailureLimiter(limits.login_failures, limits.login_window, clock)
        # every hash a join asks for (a check, or a new room's password) is paced per address
        self.pace = AddressPacer(limits.password_check_rate, limits.password_check_burst, clock)

    @staticmethod
    def key(room: Room) -> str:
        return names.fold(room.name)

    def check(self, room: Room, password: str, peer: str) -> JoinError | None:
        """None when the join may go on; else the join_error to send (bad_password, too_many_attempts)."""
        stored = self.store.room_password(self.key(room))
        if stored is None:
            if password and not room.rights.exists:  # this join creates the room: prepare() hashes
                return self._paced(address_of(peer))
            return None
        # per (room, address) and per address, never per room alone: one address guessing must not
        # lock everyone else out of the room (issue 11)
        address = address_of(peer)
        keys = (f"room:{self.key(room)}@{address}", f"address:{address}")
        wait = self.attempts.retry_after(*keys)
        if wait:
            detail = f"too many wrong passwords; try again in {wait} s"
            return JoinError("too_many_attempts", detail, retry=wait)
        paced = self._paced(address)
        if paced is not None:
            return paced
        if verify_password(password, stored):
            return None
        self.attempts.failed(*keys)
        what = "this room needs a password" if not password else "wrong password for this room"
        return JoinError("bad_password", what)

    def _paced(self, address: str) -> JoinError | None:
        wait = self.pace.admit(address)
        if not wait:
            return None
        detail = f"too many room-password checks from your address; try again in {wait} s"
        return JoinError("too_many_attempts", detail, retry=wait)

    def prepare(self, room: Room, password: str) -> str | None:
        """Outside the lock: the hash to keep if this join creates the room, or None."""
        if not password or room.rights.exists:
            return None
        return hash_password(password, self.cost)

    def keep(self, room: Room, hashed: str) -> None:
        """Under the room's lock, when the join that brought ``hashed`` created the room."""
        self.store.set_room_password(self.key(room), hashed)
        log.info("room %r: created with a password", room.name)

    def set(self, room: Room, hashed: str | None) -> None:
        self.store.set_room_password(self.key(room), hashed)
        log.info("room %r: password %s", room.name, "set" if hashed else "removed")


HELP = (("/password [NEW]", "(operators) set the room's password, or remove it"),)


def password_command(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    """``/password [NEW]`` (operators): set or remove the room's password; members stay in."""
    passwords = session.server.room_passwords
    if len(rest) > MAX_NAME_FIELD:
        session.send(Error("bad_command", f"a room password has at most {MAX_NAME_FIELD} characters"))
        return
    hashed = hash_password(rest, passwords.cost) if rest else None  # slow: before taking the lock
    with room.lock:
        if session.room is not room:
            return
        if not room.rights.is_operator(session.user):
            session.send(Error("not_operator", f"only an operator of {room.name} may /password"))
            return
        try:
            passwords.set(room, hashed)
        except sqlite3.Error as exc:
            room.store.health.failed(f"the password of room {room.name!r}", exc)
            session.send(Error("store_failed", "the server could not save this; try again"))
            return
        if hashed:
            room.broadcast(Notice(f"{session.nick} set a password on this room: joining now needs it"))
        else:
            room.broadcast(Notice(f"{session.nick} removed the room's password: anyone may join"))
