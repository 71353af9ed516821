"""The cyclic garbage collector while a board catch-up comes in: less often, never a full collection,
and what the catch-up built frozen at caught_up.

A board catch-up allocates millions of small objects (every point is a tuple) and keeps them all.
CPython's collector runs every 700 new container objects and walks the young ones each time (2 of the
6.5 seconds a 100,000-object join took to catch up), and now and then walks everything (a full
collection: 100 ms in one frame, the longest of the join). Nothing a catch-up builds makes a reference
cycle, so from the catch-up header to ``caught_up`` the collector waits for CATCHUP_THRESHOLD new
objects and makes no full collection; at ``caught_up`` every object then alive is frozen (gc.freeze:
no later full collection walks the board again) and the thresholds go back to what they were.

Frozen objects are still freed by reference counting when dropped (a board's objects hold no cycles);
only cyclic garbage alive at that moment would stay. The collector keeps running meanwhile, so a
catch-up that never ends costs a later collection, nothing more.
"""

from __future__ import annotations

import gc

CATCHUP_THRESHOLD = 50_000  # new container objects between two young collections during a catch-up
NO_FULL_COLLECTION = 1_000_000  # middle-generation collections before a full one, during a catch-up


class CatchUpCollector:
    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None

    def begin(self) -> None:
        if self._saved is None:
            self._saved = young, middle, _ = gc.get_threshold()
            gc.set_threshold(max(CATCHUP_THRESHOLD, young), middle, NO_FULL_COLLECTION)

    def end(self) -> None:
        if self._saved is not None:
            gc.freeze()
            gc.set_threshold(*self._saved)
            self._saved = None
