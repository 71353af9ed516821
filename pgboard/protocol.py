"""The pgboard wire protocol: a sans-IO codec shared by the client and the server.

This module is its one public face: the messages are defined here (and in the protocol_<area>
modules imported at its end), the limits and base types in protocol_base.py, the codec in codec.py;
every name of those two is re-exported here.

Bytes in, typed messages out; messages in, bytes out. No sockets, no clock, no threads, no pygame:
this module is the only place the wire format lives (docs/PROTOCOL.md describes it for people).

A frame is one JSON object, serialised with every non-ASCII character escaped (``\\uXXXX``), followed by
the terminator ``Ø`` encoded in UTF-8 (the two bytes ``C3 98``). Because the payload is pure ASCII, the
terminator can never occur inside it: a user who types ``Ø`` sends ``\\u00d8`` and gets ``Ø`` back.
Frames are split on bytes before anything is decoded, so a ``recv()`` may cut a frame, a character or
the terminator anywhere. White space between frames (a newline typed into ``nc``) is ignored.

Two error types, as in h11: :class:`ProtocolError` for anything the peer sent that is wrong (decoding
garbage raises nothing else; if it does, that is a bug), :class:`LocalProtocolError` for our own misuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import get_args

from pgboard import wire_fields
from pgboard.codec import Codec, decode_frame, encode, frame_body, frame_of, payload_of
from pgboard.protocol_base import (
    BOARD_H,
    BOARD_W,
    CHAT_KINDS,
    DEFAULT_PORT,
    MAX_DEPTH,
    MAX_FRAME,
    MAX_ID,
    MAX_NAME_FIELD,
    MAX_POINTS,
    MAX_RETRY,
    MAX_TEXT,
    MAX_TEXT_SIZE,
    MAX_USERS_LISTED,
    MAX_WIDTH,
    MESSAGE_TYPES,
    MIN_TEXT_SIZE,
    OBJECT_KINDS,
    PROTOCOL_VERSION,
    TERMINATOR,
    TWO_POINT_KINDS,
    BoardObject,
    LocalProtocolError,
    Message,
    ProtocolError,
    Sequenced,
    UserInfo,
    Validator,
    WireRecord,
    _bool,
    _choice,
    _ident,
    _ids,
    _int,
    _objects,
    _opt_ident,
    _opt_seq,
    _points,
    _seq,
    _spec,
    _str,
    _tuple_of,
    _users,
    message,
)
from pgboard.room_list import MAX_ROOMS_LISTED, RoomInfo
from pgboard.wire_errors import ACCOUNT_ACTIONS, ACCOUNT_ERRORS, JOIN_ERRORS

# the names of protocol_base.py, codec.py, room_list.py and wire_errors.py this module re-exports (its
# own messages are public as defined): code imports every wire name from here
__all__ = [
    "ACCOUNT_ACTIONS",
    "ACCOUNT_ERRORS",
    "BOARD_H",
    "BOARD_W",
    "BoardObject",
    "CHAT_KINDS",
    "Codec",
    "DEFAULT_PORT",
    "JOIN_ERRORS",
    "LocalProtocolError",
    "MAX_DEPTH",
    "MAX_FRAME",
    "MAX_ID",
    "MAX_NAME_FIELD",
    "MAX_POINTS",
    "MAX_RETRY",
    "MAX_ROOMS_LISTED",
    "MAX_TEXT",
    "MAX_TEXT_SIZE",
    "MAX_USERS_LISTED",
    "MAX_WIDTH",
    "MESSAGE_TYPES",
    "MIN_TEXT_SIZE",
    "Message",
    "OBJECT_KINDS",
    "PROTOCOL_VERSION",
    "ProtocolError",
    "RoomInfo",
    "Sequenced",
    "TERMINATOR",
    "TWO_POINT_KINDS",
    "UserInfo",
    "Validator",
    "WireRecord",
    "decode_frame",
    "encode",
    "frame_of",
    "message",
    "payload_of",
]


# Connection and rooms


@message("hello")
class Hello(Message):
    """Server -> client, first frame of every connection."""

    version: int = _spec(_int(0, 2**31))
    server: str = _spec(_str(MAX_NAME_FIELD))


@message("join")
class Join(Message):
    """Client -> server. ``since``: the last sequence number the client has (None: send the board).
    ``client``: a secret the client keeps across reconnects; the same secret means the same author."""

    nick: str = _spec(_str(MAX_NAME_FIELD))
    room: str = _spec(_str(MAX_NAME_FIELD), "")
    password: str = _spec(_str(MAX_NAME_FIELD), "")
    since: int | None = _spec(_opt_seq, None)
    client: str = _spec(_str(MAX_ID), "")
    packed: bool = _spec(_bool, False)  # send a board catch-up's points packed (see pack_points)
    snapshot: bool = _spec(_bool, False)  # send a board catch-up as snapshot frames (protocol_snapshot)


@message("welcome")
class Welcome(Message):
    """Server -> client after a successful join: your id and name, the room, who is here."""

    user: str = _spec(_str(MAX_ID))
    nick: str = _spec(_str(MAX_NAME_FIELD))
    room: str = _spec(_str(MAX_NAME_FIELD))
    users: tuple[UserInfo, ...] = _spec(_tuple_of(UserInfo.from_wire, MAX_USERS_LISTED), ())
    seq: int = _spec(_seq, 0)


@message("join_error")
class JoinError(Message):
    reason: str = _spec(_choice(JOIN_ERRORS))
    detail: str = _spec(_str(MAX_TEXT), "")
    suggestion: str = _spec(_str(MAX_NAME_FIELD), "")
    retry: int = _spec(_int(0, MAX_RETRY), 0)  # whole seconds to wait, with too_many_attempts


@message("rooms")
class Rooms(Message):
    """Either way, before or after a join: the client asks (no fields), the server answers with the
    open rooms it lists, busiest first (pgboard/room_list.py); ``more``: how many it left out."""

    rooms: tuple[RoomInfo, ...] = _spec(_tuple_of(RoomInfo.from_wire, MAX_ROOMS_LISTED), ())
    more: int = _spec(_int(0, 2**31), 0)


# Accounts (a server started with accounts): sign up, log in or change the password before join.


@message("signup")
class Signup(Message):
    """Client -> server, before join: register ``nick`` with ``password`` and log in as it."""

    nick: str = _spec(_str(MAX_NAME_FIELD))
    password: str = _spec(_str(MAX_NAME_FIELD))


@message("login")
class Login(Message):
    """Client -> server, before join: log in; the join that follows uses the account's nick and id."""

    nick: str = _spec(_str(MAX_NAME_FIELD))
    password: str = _spec(_str(MAX_NAME_FIELD))


