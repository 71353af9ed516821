"""The ground of the wire protocol (pgboard/protocol.py is its one public face): the limits every
frame is checked against, the two error types, the field validators bound to those limits, the board's
object, and the message base with its registry. No sockets, clock, threads or pygame.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast, dataclass_transform

from pgboard import wire_fields

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


# -- field validators (pgboard/wire_fields.py), bound to this protocol's limits

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


# every message type by its wire name: the registry the ``message`` decorator fills, here and in the
# protocol_* modules protocol.py imports at its end, so the codec knows them all
MESSAGE_TYPES: dict[str, type[Message]] = {}


class Sequenced(Message):
    """The base of the board's operations (protocol.OPERATIONS): sequenced, logged, echoed and undoable;
    the codec names a refused one's ``oid`` so that its sender can drop it."""


_M = TypeVar("_M", bound=type)


@dataclass_transform(frozen_default=True)
def message(type_name: str) -> Callable[[_M], _M]:
    """Class decorator: a frozen dataclass registered under its wire type name. (Marked as a
    dataclass transform so type checkers see the fields, the constructor and ``replace``.)"""

    def register(cls: _M) -> _M:
        cls.TYPE = type_name  # type: ignore[attr-defined]
        made = cast(_M, dataclass(frozen=True, slots=True)(cls))
        MESSAGE_TYPES[type_name] = made
        return made

    return register


_seq = _int(0, 2**53)
_opt_seq = _opt_int(0, 2**53)
_objects = _tuple_of(BoardObject.from_wire, 100_000)
_ids = _tuple_of(_ident, 100_000)
_users = _tuple_of(_str(MAX_ID), MAX_USERS_LISTED)  # author ids
