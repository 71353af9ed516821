"""The cyclic garbage collector, collecting less often while a board catch-up comes in.

A board catch-up allocates millions of small objects (every point is a tuple) and keeps them all;
CPython's collector runs every 700 new container objects and walks the young ones each time, which
was 2 of the 6.5 seconds a 100,000-object join took to catch up. Nothing a catch-up builds makes a
reference cycle, so from the catch-up header to ``caught_up`` the collector waits for
CATCHUP_THRESHOLD new objects instead. It keeps running meanwhile (a catch-up that never ends costs
only a later collection), and the threshold goes back to what it was once the board is in.
"""

from __future__ import annotations

import gc

CATCHUP_THRESHOLD = 50_000  # new container objects between two young collections during a catch-up


class CatchUpCollector:
    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def begin(self) -> None:
        if self._saved is None:
            self._saved = gc.get_threshold()
            gc.set_threshold(max(CATCHUP_THRESHOLD, self._saved[0]), *self._saved[1:])

    def end(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
