"""Where the caret and the selection of a text field go on a line with right-to-left text (Arabic,
Hebrew, or a mix with left-to-right): the line is drawn in visual order (pgboard/scripts.py: UAX #9
through python-bidi, each run shaped by HarfBuzz), so a logical index is not a distance from the left.

:func:`layout` places every user-perceived character (pgboard/graphemes.py) on the line as drawn:
the characters in UAX #9's visual order (rule L2, by their resolved levels), each visual run of one
direction measured whole (so Arabic's joined forms are measured as drawn) and shared among its
characters in proportion to their own widths. Then a caret at a logical index stands at the leading
edge of the character after it (its right edge when that character is right-to-left), or at the
trailing edge of the last one at the end of the text; a selection is the set of characters it holds,
drawn as one band per visually contiguous piece; Left and Right move to the nearest caret position
in that direction on the screen, as the user sees it, whatever the logical order.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from .. import graphemes
from ..scripts import bidi_levels


@dataclass(frozen=True)
class Cell:
    """One character on the line as drawn: its logical [start, end), its x and width, its direction."""

    start: int
    end: int
    x: float
    w: float
    rtl: bool


@dataclass(frozen=True)
class VisualLine:
    text: str
    width: int
    base_rtl: bool  # the paragraph's direction (its first strong character's)
    cells: tuple[Cell, ...]  # in visual order, left to right
    caret_of: dict[int, float]  # logical caret index -> its x (every boundary of the text)
    ordered: tuple[tuple[float, int], ...]  # (x, index) of every caret position, left to right

    def caret_x(self, index: int) -> float:
        """The x (from the line's left) of a caret at logical ``index`` (inside a character: its
        start's)."""
        if index in self.caret_of:
            return self.caret_of[index]
        return self.caret_of[graphemes.snap(self.text, index)] if self.text else 0.0

    def carets(self) -> list[tuple[float, int]]:
        """(x, logical index) of every caret position, left to right."""
        return list(self.ordered)

    def index_at(self, x: float) -> int:
        """The caret position nearest to ``x`` (a click)."""
        i = bisect.bisect_left(self.ordered, (x, -1))
        near = self.ordered[max(0, i - 1) : i + 1]
        return min(near, key=lambda p: (abs(p[0] - x), p[1]))[1]

    def step(self, index: int, toward: int) -> int:
        """Left (``toward`` -1) or Right (+1) from the caret at ``index``, on the screen: the nearest
        caret position strictly that way (where none is, the caret stays)."""
        here = self.caret_x(index)
        if toward < 0:
            i = bisect.bisect_left(self.ordered, (here - 0.5, -1))
            return self.ordered[i - 1][1] if i > 0 else index
        i = bisect.bisect_right(self.ordered, (here + 0.5, len(self.text) + 1))
        return self.ordered[i][1] if i < len(self.ordered) else index

    def spans(self, start: int, end: int) -> list[tuple[float, float]]:
        """The selection [start, end) as bands (x0, x1) from the left: one per visually contiguous
        piece (a selection across a change of direction is two pieces on the screen)."""
        out: list[tuple[float, float]] = []
        for cell in self.cells:
            if start <= cell.start and cell.end <= end:
                if out and abs(out[-1][1] - cell.x) < 0.5:
                    out[-1] = (out[-1][0], cell.x + cell.w)
                else:
                    out.append((cell.x, cell.x + cell.w))
        return out


def layout(text: str, measure: Callable[[str], int]) -> VisualLine:
    """``text`` placed as drawn; ``measure(s)``: the drawn width of ``s`` (FontSet.width at a size)."""
    widths: dict[str, int] = {}  # a line repeats its letters: each measured once

    def own(piece: str) -> int:
        if piece not in widths:
            widths[piece] = max(measure(piece), 1)
        return widths[piece]

    levels = bidi_levels(text)
    bounds = graphemes.boundaries(text)
    logical = [(a, b, levels[a]) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    order = _visual_order([level for _, _, level in logical])
    cells: list[Cell] = []
    x = 0.0
    i = 0
    while i < len(order):  # a visual run: consecutive characters of one level
        j = i
        while j < len(order) and logical[order[j]][2] == logical[order[i]][2]:
            j += 1
        run = [logical[k] for k in order[i:j]]
        rtl = run[0][2] % 2 == 1
        pieces = [text[a:b] for a, b, _ in run]
        alone = [own(p) for p in pieces]
        whole = measure("".join(reversed(pieces)) if rtl else "".join(pieces))  # in logical order
        scale = whole / sum(alone)
        for (a, b, _), w in zip(run, alone, strict=True):
            cells.append(Cell(a, b, x, w * scale, rtl))
            x += w * scale
        i = j
    caret_of = {c.start: (c.x + c.w if c.rtl else c.x) for c in cells}
    if cells:  # the end of the text: after its last character, on that character's trailing side
        last = max(cells, key=lambda c: c.end)
        caret_of[len(text)] = last.x if last.rtl else last.x + last.w
    else:
        caret_of[0] = 0.0
    ordered = tuple(sorted((x, i) for i, x in caret_of.items()))
    return VisualLine(text, round(x), _base_rtl(levels), tuple(cells), caret_of, ordered)


def _base_rtl(levels: tuple[int, ...]) -> bool:
    """Whether the paragraph runs right to left: its lowest resolved level is odd."""
    return bool(levels) and min(levels) % 2 == 1


def _visual_order(levels: list[int]) -> list[int]:
    """UAX #9 rule L2 on a sequence of levels: the indices in visual order, left to right."""
    order = list(range(len(levels)))
    odd = [level for level in levels if level % 2]
    if not odd:
        return order
    for level in range(max(levels), min(odd) - 1, -1):
        i = 0
        while i < len(order):
            if levels[order[i]] >= level:
                j = i
                while j < len(order) and levels[order[j]] >= level:
                    j += 1
                order[i:j] = order[i:j][::-1]
                i = j
            else:
                i += 1
    return order
