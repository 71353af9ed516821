"""Pure geometry of board objects: boxes, hit tests and a spatial grid. No pygame.

Shared by the board model (hit tests for the eraser and drag, damage regions) and the canvas.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Iterator

from pgboard.points import Points
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject

Box = tuple[int, int, int, int]  # x0, y0, x1, y1, inclusive-exclusive, x0 <= x1 and y0 <= y1

TEXT_ADVANCE = 0.62  # average glyph width per unit of text size (Latin text, measured)
# Advances of printable ASCII (" " to "~") in tenths of the text size, rounded up: the wider of the
# client's fonts (WenQuanYi Micro Hei, pygame's default). "W" is 0.9, "i" 0.3: one average would
# leave the end of "WWWW" unhittable or make "iiii" hittable far to its right.
_ASCII_TENTHS = tuple(
    int(c)
    for c in "33476973336634346666666666336665977676577446598868666769666343656665664663353966664546585554646"
)
WIDE_ADVANCE = 1.0  # estimated width of any other character: CJK (李, あ, 한), emoji, Ж, ★
EMOJI_ADVANCE = 1.3  # and of symbols and emoji (U+2600 on): Noto Emoji, the emoji font pip installs,
# draws them 1.27 wide
TEXT_LINE = 1.25  # line height per unit of text size
TEXT_OVERHANG = 0.25  # how far below its last line a text may paint, per unit of size: the long
# descenders of Arabic and Devanagari (textcache.FALLBACK_OVERHANG)
GRID_CELL = 128  # board units per side of one spatial-grid cell


def shape_box(obj: BoardObject) -> Box:
    """The box a two-point shape is drawn in (unpadded). Square and circle get equal sides."""
    (x0, y0), (x1, y1) = obj.points[0], obj.points[-1]
    if obj.kind in ("square", "circle"):
        side = max(abs(x1 - x0), abs(y1 - y0))
        x1 = x0 + (side if x1 >= x0 else -side)
        y1 = y0 + (side if y1 >= y0 else -side)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _advance(ch: str) -> float:
    """Estimated glyph width in units of text size, erring wide: measured for ASCII (and letters
    built on it, as é on e), none for Latin accents, a full em for anything else (CJK, Cyrillic
    capitals, symbols, and the boxes a font draws for a script it lacks are all about that wide)."""
    if " " <= ch <= "~":
        return _ASCII_TENTHS[ord(ch) - 32] / 10
    if unicodedata.combining(ch) and ch < "\u0370":
        return 0.0  # accents on Latin letters; other scripts' marks are boxes when the font lacks them
    base = unicodedata.normalize("NFD", ch)[0]
    if " " <= base <= "~":
        return _ASCII_TENTHS[ord(base) - 32] / 10
    return EMOJI_ADVANCE if "\u2600" <= ch < "\u2800" or ch >= "\U0001f000" else WIDE_ADVANCE


def text_extent(obj: BoardObject) -> tuple[int, int]:
    lines = obj.text.split("\n")
    # each glyph's advance is rounded to whole pixels when rendered: up to half a pixel more each
    width = max(sum(_advance(ch) for ch in line) * obj.size + len(line) / 2 for line in lines)
    return int(math.ceil(width)) + 1, int(math.ceil((len(lines) * TEXT_LINE + TEXT_OVERHANG) * obj.size)) + 1


def bbox(obj: BoardObject) -> Box:
    """Everything the object paints, padded by half its stroke width (plus one for anti-aliasing)."""
    if obj.kind == "text":
        # cut at the board's edge, where nothing is shown: a valid text 2,000 lines tall at size 200
        # (~470,000 units) would otherwise be indexed in thousands of grid cells (81 of them: 310 MiB)
        x, y = obj.points[0]
        w, h = text_extent(obj)
        return (x, y, min(x + w, max(x + 1, BOARD_W)), min(y + h, max(y + 1, BOARD_H)))
    if obj.kind == "pencil":
        pts: object = obj.points
        if isinstance(pts, Points):  # packed (pgboard/points.py): C loops over its coordinates
            box = pts.box()
        else:
            xs, ys = zip(*obj.points, strict=True)
            box = (min(xs), min(ys), max(xs), max(ys))
    else:
        box = shape_box(obj)
    pad = obj.width // 2 + 2
    return (box[0] - pad, box[1] - pad, box[2] + pad + 1, box[3] + pad + 1)


def union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def intersects(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _segment_distance(px: float, py: float, a: tuple[int, int], b: tuple[int, int]) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def distance(obj: BoardObject, x: float, y: float, text_box: Box | None = None) -> float:
    """Distance from (x, y) to what the object paints (0 inside a text's box; ``text_box``: the
    text's measured box, when the caller has a font to measure it with, else the estimate)."""
    if obj.kind == "text":
        x0, y0, x1, y1 = bbox(obj) if text_box is None else text_box
        return math.hypot(max(x0 - x, 0, x - x1), max(y0 - y, 0, y - y1))
    if obj.kind in ("pencil", "line"):
        pts = obj.points
        if len(pts) == 1:
            return math.hypot(x - pts[0][0], y - pts[0][1])
        return min(_segment_distance(x, y, pts[i], pts[i + 1]) for i in range(len(pts) - 1))
    x0, y0, x1, y1 = shape_box(obj)
    if obj.kind in ("rect", "square"):
        corners = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
        return min(_segment_distance(x, y, corners[i], corners[(i + 1) % 4]) for i in range(4))
    # oval and circle: the distance along the ray from the centre, a good estimate for hit tests
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 0.5), max((y1 - y0) / 2, 0.5)
    ux, uy = (x - cx) / rx, (y - cy) / ry
    r = math.hypot(ux, uy)
    if r == 0:
        return min(rx, ry)
    return abs(r - 1) * math.hypot(ux / r * rx, uy / r * ry)


