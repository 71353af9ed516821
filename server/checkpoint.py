"""The store's checkpoints: the write-ahead log copied into the database file from a thread of its own."""

from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger(__name__)


class Checkpointer:
    """Copies the write-ahead log into the database file from a thread and a connection of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold (every 1,000 pages,
    about every 1,000 operations), fsync included, while the committing thread holds the store's lock
    and its room's: in the benchmark those commits were the slowest 1% of every echo. A passive
    checkpoint never blocks a writer, so the commits that follow go on while it copies. The log stays
    bounded: a checkpoint is asked for every CHECKPOINT_COMMITS commits, and the writer starts the log
    over once a checkpoint has copied all of it.
    """

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._wake = threading.Event()
        self._stopping = False
        self._done = threading.Condition()
        self.passes = 0  # checkpoints run
        self._thread = threading.Thread(target=self._run, name="pgboard-checkpoint", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stopping:
                return
            try:
                self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:  # the next nudge tries again; the log only grows meanwhile
                log.warning("checkpoint failed: %s", exc)
            with self._done:
                self.passes += 1
                self._done.notify_all()

    def wait(self, passes: int, timeout: float) -> bool:
        """Wait until ``passes`` checkpoints have run (at most ``timeout`` seconds); True if they have."""
        with self._done:
            return self._done.wait_for(lambda: self.passes >= passes, timeout)

    def close(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join()
        self._db.close()
