"""The client session's catch-up bookkeeping (sans-IO): progress for the status bar, the pairing of
``CatchUpStarted`` and ``CatchUpFinished`` (every catch-up ends exactly once: caught_up, or ``aborted``
when the link drops or a second header comes first), and what the user drew after a caught_up that the
view has not applied yet (not in its ``redraw`` list, maybe even confirmed before the view installs the
board: the view takes it with ``applied()``)."""

from __future__ import annotations

from collections import deque

from pgboard.protocol import CatchUp, CaughtUp
from pgboard.session_types import CatchUpFinished, CatchUpStarted, Event, Operation


class CatchUps:
    def __init__(self, events: deque[Event]) -> None:
        self.events = events  # the session's
        self.progress: tuple[int, int] | None = None  # (received, total) while one comes in
        self._open = False  # a CatchUpStarted is out and its CatchUpFinished not yet
        self._unapplied = 0  # CatchUpFinished passed on that the view has not applied yet
        self._late: list[Operation] = []  # drawn since the last of them

    def welcomed(self) -> None:
        self.progress = (0, 0)

    def header(self, msg: CatchUp) -> None:
        self.progress = (0, msg.count)
        if self._open:  # a second header without caught_up: the first one ends here
            self.events.append(CatchUpFinished(None))
        self._open = True
        self.events.append(CatchUpStarted(msg))

    def count(self, n: int = 1) -> None:
        """``n`` objects (a snapshot frame's) or one operation of the catch-up arrived."""
        if self.progress is not None:
            done, total = self.progress
            self.progress = (done + n, total)

    def caught_up(self, msg: CaughtUp, redraw: tuple[Operation, ...]) -> None:
        if not self._open:  # no header came (never from our server): an empty one, so they pair
            self.events.append(CatchUpStarted(CatchUp(0, "ops")))
        self._open = False
        self.progress = None
        self._unapplied += 1
        self._late = []
        self.events.append(CatchUpFinished(msg, redraw))

    def link_lost(self) -> None:
        self.progress = None
        if self._open:
            self._open = False
            self.events.append(CatchUpFinished(None))

    def drawn(self, op: Operation) -> None:
        """The user drew ``op`` (optimistically)."""
        if self._unapplied:
            self._late.append(op)

    def applied(self) -> list[Operation]:
        """The view installed a caught-up board: what was drawn since, to draw again over it."""
        self._unapplied = max(0, self._unapplied - 1)
        late = self._late
        if not self._unapplied:
            self._late = []
        return list(late)
