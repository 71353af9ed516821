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

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

PROTOCOL_VERSION = 1
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

OBJECT_KINDS = ("pencil", "line", "rect", "oval", "circle", "square", "text")
TWO_POINT_KINDS = frozenset({"line", "rect", "oval", "circle", "square"})
JOIN_ERRORS = ("empty", "taken", "invalid", "too_long", "bad_password", "room_full", "banned")
CHAT_KINDS = ("say", "me", "private")

_ID_RE = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{MAX_ID}}}\Z")
_COLOR_RE = re.compile(r"#[0-9a-f]{6}\Z")


class ProtocolError(Exception):
    """The peer sent something that breaks the protocol.

    ``code`` is a stable machine-readable word (see docs/PROTOCOL.md); ``fatal`` says whether the byte
    stream can still be trusted (an oversized frame cannot be resynchronised; a bad frame can).
    """

    def __init__(self, code: str, detail: str, *, fatal: bool = False) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.fatal = fatal


class LocalProtocolError(Exception):
    """We tried to send something the protocol does not allow: a bug on our side."""


# -- field validators: each takes the decoded JSON value and returns the Python value or raises


Validator = Callable[[Any], Any]


class _Invalid(Exception):
    pass


def _int(lo: int, hi: int) -> Validator:
    def check(v: Any) -> int:
        if type(v) is not int or not lo <= v <= hi:
            raise _Invalid(f"expected an integer in [{lo}, {hi}]")
        return v

    return check


def _opt_int(lo: int, hi: int) -> Validator:
    inner = _int(lo, hi)
    return lambda v: None if v is None else inner(v)


def _str(max_len: int) -> Validator:
    def check(v: Any) -> str:
        if type(v) is not str or len(v) > max_len:
            raise _Invalid(f"expected a string of at most {max_len} characters")
        return v

    return check


def _choice(options: tuple[str, ...]) -> Validator:
    def check(v: Any) -> str:
        if v not in options or type(v) is not str:
            raise _Invalid(f"expected one of {', '.join(options)}")
        return v

    return check


def _bool(v: Any) -> bool:
    if type(v) is not bool:
        raise _Invalid("expected true or false")
    return v


def _ident(v: Any) -> str:
    if type(v) is not str or not _ID_RE.match(v):
        raise _Invalid(f"expected an id of 1-{MAX_ID} characters from A-Z a-z 0-9 _ . : -")
    return v


def _opt_ident(v: Any) -> str:
    return "" if v == "" else _ident(v)


def _color(v: Any) -> str:
    if type(v) is not str or not _COLOR_RE.match(v):
        raise _Invalid("expected a colour #rrggbb (lower-case hex)")
    return v


def _point(v: Any) -> tuple[int, int]:
    if type(v) is not list or len(v) != 2:
        raise _Invalid("expected a point [x, y]")
    x, y = v
    if type(x) is not int or type(y) is not int or not (0 <= x <= BOARD_W and 0 <= y <= BOARD_H):
        raise _Invalid(f"expected integer coordinates within the board (0..{BOARD_W}, 0..{BOARD_H})")
    return (x, y)


def _points(v: Any) -> tuple[tuple[int, int], ...]:
    if type(v) is not list or not 1 <= len(v) <= MAX_POINTS:
        raise _Invalid(f"expected a list of 1-{MAX_POINTS} points")
    return tuple(_point(p) for p in v)


def _tuple_of(item: Validator, max_len: int) -> Validator:
    def check(v: Any) -> tuple[Any, ...]:
        if type(v) is not list or len(v) > max_len:
            raise _Invalid(f"expected a list of at most {max_len} items")
        return tuple(item(x) for x in v)

    return check


