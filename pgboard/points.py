"""A stroke's points kept packed: x0, y0, x1, y1, ... as unsigned 16-bit integers in one array.

A board of 100,000 objects holds some 8 million points; as a tuple of ``(x, y)`` tuples each point is
a 56-byte tuple (~550 MiB for such a board, and as many objects for the garbage collector to walk),
decoded one by one. :class:`Points` keeps them in one ``array('H')`` (4 bytes a point), made from a
slice of the snapshot's coordinates (pgboard/protocol_snapshot.py) in one C copy, and behaves as the
tuple of pairs it stands for: ``len``, indexing (a pair), slicing (Points), iteration (pairs),
``+`` (Points), and equality and hashing equal to that tuple's, so every reader of ``obj.points``
(geometry, render, the board's undo) works unchanged; the hot ones read :attr:`coords` directly.
Board coordinates are 0..BOARD_W and 0..BOARD_H (the codec checks them), so 16 bits hold them.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from itertools import chain, islice
from operator import sub
from typing import Any, overload


class Points:
    """An immutable sequence of (x, y) pairs stored flat; see the module docstring."""

    __slots__ = ("coords", "_box", "_step")

    def __init__(self, coords: array[int]) -> None:
        self.coords = coords  # array('H'): x0, y0, x1, y1, ...; never changed once made
        self._box: tuple[int, int, int, int] | None = None
        self._step: int | None = None

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, int]]) -> Points:
        return cls(array("H", chain.from_iterable(pairs)))

    def __len__(self) -> int:
        return len(self.coords) >> 1

    def __iter__(self) -> Iterator[tuple[int, int]]:
        it = iter(self.coords)
        return zip(it, it, strict=False)  # an even count: pairs

    @overload
    def __getitem__(self, i: int) -> tuple[int, int]: ...

    @overload
    def __getitem__(self, i: slice) -> Points: ...

    def __getitem__(self, i: int | slice) -> tuple[int, int] | Points:
        c = self.coords
        if type(i) is slice:
            start, stop, step = i.indices(len(c) >> 1)
            if step == 1:
                return Points(c[2 * start : 2 * stop] if stop > start else array("H"))
            return Points.of(tuple(self)[i])
        n = len(c) >> 1
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("point index out of range")
        return (c[2 * i], c[2 * i + 1])

    def __add__(self, other: Any) -> Points:
        if type(other) is Points:
            return Points(self.coords + other.coords)
        if isinstance(other, tuple):
            return Points(self.coords + array("H", chain.from_iterable(other)))
        return NotImplemented

    def __radd__(self, other: Any) -> Points:
        if isinstance(other, tuple):
            return Points(array("H", chain.from_iterable(other)) + self.coords)
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if type(other) is Points:
            return self.coords == other.coords
        if isinstance(other, tuple):
            return len(other) == len(self) and tuple(self) == other
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash(tuple(self))  # equal to the tuple it stands for: equal hashes

    def __repr__(self) -> str:
        return f"Points({tuple(self)!r})"

    def box(self) -> tuple[int, int, int, int]:
        """(min x, min y, max x, max y), computed once. Sorting the coordinates (timsort: a stroke's
        are runs) is twice as fast here as min() and max() over an array, which compare generically."""
        box = self._box
        if box is None:
            c = self.coords
            xs, ys = sorted(c[0::2]), sorted(c[1::2])
            box = self._box = (xs[0], ys[0], xs[-1], ys[-1])
        return box

    def longest_step(self) -> int:
        """A bound on every segment's |dx| + |dy| (0 for one point), computed once, in C loops: the
        widest step across plus the tallest step down. Painting costs by segment length, and an
        ordinary stroke's steps are a few units: its cost is then its count of points (render.py)."""
        step = self._step
        if step is None:
            xs, ys = self.coords[0::2], self.coords[1::2]
            step = 0
            if len(xs) > 1:
                step = max(map(abs, map(sub, islice(xs, 1, None), xs)))
                step += max(map(abs, map(sub, islice(ys, 1, None), ys)))
            self._step = step
        return step
