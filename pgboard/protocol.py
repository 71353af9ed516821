"""The pgboard wire protocol: a sans-IO codec shared by the client and the server.

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

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform, get_args

from pgboard import wire_fields
from pgboard.room_list import MAX_ROOMS_LISTED as MAX_ROOMS_LISTED
from pgboard.room_list import RoomInfo as RoomInfo
from pgboard.wire_errors import ACCOUNT_ACTIONS as ACCOUNT_ACTIONS
from pgboard.wire_errors import ACCOUNT_ERRORS as ACCOUNT_ERRORS
from pgboard.wire_errors import JOIN_ERRORS as JOIN_ERRORS

PROTOCOL_VERSION = 2  # 2: object ids begin with their device id (pgboard/ids.py)
DEFAULT_PORT = 5151  # where a server listens and a client connects unless told otherwise (the one place)
TERMINATOR = "Ø".encode()  # b"\xc3\x98"
MAX_FRAME = 256 * 1024  # bytes of one frame's payload, terminator excluded

BOARD_W = 3200  # the board's fixed logical size, in board units
BOARD_H = 1800
MAX_ID = 64  # object ids and operation ids: 1-64 of [A-Za-z0-9_.:-]
MAX_POINTS = 5000  # points in one object (a pencil stroke, all its extends included)
MAX_WIDTH = 64  # stroke width, 1..MAX_WIDTH
MIN_TEXT_SIZE, MAX_TEXT_SIZE = 8, 200
MAX_TEXT = 2000  # characters of a text object or a chat line
MAX_NAME_FIELD = 200  # characters of a nickname, room or password field on the wire (rules: names.py)
MAX_USERS_LISTED = 1000
MAX_RETRY = 3600  # seconds: the largest "retry" of an error
# JSON nesting every receiver accepts (unknown fields of later versions may hold structures); a valid
# frame of this version nests 5 (frame, put, object, points, point). Deeper may be refused bad_frame:
# ours refuses only what Python's recursive JSON parser cannot nest (some 900 levels, thread-dependent).
MAX_DEPTH = 32

OBJECT_KINDS = ("pencil", "line", "rect", "oval", "circle", "square", "text")
TWO_POINT_KINDS = frozenset({"line", "rect", "oval", "circle", "square"})
CHAT_KINDS = ("say", "me", "private")


class ProtocolError(Exception):
    """The peer sent something that breaks the protocol.

    ``code`` is a stable machine-readable word (see docs/PROTOCOL.md); ``fatal`` says whether the byte
    stream can still be trusted (an oversized frame cannot be resynchronised; a bad frame can).
    """

    def __init__(self, code: str, detail: str, *, fatal: bool = False, oid: str = "") -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.fatal = fatal
        self.oid = oid  # a refused operation's oid, when the frame had a valid one: its sender drops it


class LocalProtocolError(Exception):
    """We tried to send something the protocol does not allow: a bug on our side."""


# -- field validators (pgboard/wire_fields.py), bound to this protocol's limits. The old private
# names stay, so code that reached for them keeps working.

Validator = wire_fields.Validator
_Invalid = wire_fields.Invalid
_int = wire_fields.int_in
_opt_int = wire_fields.opt_int_in
_str = wire_fields.text
_choice = wire_fields.choice
_bool = wire_fields.boolean
_ident = wire_fields.ident(MAX_ID)
_opt_ident = wire_fields.opt_ident(MAX_ID)
_color = wire_fields.color
_point = wire_fields.point(BOARD_W, BOARD_H)
_points = wire_fields.points(BOARD_W, BOARD_H, MAX_POINTS)
_tuple_of = wire_fields.tuple_of
_spec = wire_fields.spec
_fields_from_wire = wire_fields.fields_from_wire
_ID_RE = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{MAX_ID}}}\Z")
_COLOR_RE = re.compile(r"#[0-9a-f]{6}\Z")


WireRecord = wire_fields.WireRecord  # validation in, plain JSON out (moved to wire_fields)


@dataclass(frozen=True, slots=True)
class BoardObject(WireRecord):
    """One thing on the board. Geometry is in board units; ``author`` is stamped by the server.

    pencil: a polyline through ``points``; line: from points[0] to points[1]; rect and oval: the box
    spanned by the two points; square and circle: the square box from points[0] towards points[1]
    whose side is the larger of the two distances; text: ``text`` at top-left points[0], ``size`` px.
    """

    id: str = _spec(_ident)
    kind: str = _spec(_choice(OBJECT_KINDS))
    points: tuple[tuple[int, int], ...] = _spec(_points)
    color: str = _spec(_color, "#000000")
    width: int = _spec(_int(1, MAX_WIDTH), 3)
    text: str = _spec(_str(MAX_TEXT), "")
    size: int = _spec(_int(MIN_TEXT_SIZE, MAX_TEXT_SIZE), 24)
    author: str = _spec(_str(MAX_ID), "")

    @classmethod
    def from_wire(cls, data: Any) -> BoardObject:
        obj: BoardObject = _fields_from_wire(cls, data)
        if obj.kind in TWO_POINT_KINDS and len(obj.points) != 2:
            raise _Invalid(f"a {obj.kind} has exactly 2 points")
        if obj.kind == "text" and (len(obj.points) != 1 or not obj.text):
            raise _Invalid("a text object has 1 point and a non-empty text")
        return obj


@dataclass(frozen=True, slots=True)
class UserInfo(WireRecord):
    id: str = _spec(_str(MAX_ID))
    nick: str = _spec(_str(MAX_NAME_FIELD))


# -- messages. ``TYPE`` is the value of the frame's "t" field.


class Message(WireRecord):
    TYPE: ClassVar[str] = ""


_REGISTRY: dict[str, type[Message]] = {}


_M = TypeVar("_M", bound=type)


@dataclass_transform(frozen_default=True)
def message(type_name: str) -> Callable[[_M], _M]:
    """Class decorator: a frozen dataclass registered under its wire type name. (Marked as a
    dataclass transform so type checkers see the fields, the constructor and ``replace``.)"""

    def register(cls: _M) -> _M:
        cls.TYPE = type_name  # type: ignore[attr-defined]
        made = cast(_M, dataclass(frozen=True, slots=True)(cls))
        _REGISTRY[type_name] = made
        return made

    return register


_seq = _int(0, 2**53)
_opt_seq = _opt_int(0, 2**53)
_objects = _tuple_of(BoardObject.from_wire, 100_000)
_ids = _tuple_of(_ident, 100_000)
_users = _tuple_of(_str(MAX_ID), MAX_USERS_LISTED)  # author ids


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
class Add(Message):
    oid: str = _spec(_ident)
    obj: BoardObject = _spec(BoardObject.from_wire)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("extend")
class Extend(Message):
    """Points appended to a pencil stroke while it is drawn."""

    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    points: tuple[tuple[int, int], ...] = _spec(_points)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


@message("move")
class Move(Message):
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
class Delete(Message):
    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    device: str = _spec(_str(MAX_ID), "")


class EffectMessage(Message):
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


# every message type by its wire name; the registry itself, so the protocol_* modules imported at the
# end of this one (their messages registered by the same decorator) are known to decode and encode
MESSAGE_TYPES: dict[str, type[Message]] = _REGISTRY
# The board's operations (sequenced, logged, echoed, undoable): the one place their set is written.
Operation = Add | Extend | Move | Delete | Clear | Batch | Undo | Redo
OPERATIONS: tuple[type[Operation], ...] = get_args(Operation)  # for isinstance: the same set
ACCOUNT_MESSAGES = (Signup, Login, Passwd)


# -- the codec


def encode(msg: Message, *, check: bool = True) -> bytes:
    """One message as one frame (payload + terminator).

    The message is checked by the same rules the peer decodes it by, so what we send is never
    refused as malformed: a field out of its range or a frame over MAX_FRAME raises LocalProtocolError.
    ``check=False`` skips the field rules (never the frame size) for a message made only of parts
    that were checked already: the server's echo of a decoded operation, stamped with its sequence
    number and author id, and the objects of a board built from such echoes.
    """
    cls = MESSAGE_TYPES.get(getattr(type(msg), "TYPE", None) or "")
    if cls is None or not isinstance(msg, cls):
        raise LocalProtocolError(f"not a protocol message: {msg!r:.200}")
    body: dict[str, Any] = {"t": msg.TYPE}
    body.update(msg.to_wire())
    if check:
        try:
            cls.from_wire(body)
        except _Invalid as exc:
            raise LocalProtocolError(f"{msg.TYPE}: {exc}") from None
    return _frame(msg.TYPE, body)


def encode_obj(obj: BoardObject, *, packed: bool) -> bytes:
    """The ``obj`` frame of a board catch-up (made of checked parts, as with ``check=False``), its
    points in their packed form (``wire_fields.pack_points``) for a joiner that asked for it."""
    wire = obj.to_wire()
    if packed:
        wire["points"] = wire_fields.pack_points(obj.points)
    return _frame(Obj.TYPE, {"t": Obj.TYPE, "obj": wire})


def _frame(kind: str, body: dict[str, Any]) -> bytes:
    try:
        text = _ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"{kind}: not JSON: {exc}") from None
    payload = text.encode("ascii")
    if len(payload) > MAX_FRAME:
        raise LocalProtocolError(f"frame of {len(payload)} bytes exceeds MAX_FRAME ({MAX_FRAME})")
    return payload + TERMINATOR


def payload_of(frame: bytes) -> str:
    """The payload of a frame :func:`encode` made, as text (what a log keeps): the terminator off."""
    return frame[: -len(TERMINATOR)].decode("ascii")


def frame_of(payload: str) -> bytes:
    """A payload :func:`payload_of` gave (or a log kept) as a frame to send: the terminator on."""
    return payload.encode("ascii") + TERMINATOR


def decode_frame(payload: bytes) -> Message:
    """One frame's payload (no terminator) as a typed message; raises only ProtocolError."""
    payload = payload.strip(b" \t\r\n")
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("bad_frame", "a frame must be ASCII JSON (escape other characters)")
    try:
        data = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_frame", "a frame must be one JSON object") from None
    if type(data) is not dict:
        raise ProtocolError("bad_frame", "a frame must be one JSON object")
    kind = data.get("t")
    cls = MESSAGE_TYPES.get(kind) if type(kind) is str else None
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    try:
        return cls.from_wire(data)  # type: ignore[no-any-return]
    except _Invalid as exc:
        oid = data.get("oid") if cls in OPERATIONS else None  # named, so its sender can drop it
        oid = oid if type(oid) is str and _ID_RE.match(oid) else ""
        raise ProtocolError("bad_field", f"{kind}: {exc}", oid=oid) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# made once: json.dumps and json.loads build a new encoder or decoder on every call given options
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class Codec:
    """Frames a byte stream into messages, h11-style.

    Feed bytes with :meth:`receive_data` (``b""`` when the peer closed), then pull messages with
    :meth:`next_message` or iterate :meth:`messages`. A bad frame raises :class:`ProtocolError` once
    and the stream goes on with the next frame. A frame over ``max_frame`` is fatal however it was cut
    into chunks: it is noticed as soon as that many bytes arrive without a terminator, so the buffer
    never holds more than about ``max_frame`` bytes of one frame, and after it input is discarded.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._searched = 0  # bytes of _buf already known to hold no terminator
        self._closed = False
        self._broken: ProtocolError | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def broken(self) -> bool:
        """A fatal error was found: the stream can no longer be trusted and input is discarded."""
        return self._broken is not None

    @property
    def pending(self) -> int:
        """Bytes received but not yet framed."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> None:
        if self._closed:
            raise LocalProtocolError("receive_data after the peer closed")
        if not data:
            self._closed = True
            return
        if self._broken is not None:
            return  # nothing after a fatal error can be framed; do not keep it
        self._buf += data
        self._find_end()

    def _find_end(self) -> int:
        """Where the first terminator starts, or -1; breaks the stream if a frame grows too large."""
        # the search restarts one byte early: the first half of a terminator may have arrived alone
        end = self._buf.find(TERMINATOR, max(0, self._searched - 1))
        self._searched = end if end >= 0 else len(self._buf)
        # without a terminator yet, the last byte may be the first half of one: allow it
        if self._searched > (self.max_frame if end >= 0 else self.max_frame + 1):
            self._buf.clear()
            self._searched = 0
            self._broken = ProtocolError(
                "frame_too_large", f"a frame exceeds MAX_FRAME ({self.max_frame} bytes)", fatal=True
            )
            return -1
        return end

    def next_message(self) -> Message | None:
        """The next complete message, or None when more bytes are needed."""
        if self._broken is not None:
            raise self._broken
        end = self._find_end()
        if self._broken is not None:
            raise self._broken
        if end < 0:
            if self._closed and self._buf.strip(b" \t\r\n"):
                self._buf.clear()
                self._searched = 0
                raise ProtocolError("truncated", "the connection closed inside a frame")
            return None
        payload = bytes(self._buf[:end])
        del self._buf[: end + len(TERMINATOR)]
        self._searched = 0
        return decode_frame(payload)

    def messages(self) -> Iterator[Message]:
        """Every complete message now buffered (stops at the first error, which it raises)."""
        while (msg := self.next_message()) is not None:
            yield msg

    @staticmethod
    def send(msg: Message) -> bytes:
        return encode(msg)


from pgboard import protocol_cluster as _protocol_cluster  # noqa: E402,F401  registers its messages
from pgboard import protocol_friends as _protocol_friends  # noqa: E402,F401  registers its messages
from pgboard import protocol_game as _protocol_game  # noqa: E402,F401  registers its messages
from pgboard import protocol_history as _protocol_history  # noqa: E402,F401  registers its messages
from pgboard import protocol_presence as _protocol_presence  # noqa: E402,F401  registers its messages
from pgboard import protocol_snapshot as _protocol_snapshot  # noqa: E402,F401  registers its messages