def _spec(validator: Validator, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that knows how to validate its wire value."""
    if default is dataclasses.MISSING:
        return field(metadata={"v": validator})
    return field(default=default, metadata={"v": validator})


def _fields_from_wire(cls: type, data: Any) -> Any:
    if type(data) is not dict:
        raise _Invalid("expected a JSON object")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            try:
                kwargs[f.name] = f.metadata["v"](data[f.name])
            except _Invalid as exc:
                raise _Invalid(f"{f.name}: {exc}") from None
        elif f.default is dataclasses.MISSING:
            raise _Invalid(f"missing field {f.name!r}")
    return cls(**kwargs)


def _to_wire(value: Any) -> Any:
    if isinstance(value, WireRecord):
        return value.to_wire()
    if isinstance(value, tuple):
        return [_to_wire(v) for v in value]
    return value


class WireRecord:
    """Mixin for dataclasses that travel as JSON objects: validation in, plain JSON out."""

    @classmethod
    def from_wire(cls, data: Any) -> Any:
        return _fields_from_wire(cls, data)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.default is not dataclasses.MISSING and value == f.default:
                continue  # defaults are left out to keep frames short and readable
            out[f.name] = _to_wire(value)
        return out


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


def message(type_name: str) -> Callable[[type], Any]:
    """Class decorator: a frozen dataclass registered under its wire type name."""

    def register(cls: type) -> Any:
        cls.TYPE = type_name  # type: ignore[attr-defined]
        made = dataclass(frozen=True, slots=True)(cls)
        _REGISTRY[type_name] = made
        return made

    return register


_seq = _int(0, 2**53)
_opt_seq = _opt_int(0, 2**53)
_objects = _tuple_of(BoardObject.from_wire, 100_000)
_ids = _tuple_of(_ident, 100_000)


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
# the server echoes each to every member with ``seq`` and ``author`` filled in. The echo is the
# author's acknowledgement; an operation whose oid was already applied is answered by ``ack``.


@message("add")
class Add(Message):
    oid: str = _spec(_ident)
    obj: BoardObject = _spec(BoardObject.from_wire)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")


@message("extend")
class Extend(Message):
    """Points appended to a pencil stroke while it is drawn."""

    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    points: tuple[tuple[int, int], ...] = _spec(_points)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")


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


@message("delete")
class Delete(Message):
    oid: str = _spec(_ident)
    id: str = _spec(_ident)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")


class EffectMessage(Message):
    """An operation whose effect the server computes: the echo lists what it removed and put."""

    def effect_fields(self) -> tuple[tuple[str, ...], tuple[BoardObject, ...]]:
        return self.removed, self.put  # type: ignore[attr-defined]


@message("clear")
class Clear(EffectMessage):
    """Erase everything the author may edit. The echo's ``removed`` lists the ids erased."""

    oid: str = _spec(_ident)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    removed: tuple[str, ...] = _spec(_ids, ())
    put: tuple[BoardObject, ...] = _spec(_objects, ())


@message("undo")
class Undo(EffectMessage):
    """Undo the author's last operation. The echo says which (``target``: its seq, 0 when there was
    nothing to undo) and its effect: ``removed`` ids, and ``put`` objects restored to their state."""

    oid: str = _spec(_ident)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    target: int = _spec(_seq, 0)
    removed: tuple[str, ...] = _spec(_ids, ())
    put: tuple[BoardObject, ...] = _spec(_objects, ())


@message("redo")
class Redo(EffectMessage):
    """Redo the author's last undone operation; the echo is shaped like undo's."""

    oid: str = _spec(_ident)
    seq: int = _spec(_seq, 0)
    author: str = _spec(_str(MAX_ID), "")
    target: int = _spec(_seq, 0)
    removed: tuple[str, ...] = _spec(_ids, ())
    put: tuple[BoardObject, ...] = _spec(_objects, ())


@message("ack")
class Ack(Message):
    """Server -> client: the operation ``oid`` was already applied, as ``seq``; nothing changed."""

    oid: str = _spec(_ident)
    seq: int = _spec(_seq)


@message("cursor")
class Cursor(Message):
    """Ephemeral pointer position: relayed to the room, never logged."""

    x: int = _spec(_int(0, BOARD_W))
    y: int = _spec(_int(0, BOARD_H))
    user: str = _spec(_str(MAX_ID), "")


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


# Heartbeat


@message("ping")
class Ping(Message):
    n: int = _spec(_int(0, 2**53), 0)


@message("pong")
class Pong(Message):
    n: int = _spec(_int(0, 2**53), 0)


MESSAGE_TYPES: dict[str, type[Message]] = dict(_REGISTRY)
OPERATIONS = (Add, Extend, Move, Delete, Clear, Undo, Redo)


# -- the codec


def encode(msg: Message) -> bytes:
    """One message as one frame (payload + terminator)."""
    if type(msg).TYPE not in MESSAGE_TYPES:
        raise LocalProtocolError(f"not a protocol message: {msg!r}")
    body = {"t": msg.TYPE}
    body.update(msg.to_wire())
    payload = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    if len(payload) > MAX_FRAME:
        raise LocalProtocolError(f"frame of {len(payload)} bytes exceeds MAX_FRAME ({MAX_FRAME})")
    return payload + TERMINATOR


def decode_frame(payload: bytes) -> Message:
    """One frame's payload (no terminator) as a typed message; raises only ProtocolError."""
    payload = payload.strip(b" \t\r\n")
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("bad_frame", "a frame must be ASCII JSON (escape other characters)")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
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
        raise ProtocolError("bad_field", f"{kind}: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class Codec:
    """Frames a byte stream into messages, h11-style.

    Feed bytes with :meth:`receive_data` (``b""`` when the peer closed), then pull messages with
    :meth:`next_message` or iterate :meth:`messages`. A bad frame raises :class:`ProtocolError` once
    and the stream goes on with the next frame; an oversized one is fatal.
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
    def pending(self) -> int:
        """Bytes received but not yet framed."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> None:
        if self._closed:
            raise LocalProtocolError("receive_data after the peer closed")
        if not data:
            self._closed = True
            return
        self._buf += data

    def next_message(self) -> Message | None:
        """The next complete message, or None when more bytes are needed."""
        if self._broken is not None:
            raise self._broken
        end = self._buf.find(TERMINATOR, max(0, self._searched - 1))
        if end < 0:
            self._searched = len(self._buf)
            if len(self._buf) > self.max_frame + 1:  # +1: half a terminator may be waiting
                self._buf.clear()
                self._broken = ProtocolError(
                    "frame_too_large", f"no terminator within MAX_FRAME ({self.max_frame})", fatal=True
                )
                raise self._broken
            if self._closed and self._buf.strip(b" \t\r\n"):
                self._buf.clear()
                raise ProtocolError("truncated", "the connection closed inside a frame")
            return None
        payload = bytes(self._buf[:end])
        del self._buf[: end + len(TERMINATOR)]
        self._searched = 0
        if end > self.max_frame:
            raise ProtocolError("frame_too_large", f"frame of {end} bytes exceeds {self.max_frame}")
        return decode_frame(payload)

    def messages(self) -> Iterator[Message]:
        """Every complete message now buffered (stops at the first error, which it raises)."""
        while (msg := self.next_message()) is not None:
            yield msg

    @staticmethod
    def send(msg: Message) -> bytes:
        return encode(msg)