@message("passwd")
class Passwd(Message):
    """Client -> server: change the password of ``nick`` from ``password`` to ``new`` (and, before
    join, log in as it). Checked and rate-limited like a login."""

    nick: str = _spec(_str(MAX_NAME_FIELD))
    password: str = _spec(_str(MAX_NAME_FIELD))
    new: str = _spec(_str(MAX_NAME_FIELD))


@message("account")
class AccountOk(Message):
    """Server -> client: ``action`` succeeded; you are logged in as ``nick`` (author id ``user``)."""

    action: str = _spec(_choice(ACCOUNT_ACTIONS))
    nick: str = _spec(_str(MAX_NAME_FIELD))
    user: str = _spec(_str(MAX_ID))


@message("account_error")
class AccountError(Message):
    """Server -> client: ``action`` failed; nothing changed and the connection goes on."""

    action: str = _spec(_choice(ACCOUNT_ACTIONS))
    reason: str = _spec(_choice(ACCOUNT_ERRORS))
    detail: str = _spec(_str(MAX_TEXT), "")
    retry: int = _spec(_int(0, MAX_RETRY), 0)  # whole seconds to wait, with too_many_attempts


@message("joined")
class UserJoined(Message):
    user: str = _spec(_str(MAX_ID))
    nick: str = _spec(_str(MAX_NAME_FIELD))


@message("left")
class UserLeft(Message):
    user: str = _spec(_str(MAX_ID))
    nick: str = _spec(_str(MAX_NAME_FIELD))
    reason: str = _spec(_str(MAX_TEXT), "")


@message("renamed")
class Renamed(Message):
    user: str = _spec(_str(MAX_ID))
    old: str = _spec(_str(MAX_NAME_FIELD))
    nick: str = _spec(_str(MAX_NAME_FIELD))


