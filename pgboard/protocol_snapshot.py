"""The board snapshot: a compacted board (or a part of it) as one zlib blob, for big catch-ups.

A late joiner of a board of 100,000 objects got 100,000 ``obj`` frames, each decoded as JSON, its
fields checked one by one and its points unpacked from base64: about 5 of the 8 seconds such a join
took. A ``snapshot`` frame carries up to ``MAX_SNAPSHOT_RAW`` bytes of objects in a binary layout
(docs/PROTOCOL.md, "Snapshot"), compressed with zlib and sent as base64: the objects of one frame are
decoded with a few whole-array passes (C loops) and one short loop per object. The same blob is what
the client's board cache keeps on disk (pgboard/boardcache.py).

Decoding trusts nothing: the blob is inflated at most ``MAX_SNAPSHOT_RAW`` bytes (a zip bomb is refused
``bad_field`` without inflating it whole), every length is checked against the bytes present, and every
object by the rules an ``obj`` frame is checked by (pgboard/protocol.py ``BoardObject.from_wire``).
Errors are :class:`pgboard.protocol.ProtocolError` (``bad_field``, not fatal) from the codec, and
:class:`SnapshotError` (an ``Invalid``, what the codec turns into that) from :func:`decode_blob`.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any

from pgboard import wire_fields
from pgboard.points import Points
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_FRAME,
    MAX_ID,
    MAX_POINTS,
    MAX_TEXT,
    MAX_TEXT_SIZE,
    MAX_WIDTH,
    MIN_TEXT_SIZE,
    OBJECT_KINDS,
    TERMINATOR,
    TWO_POINT_KINDS,
    BoardObject,
    Message,
    message,
)
from pgboard.protocol_base import _spec

# The inflated size of one snapshot blob. A frame's payload is at most MAX_FRAME bytes of JSON, the
# blob in it base64 (4 bytes for 3) and zlib adds at most ~0.1% to what it cannot compress: 180 KiB
# of objects always fit one frame, whatever they hold. A receiver inflates no more than this (a zip
# bomb of a few KiB that would inflate to gigabytes is refused after MAX_SNAPSHOT_RAW bytes).
MAX_SNAPSHOT_RAW = 180 * 1024
assert MAX_SNAPSHOT_RAW * 1.002 * 4 / 3 + 1024 < MAX_FRAME
# Objects in one blob: the smallest object takes 15 bytes of the blob (a two-point shape with
# one-character id and no author), so MAX_SNAPSHOT_RAW bounds this too; named to say so.
MAX_SNAPSHOT_OBJECTS = MAX_SNAPSHOT_RAW // 15
SNAPSHOT_LEVEL = (
    1  # zlib level: 23.7 MB for a 100,000-object board against 23.2 at level 6, in 40% of the time
)
MAGIC = b"PGS1"
_HEADER = struct.Struct("<4sIII")  # magic, objects, coordinates, bytes of strings
# per object: kind (index into OBJECT_KINDS), width, text size, points, colour 0xRRGGBB
_PER_OBJECT = 1 + 1 + 1 + 2 + 4
_ID_RE = re.compile(rf"[A-Za-z0-9_.:\-]{{1,{MAX_ID}}}\Z")
_NOT_TEXT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
_KIND = {k: i for i, k in enumerate(OBJECT_KINDS)}
_COLORS: dict[int, str] = {}  # 0xRRGGBB -> "#rrggbb", as decoded (a board holds few colours)
MAX_COLORS_REMEMBERED = 4096  # past it the memo starts again: 16 million colours cannot grow it


class SnapshotError(wire_fields.Invalid):
    """A snapshot blob that breaks a rule; the message says which."""


def _le(kind: str, data: Iterable[int] | bytes | memoryview) -> array[int]:
    a = array(kind)
    if isinstance(data, (bytes, memoryview)):
        a.frombytes(data)
        if sys.byteorder == "big":
            a.byteswap()
    else:
        a.extend(data)
    return a


def _bytes_le(a: array[int]) -> bytes:
    if sys.byteorder == "big":
        a = array(a.typecode, a)
        a.byteswap()
    return a.tobytes()


def raw_size(obj: BoardObject) -> int:
    """What ``obj`` takes in an inflated blob."""
    n = _PER_OBJECT + 4 * len(obj.points) + 3
    return n + len(obj.id) + len(obj.author.encode("utf-8")) + len(obj.text.encode("utf-8", "surrogatepass"))


def pack_blob(objects: Sequence[BoardObject]) -> bytes:
    """The inflated blob of ``objects`` (checked parts: a board's, as ``encode_obj`` trusts them)."""
    kinds = bytes(_KIND[o.kind] for o in objects)
    widths = bytes(o.width for o in objects)
    sizes = bytes(o.size for o in objects)
    counts = _le("H", [len(o.points) for o in objects])
    colors = _le("I", [int(o.color[1:], 16) for o in objects])
    coords = array("H")
    for o in objects:
        pts: object = o.points
        coords.extend(pts.coords if isinstance(pts, Points) else chain.from_iterable(o.points))
    if sys.byteorder == "big":
        coords.byteswap()
    strings = "\0".join(chain.from_iterable((o.id, o.author, o.text) for o in objects)).encode("utf-8")
    head = _HEADER.pack(MAGIC, len(objects), len(coords), len(strings))
    return b"".join(
        (head, kinds, widths, sizes, _bytes_le(counts), _bytes_le(colors), coords.tobytes(), strings)
    )


def chunks(objects: Sequence[BoardObject], limit: int = MAX_SNAPSHOT_RAW) -> Iterator[Sequence[BoardObject]]:
    """``objects`` cut, in order, into runs whose blobs fit ``limit`` bytes inflated."""
    start, size = 0, _HEADER.size
    for i, obj in enumerate(objects):
        n = raw_size(obj)
        if size + n > limit and i > start:
            yield objects[start:i]
            start, size = i, _HEADER.size
        size += n
    if start < len(objects):
        yield objects[start:]


def compress(objects: Sequence[BoardObject]) -> bytes:
    return zlib.compress(pack_blob(objects), SNAPSHOT_LEVEL)


def inflate(data: bytes, limit: int = MAX_SNAPSHOT_RAW) -> bytes:
    """``data`` inflated, refused when it is not one whole zlib stream or inflates past ``limit``
    (only ``limit`` + 1 bytes are ever produced: a zip bomb costs what it is, not what it claims)."""
    d = zlib.decompressobj()
    try:
        raw = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SnapshotError(f"not a zlib stream ({exc})") from None
    if len(raw) > limit or d.unconsumed_tail:
        raise SnapshotError(f"inflates to more than MAX_SNAPSHOT_RAW ({limit} bytes)")
    if not d.eof or d.unused_data:
        raise SnapshotError("not one whole zlib stream")
    return raw


def decode_blob(raw: bytes) -> list[BoardObject]:
    """The objects of an inflated blob, every field checked as an ``obj`` frame's; raises SnapshotError."""
    if len(raw) < _HEADER.size:
        raise SnapshotError("shorter than its header")
    magic, n, ncoords, nstrings = _HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise SnapshotError("not a pgboard snapshot (bad magic)")
    if n > MAX_SNAPSHOT_OBJECTS:
        raise SnapshotError(f"more than MAX_SNAPSHOT_OBJECTS ({MAX_SNAPSHOT_OBJECTS}) objects")
    if _HEADER.size + n * _PER_OBJECT + 2 * ncoords + nstrings != len(raw):
        raise SnapshotError("its lengths do not add up to its size")
    view = memoryview(raw)
    at = _HEADER.size
    kinds, widths, sizes = raw[at : at + n], raw[at + n : at + 2 * n], raw[at + 2 * n : at + 3 * n]
    at += 3 * n
    counts = _le("H", view[at : at + 2 * n])
    at += 2 * n
    colors = _le("I", view[at : at + 4 * n])
    at += 4 * n
    coords = _le("H", view[at : at + 2 * ncoords])
    at += 2 * ncoords
    try:
        strings = bytes(view[at:]).decode("utf-8").split("\0")
    except UnicodeDecodeError:
        raise SnapshotError("its strings are not UTF-8") from None
    if n == 0:
        if ncoords or nstrings:
            raise SnapshotError("its lengths do not add up to its size")
        return []
    # whole-array checks (C loops), then one short loop per object
    if max(kinds) >= len(OBJECT_KINDS):
        raise SnapshotError("an object of an unknown kind")
    if min(widths) < 1 or max(widths) > MAX_WIDTH:
        raise SnapshotError(f"width: expected an integer in [1, {MAX_WIDTH}]")
    if min(sizes) < MIN_TEXT_SIZE or max(sizes) > MAX_TEXT_SIZE:
        raise SnapshotError(f"size: expected an integer in [{MIN_TEXT_SIZE}, {MAX_TEXT_SIZE}]")
    if min(counts) < 1 or max(counts) > MAX_POINTS:
        raise SnapshotError(f"points: expected 1-{MAX_POINTS} points")
    if 2 * sum(counts) != ncoords:
        raise SnapshotError("its point counts do not add up to its coordinates")
    if max(colors) > 0xFFFFFF:
        raise SnapshotError("color: expected #rrggbb")
    if len(strings) != 3 * n:
        raise SnapshotError("expected an id, an author and a text for every object")
    at = 0  # where the object's coordinates begin
    out: list[BoardObject] = []
    append, new, setf = out.append, object.__new__, object.__setattr__
    id_ok, bad_text, colors_seen = _ID_RE.match, _NOT_TEXT_RE.search, _COLORS
    two = {_KIND[k] for k in TWO_POINT_KINDS}
    text_kind = _KIND["text"]
    for i in range(n):
        oid, author, text = strings[3 * i], strings[3 * i + 1], strings[3 * i + 2]
        k, count = kinds[i], counts[i]
        if not id_ok(oid):
            raise SnapshotError(f"id: expected an id of 1-{MAX_ID} characters from A-Z a-z 0-9 _ . : -")
        if len(author) > MAX_ID or len(text) > MAX_TEXT or bad_text(author) or bad_text(text):
            raise SnapshotError("author or text: too long, or not text")
        if k in two and count != 2:
            raise SnapshotError(f"a {OBJECT_KINDS[k]} has exactly 2 points")
        if k == text_kind and (count != 1 or not text):
            raise SnapshotError("a text object has 1 point and a non-empty text")
        rgb = colors[i]
        color = colors_seen.get(rgb)
        if color is None:
            if len(colors_seen) >= MAX_COLORS_REMEMBERED:
                colors_seen.clear()
            color = colors_seen[rgb] = f"#{rgb:06x}"
        # a frozen dataclass's __init__ sets each field through object.__setattr__ anyway; this is the
        # same, without the call and default handling, for the 100,000 objects of a big board
        obj = new(BoardObject)
        setf(obj, "id", oid)
        setf(obj, "kind", OBJECT_KINDS[k])
        pts = Points(coords[at : at + 2 * count])  # one copy, kept packed (points.py)
        at += 2 * count
        _, _, x1, y1 = pts.box()  # kept: the board's index asks for it next
        if x1 > BOARD_W or y1 > BOARD_H:
            raise SnapshotError(f"expected integer coordinates within the board (0..{BOARD_W}, 0..{BOARD_H})")
        setf(obj, "points", pts)
        setf(obj, "color", color)
        setf(obj, "width", widths[i])
        setf(obj, "text", text)
        setf(obj, "size", sizes[i])
        setf(obj, "author", author)
        append(obj)
    return out


def _objects(v: Any) -> tuple[BoardObject, ...]:
    """The ``objects`` field: base64 of one zlib blob."""
    if type(v) is not str or len(v) > MAX_FRAME:
        raise SnapshotError("expected a base64 string")
    try:
        data = base64.b64decode(v, validate=True)
    except (binascii.Error, ValueError):
        raise SnapshotError("not base64") from None
    return tuple(decode_blob(inflate(data)))


@message("snapshot")
class Snapshot(Message):
    """Server -> client, during a board catch-up asked with ``join {snapshot: true}``: some objects of
    the compacted board, bottom first, in place of that many ``obj`` frames (the catch-up's count
    counts objects)."""

    objects: tuple[BoardObject, ...] = _spec(_objects, ())

    def to_wire(self) -> dict[str, Any]:
        return {"objects": base64.b64encode(compress(self.objects)).decode("ascii")} if self.objects else {}

    @classmethod
    def from_wire(cls, data: Any) -> Snapshot:
        if type(data) is not dict:
            raise SnapshotError("expected a JSON object")
        return cls(_objects(data["objects"])) if "objects" in data else cls()


def encode_snapshots(objects: Sequence[BoardObject]) -> Iterator[bytes]:
    """The ``snapshot`` frames of a board catch-up (made of checked parts, as ``encode_obj``)."""
    for part in chunks(objects):
        data = base64.b64encode(compress(part)).decode("ascii")
        payload = b'{"t":"snapshot","objects":"' + data.encode("ascii") + b'"}'
        yield payload + TERMINATOR


