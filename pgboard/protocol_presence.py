"""The wire messages of following someone's view (docs/PROTOCOL.md, "Following"): ``view``, a member's
visible part of the board, relayed like a cursor and never logged; ``follow``, the server asking every
member to follow a presenter (/present); ``leave``, a member saying it goes to another room or back
to the connect screen, not away. Registered with pgboard.protocol's decorator, which imports this
module at its end: import the messages from here."""

from __future__ import annotations

from pgboard import wire_fields
from pgboard.protocol import BOARD_H, BOARD_W, MAX_ID, Message, message

_spec = wire_fields.spec


@message("leave")
class Leave(Message):
    """Client -> server, the last frame before it closes: it leaves the room for another board (the
    others read "bob left", not "bob left (quit)"). No fields."""


@message("view")
class View(Message):
    """The part of the board a member sees (board units: left, top, width, height), sent when it
    changes (at most VIEW_RATE a second) and when someone joins; the server stamps ``user`` and relays
    it to the room, paced with the cursors, never logged."""

    x: int = _spec(wire_fields.int_in(0, BOARD_W))
    y: int = _spec(wire_fields.int_in(0, BOARD_H))
    w: int = _spec(wire_fields.int_in(1, BOARD_W))
    h: int = _spec(wire_fields.int_in(1, BOARD_H))
    user: str = _spec(wire_fields.text(MAX_ID), "")


@message("follow")
class Follow(Message):
    """Server -> client: follow ``user``'s view (a presenter; each member may stop with Esc);
    ``user`` "": the presentation ended, stop following the presenter. ``nick``: the presenter's."""

    user: str = _spec(wire_fields.text(MAX_ID), "")
    nick: str = _spec(wire_fields.text(200), "")