@message("room_state")
class RoomState(Message):
    """Server -> client: what you may do in this room, sent after ``welcome`` and again whenever it
    changes for you. ``operators``: the room's operators (they edit everything and moderate);
    ``locked``: only operators draw; ``may_edit``: authors whose objects you may edit besides your
    own (they ``/allow``-ed you); ``allowed``: whom you allowed to edit yours; ``watching``: you
    watch only (an operator's ``/readonly``; ``/readwrite`` ends it); ``watch_only``: the room's
    option, members new to it watch only."""

    operators: tuple[str, ...] = _spec(_users, ())
    locked: bool = _spec(_bool, False)
    may_edit: tuple[str, ...] = _spec(_users, ())
    allowed: tuple[str, ...] = _spec(_users, ())
    watching: bool = _spec(_bool, False)
    watch_only: bool = _spec(_bool, False)


# Catch-up


@message("catchup")
class CatchUp(Message):
    """Server -> client: ``count`` frames of catch-up follow (``obj`` frames of the compacted board
    when ``mode`` is "board", logged operations when it is "ops"), then ``caught_up``."""

    count: int = _spec(_seq)
    mode: str = _spec(_choice(("board", "ops")), "board")


@message("obj")
class Obj(Message):
    """Server -> client: one object of the compacted board, during catch-up."""

    obj: BoardObject = _spec(BoardObject.from_wire)


@message("caught_up")
class CaughtUp(Message):
    """Server -> client: the board is now at ``seq``; live operations follow with no gap."""

    seq: int = _spec(_seq)


# Drawing operations. A client sends them with an ``oid`` of its own (unique per client secret);
# the server echoes each to every member with ``seq``, ``author`` and (for an account's, which is not
# its device) ``device`` filled in, always last. The echo is the author's acknowledgement; an operation
# whose (device, oid) was already applied is answered by ``ack``.


@message("add")
class Add(Sequenced):
    oid: str = _spec(_ident)
    obj: BoardObject = _spec(BoardObject.from_wire)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("extend")
class Extend(Sequenced):
    """Points appended to a pencil stroke while it is drawn."""

    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    points: tuple[tuple[int, int], ...] = _spec(_points)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("move")
class Move(Sequenced):
    """Shift an object. ``live`` moves are steps of a drag in progress; one undo covers the drag."""

    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    dx: int = _spec(_int(-BOARD_W, BOARD_W))
    dy: int = _spec(_int(-BOARD_H, BOARD_H))
    live: bool = _spec(_bool, False)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("delete")
class Delete(Sequenced):
    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


class EffectMessage(Sequenced):
    """An operation whose effect the server computes: the echo lists what it removed and put."""

    def effect_fields(self) -> tuple[tuple[str, ...], tuple[BoardObject, ...]]:
        return self.removed, self.put  # type: ignore[attr-defined]


@message("clear")
class Clear(EffectMessage):
    """Erase everything the author may edit. The echo's ``removed`` lists the ids erased."""

    oid: str = _spec(_ident)
    removed: tuple[str, ...] = _spec(_ids, ())
    put: tuple[BoardObject, ...] = _spec(_objects, ())
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("batch")
class Batch(EffectMessage):
    """Several changes as ONE operation (docs/PROTOCOL.md, "batch"): the objects ``removed`` (each one
    the author may edit) go, then the objects ``put`` are added as the author's; all or nothing, one
    undo step. Bounded as an add is: each object by its own limits, the whole by MAX_FRAME."""

    oid: str = _spec(_ident)
    removed: tuple[str, ...] = _spec(_ids, ())
    put: tuple[BoardObject, ...] = _spec(_objects, ())
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@dataclass(frozen=True, slots=True)
class _HistoryStep(EffectMessage):
    oid: str = _spec(_ident)
    target: int = _spec(_seq, 0)
    removed: tuple[str, ...] = _spec(_ids, ())
    put: tuple[BoardObject, ...] = _spec(_objects, ())
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("undo")
class Undo(_HistoryStep):
    """Undo the author's last operation. The echo says which (``target``: its seq, 0 when there was
    nothing to undo) and its effect: ``removed`` ids, and ``put`` objects restored to their state."""


@message("redo")
class Redo(_HistoryStep):
    """Redo the author's last undone operation; the echo is shaped like undo's."""


