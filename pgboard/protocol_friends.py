"""Friends on the wire (docs/PROTOCOL.md, "Friends"): the list a logged-in account keeps with
``/friend NICK``, and the updates the server pushes when a friend comes online, changes room or goes
offline. Registered in protocol.py's table of messages by the import at its end.

A friend's ``online`` and ``room`` are told only when the friendship is ``mutual`` (they added you
too): adding someone never lets you follow them around the server on your own.
"""

from __future__ import annotations

from dataclasses import dataclass

from pgboard import wire_fields
from pgboard.protocol import MAX_NAME_FIELD, Message, message

MAX_FRIENDS_LISTED = 100  # friends in one `friends` message at most: the server's MAX_FRIENDS can be
# no larger (server/limits.py checks it), so a whole list always fits one frame (~100 x 450 bytes)

_name = wire_fields.text(MAX_NAME_FIELD)


@dataclass(frozen=True, slots=True)
class FriendInfo(wire_fields.WireRecord):
    """One friend as you see them: their account's nickname; ``mutual``: they have you as a friend too
    (only then are ``online`` and ``room`` told); ``room``: where they are ("" when offline, or in a
    room the server does not list)."""

    nick: str = wire_fields.spec(_name)
    mutual: bool = wire_fields.spec(wire_fields.boolean, False)
    online: bool = wire_fields.spec(wire_fields.boolean, False)
    room: str = wire_fields.spec(_name, "")

    def describe(self) -> str:
        """One line for people: "bob: online in attic", "carol: offline", "dave: has not added you"."""
        if not self.mutual:
            return f"{self.nick}: has not added you yet (you see where they are once they do)"
        if not self.online:
            return f"{self.nick}: offline"
        return f"{self.nick}: online" + (f" in {self.room}" if self.room else "")


@message("friends")
class Friends(Message):
    """Server -> client: your whole friend list, sorted by name; ``asked``: the answer to ``/friends``
    (else sent after a logged-in join, for the client to keep)."""

    friends: tuple[FriendInfo, ...] = wire_fields.spec(
        wire_fields.tuple_of(FriendInfo.from_wire, MAX_FRIENDS_LISTED), ()
    )
    asked: bool = wire_fields.spec(wire_fields.boolean, False)


@message("friend")
class FriendUpdate(Message):
    """Server -> client: one friend changed (came online, changed room, went offline, added or
    removed you); ``gone``: they are no longer on your list (you removed them)."""

    nick: str = wire_fields.spec(_name)
    mutual: bool = wire_fields.spec(wire_fields.boolean, False)
    online: bool = wire_fields.spec(wire_fields.boolean, False)
    room: str = wire_fields.spec(_name, "")
    gone: bool = wire_fields.spec(wire_fields.boolean, False)

    @property
    def info(self) -> FriendInfo:
        return FriendInfo(self.nick, self.mutual, self.online, self.room)


def update_text(msg: FriendUpdate, before: FriendInfo | None) -> str:
    """What the user is told of ``msg``, given what they knew (``before``); "" when nothing to say."""
    if msg.gone:
        return f"{msg.nick} is no longer on your friend list"
    if not msg.mutual:
        if before is not None and before.mutual:
            return f"{msg.nick} removed you from their friends: you no longer see where they are"
        return ""
    if not msg.online:
        return f"{msg.nick} went offline" if before is None or before.online else ""
    where = f" in {msg.room}" if msg.room else ""
    if before is not None and before.online:
        return f"{msg.nick} moved to {msg.room}" if msg.room != before.room and msg.room else ""
    return f"{msg.nick} is online{where}"
