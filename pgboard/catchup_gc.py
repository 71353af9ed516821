"""The cyclic garbage collector while a board catch-up comes in: less often, never a full collection,
and what the catch-up built frozen at caught_up.

A board catch-up allocates millions of small objects (every point is a tuple) and keeps them all.
CPython's collector runs every 700 new container objects and walks the young ones each time (2 of the
6.5 seconds a 100,000-object join took to catch up), and now and then walks everything (a full
collection: 100 ms in one frame, the longest of the join). Nothing a catch-up builds makes a reference
cycle, so from the catch-up header to ``caught_up`` the collector waits for CATCHUP_THRESHOLD new
objects and makes no full collection; at ``caught_up`` every object then alive is frozen (gc.freeze:
no later full collection walks the board again) and the thresholds go back to what they were.

The session pairs every catch-up header with an end (pgboard/client_session.py ``CatchUpFinished``,
``aborted`` when the link drops first) and the app closes the view it leaves (``RoomView.close``), so
the thresholds always come back.

Frozen objects are still freed by reference counting when dropped (a board's objects hold no cycles);
only cyclic garbage alive at that moment would stay. The collector keeps running meanwhile.
"""

from __future__ import annotations

import gc

CATCHUP_THRESHOLD = 50_000  # new container objects between two young collections during a catch-up
NO_FULL_COLLECTION = 1_000_000  # middle-generation collections before a full one, during a catch-up


_active = 0  # collectors between begin and end, in this process (two rooms may catch up at once)
_saved: tuple[int, int, int] | None = None  # the thresholds before the first of them began


class CatchUpCollector:
    """One catch-up's hold on the process-wide collector: ``begin`` at the catch-up header, ``end`` at
    its end, whichever way it ends (caught_up; the link dropped, ``CatchUpFinished.aborted``; the app
    left the room, ``RoomView.close``). The thresholds go back when the last active one ends."""

    def __init__(self) -> None:
        self.active = False

    def begin(self) -> None:
        global _active, _saved
        if self.active:
            return
        self.active = True
        _active += 1
        if _saved is None:
            _saved = young, middle, _ = gc.get_threshold()
            gc.set_threshold(max(CATCHUP_THRESHOLD, young), middle, NO_FULL_COLLECTION)

    def end(self, *, freeze: bool = True) -> None:
        """``freeze``: a board came in whole, and stays: no later full collection walks it again."""
        global _active, _saved
        if not self.active:
            return
        self.active = False
        _active -= 1
        if freeze:
            gc.freeze()
        if _active == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None
