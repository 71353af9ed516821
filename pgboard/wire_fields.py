"""Field validators for the wire format: how one decoded JSON value becomes one checked Python value.

Split out of pgboard/protocol.py so the message definitions stay readable. Each validator takes the
value ``json.loads`` produced and returns the Python value (lists become tuples) or raises
:class:`Invalid`; protocol.py turns that into a ProtocolError (decoding) or a LocalProtocolError
(encoding). The limits themselves live in protocol.py and are passed in. Pure Python.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import functools
import re
import struct
import sys
from array import array
from collections.abc import Callable, Sequence
from dataclasses import field
from itertools import chain
from typing import Any

from pgboard.points import Points

Validator = Callable[[Any], Any]

# Refused in any text field: lone surrogates (valid in a Python str and in JSON "\ud800", but not
# Unicode text: storing them in SQLite or rendering them fails later, far from the frame that carried
# them) and control characters but tab, newline and carriage return (a NUL makes pygame's font
# renderer raise, so one chat line or text object could crash every client in the room).
_NOT_TEXT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


class Invalid(Exception):
    """A wire value that breaks its field's rule; the message says which rule."""


def int_in(lo: int, hi: int) -> Validator:
    def check(v: Any) -> int:
        if type(v) is not int or not lo <= v <= hi:
            raise Invalid(f"expected an integer in [{lo}, {hi}]")
        return v

    return check


def number_in(lo: float, hi: float) -> Validator:
    """An integer or a finite decimal number (``0.25``) in [lo, hi]; never a boolean."""

    def check(v: Any) -> float:
        if type(v) not in (int, float) or not lo <= v <= hi:  # NaN and infinities fail the range
            raise Invalid(f"expected a number in [{lo}, {hi}]")
        number: float = v
        return number

    return check


def opt_int_in(lo: int, hi: int) -> Validator:
    inner = int_in(lo, hi)
    return lambda v: None if v is None else inner(v)


def text(max_len: int) -> Validator:
    def check(v: Any) -> str:
        if type(v) is not str or len(v) > max_len:
            raise Invalid(f"expected a string of at most {max_len} characters")
        if _NOT_TEXT_RE.search(v):
            raise Invalid("expected text (no control characters but tab and newline, no lone surrogates)")
        return v

    return check


def choice(options: tuple[str, ...]) -> Validator:
    def check(v: Any) -> str:
        if type(v) is not str or v not in options:
            raise Invalid(f"expected one of {', '.join(options)}")
        return v

    return check


def boolean(v: Any) -> bool:
    if type(v) is not bool:
        raise Invalid("expected true or false")
    return v


def ident(max_len: int) -> Validator:
    pattern = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{max_len}}}\Z")

    def check(v: Any) -> str:
        if type(v) is not str or not pattern.match(v):
            raise Invalid(f"expected an id of 1-{max_len} characters from A-Z a-z 0-9 _ . : -")
        return v

    return check


def opt_ident(max_len: int) -> Validator:
    inner = ident(max_len)
    return lambda v: "" if v == "" else inner(v)


_COLOR_RE = re.compile(r"#[0-9a-f]{6}\Z")


def color(v: Any) -> str:
    if type(v) is not str or not _COLOR_RE.match(v):
        raise Invalid("expected a colour #rrggbb (lower-case hex)")
    return v


# JSON arrays decode as lists; the messages we build ourselves hold tuples (encode checks those)
_ARRAYS = frozenset({list, tuple})


def point(width: int, height: int) -> Validator:
    def check(v: Any) -> tuple[int, int]:
        if type(v) not in _ARRAYS or len(v) != 2:
            raise Invalid("expected a point [x, y]")
        x, y = v
        if type(x) is not int or type(y) is not int or not (0 <= x <= width and 0 <= y <= height):
            raise Invalid(f"expected integer coordinates within the board (0..{width}, 0..{height})")
        return (x, y)

    return check


def pack_points(points: Sequence[tuple[int, int]]) -> str:
    """The packed form of a list of points: base64 of their coordinates x0, y0, x1, y1, ... as
    unsigned 16-bit little-endian integers (a board coordinate fits). About half the JSON list's size,
    and decoded by C loops: a late join of a big board receives millions of points."""
    if isinstance(points, Points):
        return base64.b64encode(_little_endian(points.coords)).decode("ascii")
    coords = tuple(chain.from_iterable(points))
    return base64.b64encode(struct.pack(f"<{len(coords)}H", *coords)).decode("ascii")


def _little_endian(coords: array[int]) -> bytes:
    if sys.byteorder == "big":
        coords = array("H", coords)
        coords.byteswap()
    return coords.tobytes()