def touches(obj: BoardObject, x: float, y: float, tolerance: float, text_box: Box | None = None) -> bool:
    """Whether (x, y) is within ``tolerance`` of what the object paints: its stroke, half its width
    to each side, or a text's box (a text has no stroke, so its width does not count)."""
    reach = tolerance if obj.kind == "text" else tolerance + obj.width / 2
    return distance(obj, x, y, text_box) <= reach


class SpatialGrid:
    """Object ids by the grid cells their boxes overlap, so queries cost what is near, not the board."""

    def __init__(self, cell: int = GRID_CELL) -> None:
        self.cell = cell
        self._cells: dict[tuple[int, int], set[str]] = {}
        self._boxes: dict[str, Box] = {}

    def _cell_span(self, box: Box) -> tuple[range, range]:
        # a box of zero width or height still meets boxes that strictly contain its edge: it gets
        # the cell its edge lies in (with box[2] - 1 alone it would get none when on a cell border)
        c = self.cell
        return (
            range(box[0] // c, max(box[0], box[2] - 1) // c + 1),
            range(box[1] // c, max(box[1], box[3] - 1) // c + 1),
        )

    def _cell_range(self, box: Box) -> Iterator[tuple[int, int]]:
        xs, ys = self._cell_span(box)
        for cx in xs:
            for cy in ys:
                yield (cx, cy)

    def insert(self, oid: str, box: Box) -> Box | None:
        """Index ``oid`` under ``box``, replacing its old box (returned). A box that only grew (a pencil
        stroke being extended) costs the cells it newly covers, not all of them again."""
        old = self._boxes.get(oid)
        if old is not None:
            (oxs, oys), (nxs, nys) = self._cell_span(old), self._cell_span(box)
            if _covers(nxs, oxs) and _covers(nys, oys):
                self._boxes[oid] = box
                if (oxs, oys) != (nxs, nys):
                    for cx in nxs:
                        for cy in nys:
                            if cx not in oxs or cy not in oys:
                                self._add(cx, cy, oid)
                return old
            self.remove(oid)
        self._boxes[oid] = box
        cells = self._cells
        xs, ys = self._cell_span(box)
        for cx in xs:  # the board's hottest index loop: a late join places every object
            for cy in ys:
                bucket = cells.get((cx, cy))
                if bucket is None:
                    cells[(cx, cy)] = {oid}
                else:
                    bucket.add(oid)
        return old

    def _add(self, cx: int, cy: int, oid: str) -> None:
        bucket = self._cells.get((cx, cy))
        if bucket is None:
            self._cells[(cx, cy)] = {oid}
        else:
            bucket.add(oid)

    def remove(self, oid: str) -> Box | None:
        """Forget ``oid``; returns the box it had."""
        box = self._boxes.pop(oid, None)
        if box is None:
            return None
        for key in self._cell_range(box):
            bucket = self._cells.get(key)
            if bucket is not None:
                bucket.discard(oid)
                if not bucket:
                    del self._cells[key]
        return box

    def box(self, oid: str) -> Box | None:
        return self._boxes.get(oid)

    def query(self, box: Box) -> set[str]:
        """Ids whose boxes intersect ``box``."""
        found: set[str] = set()
        xs, ys = self._cell_span(box)
        if len(xs) * len(ys) > len(self._cells):
            # a box larger than what is stored (zoomed far out): test every box, not every empty cell
            return {oid for oid, b in self._boxes.items() if intersects(b, box)}
        for key in self._cell_range(box):
            for oid in self._cells.get(key, ()):
                if oid not in found and intersects(self._boxes[oid], box):
                    found.add(oid)
        return found

    def clear(self) -> None:
        self._cells.clear()
        self._boxes.clear()


def _covers(outer: range, inner: range) -> bool:
    return outer.start <= inner.start and inner.stop <= outer.stop


def points_box(points: Iterable[tuple[int, int]], pad: int = 0) -> Box:
    if isinstance(points, Points):
        x0, y0, x1, y1 = points.box()
        return (x0 - pad, y0 - pad, x1 + pad + 1, y1 + pad + 1)
    xs, ys = zip(*points, strict=True)
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad + 1, max(ys) + pad + 1)
