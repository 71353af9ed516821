"""Whether the store can be written, said once in the server's log instead of once per refused write.

When the disk (or the database: SQLite's ``max_page_count``) is full, or the file turns read-only or
damaged under the running server (store_damage says what to do about each), every operation, chat line and
change of rights that users send fails to commit; each is refused with ``store_failed`` and nothing
else changes. The operator needs to hear it once, with what to fix: which file, SQLite's error, and
how much room its file system has left. Then the refusals are counted and said again at most every
REPORT_INTERVAL, and so is a write that succeeds again (a nearly full disk flaps: a short write may
still fit in a page that has room while the next long one does not).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable

from pgboard_server import lockorder
from pgboard_server.store_damage import what_to_do

log = logging.getLogger(__name__)

REPORT_INTERVAL = 300.0  # seconds between two error lines about a store that still cannot be written


class StoreHealth:
    """``failed(what, exc)`` after a write the store refused, ``ok()`` after one it kept."""

    def __init__(self, path: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = path
        self.clock = clock
        self._lock = lockorder.leaf("store health")
        self.failing = False  # the last write failed
        self.refused = 0  # writes refused since the last error line
        self._said_failed = -REPORT_INTERVAL  # when the last error line was logged
        self._said_ok = -REPORT_INTERVAL

    def failed(self, what: str, exc: sqlite3.Error) -> None:
        now = self.clock()
        with self._lock:
            self.failing = True
            self.refused += 1
            say = now - self._said_failed >= REPORT_INTERVAL
            if say:
                self._said_failed, refused, self.refused = now, self.refused, 0
        if not say:
            log.debug("store %s still cannot be written (%s): %s", self.path, what, exc)
            return
        name = getattr(exc, "sqlite_errorname", type(exc).__name__)
        log.error(
            "store %s cannot be written (%s, %s) while saving %s (%d refused since the last report); "
            "%s. To fix: %s. Every write it refuses is answered store_failed and shown to nobody",
            self.path,
            exc,
            name,
            what,
            refused,
            self._room_left(),
            what_to_do(exc).replace("FILE", self.path),
        )

    def ok(self) -> None:
        if not self.failing:  # the common case: one attribute read, no lock
            return
        now = self.clock()
        with self._lock:
            if not self.failing:
                return
            self.failing = False
            say = now - self._said_ok >= REPORT_INTERVAL
            if say:
                self._said_ok = now
        if say:
            log.warning("store %s could be written again", self.path)

    def _room_left(self) -> str:
        if self.path == ":memory:":
            return "the store is in memory"
        folder = os.path.dirname(os.path.abspath(self.path))
        try:
            usage = shutil.disk_usage(folder)
        except OSError as exc:
            return f"its file system could not be measured: {exc}"
        return f"its file system has {usage.free / 2**20:,.1f} MiB free of {usage.total / 2**20:,.0f} MiB"