def unpack_points(v: str, width: int, height: int, max_points: int) -> tuple[tuple[int, int], ...]:
    try:
        raw = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("packed points: not base64") from None
    if len(raw) % 4 or not 1 <= len(raw) // 4 <= max_points:
        raise Invalid(f"packed points: expected 1-{max_points} points of two 16-bit coordinates")
    coords = struct.unpack(f"<{len(raw) // 2}H", raw)
    if max(coords[0::2]) > width or max(coords[1::2]) > height:
        raise Invalid(f"expected integer coordinates within the board (0..{width}, 0..{height})")
    # every coordinate the same int object per value, not one new object each: a late join of a
    # 100,000-object board keeps 15 million of them (~420 MB less, for 4 us more per 77-point stroke)
    pairs = map(_shared_ints(max(width, height)).__getitem__, coords)
    return tuple(zip(pairs, pairs, strict=True))  # x0, y0, x1, y1, ... taken two at a time


@functools.cache
def shared_ints(top: int) -> tuple[int, ...]:
    """The ints 0..top, one object per value, shared by every decoded packed point and every point
    the board shifts (pgboard/board.py): a coordinate above 256 is otherwise a new 28-byte int each."""
    return tuple(range(top + 1))


_shared_ints = shared_ints


def points(width: int, height: int, max_points: int) -> Validator:
    """A list of points, checked with whole-list passes (C loops: a late join decodes millions of
    points), and the first bad point named with :func:`point`'s error when there is one; or their
    packed form (:func:`pack_points`), a string."""
    one = point(width, height)
    just_tuples, just_ints, pairs = {tuple}, {int}, {2}

    def check(v: Any) -> tuple[tuple[int, int], ...]:
        if type(v) is str:
            return unpack_points(v, width, height, max_points)
        if type(v) not in _ARRAYS or not 1 <= len(v) <= max_points:
            raise Invalid(f"expected a list of 1-{max_points} points (or their packed form)")
        kinds = set(map(type, v))
        if kinds <= _ARRAYS and set(map(len, v)) == pairs:
            flat = list(chain.from_iterable(v))
            if set(map(type, flat)) == just_ints:
                xs, ys = flat[0::2], flat[1::2]
                if min(xs) >= 0 and max(xs) <= width and min(ys) >= 0 and max(ys) <= height:
                    if type(v) is tuple and kinds == just_tuples:
                        return v  # already what a decode makes
                    return tuple(map(tuple, v))
        return tuple(one(p) for p in v)  # raises, naming what is wrong

    return check


def tuple_of(item: Validator, max_len: int) -> Validator:
    def check(v: Any) -> tuple[Any, ...]:
        if type(v) not in _ARRAYS or len(v) > max_len:
            raise Invalid(f"expected a list of at most {max_len} items")
        return tuple(item(x) for x in v)

    return check


def spec(validator: Validator, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that knows how to validate its wire value."""
    if default is dataclasses.MISSING:
        return field(metadata={"v": validator})
    return field(default=default, metadata={"v": validator})


_TABLES: dict[type, tuple[tuple[str, Validator, Any], ...]] = {}


def table(cls: type) -> tuple[tuple[str, Validator, Any], ...]:
    """(name, validator, default) of each field of a wire dataclass, looked up once per class."""
    found = _TABLES.get(cls)
    if found is None:
        found = _TABLES[cls] = tuple((f.name, f.metadata["v"], f.default) for f in dataclasses.fields(cls))
    return found


def fields_from_wire(cls: type, data: Any) -> Any:
    """An instance of the dataclass ``cls`` from a JSON object, every field validated."""
    if type(data) is not dict:
        raise Invalid("expected a JSON object")
    kwargs: dict[str, Any] = {}
    for name, validator, default in table(cls):
        if name in data:
            try:
                kwargs[name] = validator(data[name])
            except Invalid as exc:
                raise Invalid(f"{name}: {exc}") from None
        elif default is dataclasses.MISSING:
            raise Invalid(f"missing field {name!r}")
    return cls(**kwargs)


def _to_wire(value: Any) -> Any:
    """JSON-ready: records become dicts; tuples of scalars (or of tuples of them, as points are) stay
    tuples, which json writes as arrays. A tuple holds one kind of item, so its first tells."""
    if isinstance(value, WireRecord):
        return value.to_wire()
    if type(value) is Points:  # kept packed in memory (pgboard/points.py); pairs on the wire
        return tuple(value)
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], WireRecord):
        return [v.to_wire() for v in value]
    return value


class WireRecord:
    """Mixin for dataclasses that travel as JSON objects: validation in, plain JSON out."""

    @classmethod
    def from_wire(cls, data: Any) -> Any:
        return fields_from_wire(cls, data)

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, _, default in table(type(self)):
            value = getattr(self, name)
            if default is not dataclasses.MISSING and value == default:
                continue  # defaults are left out to keep frames short and readable
            out[name] = _to_wire(value)
        return out