@message("ack")
class Ack(Message):
    """Server -> client: the operation ``oid`` was already applied, as ``seq``; nothing changed."""

    oid: str = _spec(_ident)
    seq: int = _spec(_seq)


@message("cursor")
class Cursor(Message):
    """Ephemeral pointer position: relayed to the room, never logged. ``laser``: the laser pointer is
    on (its button held): members draw a fading trail through these points in the sender's colour."""

    x: int = _spec(_int(0, BOARD_W))
    y: int = _spec(_int(0, BOARD_H))
    user: str = _spec(_str(MAX_ID), "")
    laser: bool = _spec(_bool, False)


# Chat


@message("say")
class Say(Message):
    """Client -> server: one line typed in the chat box; a leading "/" makes it a command."""

    text: str = _spec(_str(MAX_TEXT))


@message("chat")
class Chat(Message):
    """Server -> client: a chat line. ``kind``: say, me (an action) or private (``to`` is set);
    ``history`` marks lines replayed to a joiner; ``time`` is Unix seconds as stamped by the server."""

    kind: str = _spec(_choice(CHAT_KINDS))
    user: str = _spec(_str(MAX_ID))
    nick: str = _spec(_str(MAX_NAME_FIELD))
    text: str = _spec(_str(MAX_TEXT))
    to: str = _spec(_str(MAX_NAME_FIELD), "")
    history: bool = _spec(_bool, False)
    time: int = _spec(_int(0, 2**40), 0)
    away: bool = _spec(_bool, False)  # a private line kept while you were offline, delivered at login
    mail: int = _spec(_int(0, 2**53), 0)  # with away: its id in your mailbox, for mail_ack
    again: bool = _spec(_bool, False)  # with away: sent to you before and never acknowledged


@message("mail_ack")
class MailAck(Message):
    """Client -> server: the kept private lines up to ``upto`` (their ``mail`` id) were shown; the
    server forgets them. Lines never acknowledged are delivered again at the next login."""

    upto: int = _spec(_int(1, 2**53))


@message("notice")
class Notice(Message):
    """Server -> client: a system line for the chat panel (command replies, announcements)."""

    text: str = _spec(_str(64 * 1024))


@message("error")
class Error(Message):
    """Either way: something was wrong. ``fatal`` errors are followed by the connection closing;
    ``oid`` names the refused operation when there is one."""

    code: str = _spec(_str(MAX_ID))
    detail: str = _spec(_str(MAX_TEXT), "")
    fatal: bool = _spec(_bool, False)
    oid: str = _spec(_opt_ident, "")  # the refused operation, so its author drops it from the outbox
    retry: float = _spec(wire_fields.number_in(0, MAX_RETRY), 0)  # seconds: with "rate_limited", when
    # the refused input may be sent again (the operation named by ``oid`` is kept and resent then)


# Heartbeat


@message("ping")
class Ping(Message):
    n: int = _spec(_int(0, 2**53), 0)


@message("pong")
class Pong(Message):
    n: int = _spec(_int(0, 2**53), 0)


# The board's operations (sequenced, logged, echoed, undoable): the one place their set is written.
Operation = Add | Extend | Move | Delete | Clear | Batch | Undo | Redo
OPERATIONS: tuple[type[Operation], ...] = get_args(Operation)  # for isinstance: the same set
ACCOUNT_MESSAGES = (Signup, Login, Passwd)


def encode_obj(obj: BoardObject, *, packed: bool) -> bytes:
    """The ``obj`` frame of a board catch-up (made of checked parts, as with ``check=False``), its
    points in their packed form (``wire_fields.pack_points``) for a joiner that asked for it."""
    wire = obj.to_wire()
    if packed:
        wire["points"] = wire_fields.pack_points(obj.points)
    return frame_body(Obj.TYPE, {"t": Obj.TYPE, "obj": wire})


from pgboard import protocol_cluster as _protocol_cluster  # noqa: E402,F401  registers its messages
from pgboard import protocol_friends as _protocol_friends  # noqa: E402,F401  registers its messages
from pgboard import protocol_game as _protocol_game  # noqa: E402,F401  registers its messages
from pgboard import protocol_history as _protocol_history  # noqa: E402,F401  registers its messages
from pgboard import protocol_presence as _protocol_presence  # noqa: E402,F401  registers its messages
from pgboard import protocol_snapshot as _protocol_snapshot  # noqa: E402,F401  registers its messages
