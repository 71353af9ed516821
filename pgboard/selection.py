"""A selection of board objects and the group changes made to it, as ONE ``batch`` each. Pure Python.

The select tool (pgboard/select_tool.py, key V) keeps which objects are selected; this module says
what a change to them sends. A move, a recolour, a new width and a resize *replace* the objects
(docs/PROTOCOL.md, "batch": put with the id of an object it removes; the object keeps its id and
author), so the whole change is one operation on the wire and one undo step, and the server checks
every object against the sender's rights. A duplicate and a paste add copies with fresh ids (the
sender's own, pgboard/ids.py); a delete removes. Only objects the user may edit are changed: the
others stay as they are (they may still be selected, copied and duplicated).

The clipboard holds the selection as a board file's JSON (pgboard/boardfile.py), so a copy pastes in
another room, in another pgboard window, or into a text editor and back. A paste is checked by the
rules the wire checks an object by (``BoardObject.from_wire``), bounded before it is parsed
(:data:`MAX_PASTE_CHARS`), and must fit one batch (:data:`GROUP_BYTES`).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence

from pgboard import boardfile, geometry
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_FRAME,
    MAX_TEXT_SIZE,
    MIN_TEXT_SIZE,
    Batch,
    BoardObject,
)

Box = geometry.Box

# Bytes of ids and objects one group change may carry: it is one batch, so one frame, less the
# batch's other fields (boardfile.BATCH_BYTES). A larger change is refused with a message, never cut
# into several operations (each would be its own undo step, and half of it could be refused).
GROUP_BYTES = boardfile.BATCH_BYTES
# The least bytes a point costs in a batch ("[0,0]," twice: removed object and replacement share an
# id, the put carries the points): lets a change of a huge selection be refused before encoding it.
MIN_POINT_BYTES = 6
# Characters of clipboard text a paste reads at most, before parsing anything: a paste is one batch
# (at most GROUP_BYTES of ASCII-escaped JSON), and the clipboard's JSON is not escaped (a CJK
# character is 1 character there, 6 bytes on the wire), so twice the frame is generous.
MAX_PASTE_CHARS = 2 * MAX_FRAME
DUPLICATE_OFFSET = 20  # board units right and down of the original where Ctrl+D puts the copy
PASTE_SHIFTS = 8  # times a paste moves by DUPLICATE_OFFSET to avoid landing exactly on its original
MIN_SIDE = 4  # board units: a resize never makes the selection's box narrower or lower than this


class GroupError(ValueError):
    """A group change that cannot be sent (too large), or a paste that is not pgboard objects."""


def group_box(objects: Iterable[BoardObject], text_box: Callable[[BoardObject], Box] | None = None) -> Box:
    """The box around ``objects`` as drawn (geometry.bbox; a text's extent by ``text_box``)."""
    box: Box | None = None
    for obj in objects:
        b = text_box(obj) if text_box is not None and obj.kind == "text" else geometry.bbox(obj)
        box = b if box is None else geometry.union(box, b)
    return box if box is not None else (0, 0, 0, 0)


def points_box(objects: Iterable[BoardObject]) -> Box:
    """The box around every point of ``objects``: what must stay on the board."""
    return geometry.points_box(p for obj in objects for p in obj.points)


def clamp_offset(objects: Sequence[BoardObject], dx: int, dy: int) -> tuple[int, int]:
    """(dx, dy) shortened so that every point of ``objects`` stays on the board (the server refuses
    points off it)."""
    if not objects:
        return (0, 0)
    x0, y0, x1, y1 = points_box(objects)  # x1, y1: one past the last point
    return (min(max(dx, -x0), BOARD_W - x1 + 1), min(max(dy, -y0), BOARD_H - y1 + 1))


def translated(obj: BoardObject, dx: int, dy: int) -> BoardObject:
    return dataclasses.replace(obj, points=tuple((x + dx, y + dy) for x, y in obj.points))


def _clamp(p: tuple[float, float]) -> tuple[int, int]:
    return (min(max(round(p[0]), 0), BOARD_W), min(max(round(p[1]), 0), BOARD_H))


def scaled(obj: BoardObject, anchor: tuple[float, float], sx: float, sy: float) -> BoardObject:
    """``obj`` scaled by (sx, sy) about ``anchor``: every point, and a text's size (by the mean of
    the two factors, within the text size limits). Stroke widths stay: a resize changes the shape."""
    ax, ay = anchor
    points = tuple(_clamp((ax + (x - ax) * sx, ay + (y - ay) * sy)) for x, y in obj.points)
    size = obj.size
    if obj.kind == "text":
        size = min(max(round(obj.size * (sx + sy) / 2), MIN_TEXT_SIZE), MAX_TEXT_SIZE)
    return dataclasses.replace(obj, points=points, size=size)


def scale_factors(box: Box, anchor: tuple[int, int], corner: tuple[int, int]) -> tuple[float, float]:
    """The factors that take ``box`` (held at ``anchor``, one of its corners) to reach ``corner``;
    never a flip, never smaller than MIN_SIDE."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    ax, ay = anchor
    sx = max(abs(corner[0] - ax), MIN_SIDE) / w if w > 0 else 1.0
    sy = max(abs(corner[1] - ay), MIN_SIDE) / h if h > 0 else 1.0
    return sx, sy


def restyled(obj: BoardObject, color: str | None = None, width: int | None = None) -> BoardObject:
    """``obj`` in ``color`` and/or ``width`` (a text has no stroke: its width stays)."""
    if color is not None:
        obj = dataclasses.replace(obj, color=color)
    if width is not None and obj.kind != "text":
        obj = dataclasses.replace(obj, width=width)
    return obj


def _check_cost(removed: Sequence[str], put: Sequence[BoardObject]) -> None:
    points = sum(len(o.points) for o in put)
    if points * MIN_POINT_BYTES > GROUP_BYTES:
        raise GroupError(f"the selection is too large to change at once ({points:,} points): select less")
    size = sum(len(i) + 3 for i in removed)
    size += sum(len(json.dumps(o.to_wire(), separators=(",", ":"))) + 1 for o in put)
    if size > GROUP_BYTES:
        raise GroupError(
            f"the selection is too large to change at once ({size:,} bytes, one operation carries "
            f"{GROUP_BYTES:,}): select less"
        )


def replacement(oid: str, changed: Sequence[BoardObject]) -> Batch:
    """ONE batch replacing each object by its changed self (same id: it keeps its author)."""
    removed = tuple(o.id for o in changed)
    put = tuple(dataclasses.replace(o, author="") for o in changed)
    _check_cost(removed, put)
    return Batch(oid=oid, removed=removed, put=put)


def removal(oid: str, ids: Sequence[str]) -> Batch:
    _check_cost(ids, ())
    return Batch(oid=oid, removed=tuple(ids))


def copies(oid: str, objects: Sequence[BoardObject], new_id: Callable[[], str], dx: int, dy: int) -> Batch:
    """ONE batch adding copies of ``objects`` moved by (dx, dy) (kept on the board), with fresh ids
    of the sender's: they are the sender's own objects."""
    dx, dy = clamp_offset(objects, dx, dy)
    put = tuple(dataclasses.replace(translated(o, dx, dy), id=new_id(), author="") for o in objects)
    _check_cost((), put)
    return Batch(oid=oid, put=put)


# -- the clipboard


def to_clipboard(objects: Iterable[BoardObject]) -> str:
    """The objects as a board file's JSON (their authors left out: a paste makes them the paster's)."""
    return boardfile.dumps(dataclasses.replace(o, author="") for o in objects)


def from_clipboard(text: str) -> list[BoardObject]:
    """The objects of a copied selection (or of a board file), checked by the wire's rules; raises
    GroupError saying what is wrong with anything else."""
    if len(text) > MAX_PASTE_CHARS:
        raise GroupError(
            f"the clipboard holds {len(text):,} characters: a paste takes at most {MAX_PASTE_CHARS:,}"
        )
    if not text.strip():
        raise GroupError("the clipboard is empty: copy a selection first (V, then Ctrl+C)")
    try:
        objects = boardfile.loads(text)
    except boardfile.BoardFileError as exc:
        raise GroupError(f"the clipboard does not hold pgboard objects ({exc})") from None
    if not objects:
        raise GroupError("the clipboard holds no objects")
    return objects


def paste_offset(objects: Sequence[BoardObject], taken: Callable[[BoardObject], bool]) -> tuple[int, int]:
    """Where a paste lands: where it was copied from, unless exactly there on this board are objects
    like the first one pasted (a paste into its own room), then DUPLICATE_OFFSET steps away."""
    dx = dy = 0
    for _ in range(PASTE_SHIFTS):
        if not taken(translated(objects[0], dx, dy)):
            break
        dx, dy = clamp_offset(objects, dx + DUPLICATE_OFFSET, dy + DUPLICATE_OFFSET)
    return dx, dy


def inside(box: Box, outer: Box) -> bool:
    """True if ``box`` lies wholly inside ``outer`` (how a selection box picks objects)."""
    return outer[0] <= box[0] and outer[1] <= box[1] and box[2] <= outer[2] and box[3] <= outer[3]


def normal_box(a: tuple[int, int], b: tuple[int, int]) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
