"""The embedded store: each room's operation log and chat lines in one SQLite file (WAL mode).

An operation is committed before the server echoes it, so whatever a client saw echoed survives a crash
of the server process (SIGKILL). One connection serves every thread, behind a lock: a commit in WAL
mode with synchronous=NORMAL is an append to the log file, well under a millisecond.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

MEMORY = ":memory:"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    echo TEXT NOT NULL,          -- the echo frame's JSON payload, exactly as sent
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    line TEXT NOT NULL           -- the chat frame's JSON payload (history flag unset)
);
CREATE INDEX IF NOT EXISTS chat_by_room ON chat (room, id);
"""


def default_db_path() -> Path:
    """~/.local/share/pgboard/pgboard.sqlite3 (or under $XDG_DATA_HOME)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "pgboard" / "pgboard.sqlite3"


class Store:
    """Room logs in SQLite. Thread-safe: every call takes the store's lock."""

    def __init__(self, path: str | os.PathLike[str] = MEMORY) -> None:
        self.path = str(path)
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        if self.path != MEMORY:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def append_op(self, room: str, seq: int, echo: str) -> None:
        """Commit one echoed operation (autocommit: the INSERT is its own transaction)."""
        with self._lock:
            self._db.execute("INSERT INTO ops (room, seq, echo) VALUES (?, ?, ?)", (room, seq, echo))

    def append_chat(self, room: str, line: str) -> None:
        with self._lock:
            self._db.execute("INSERT INTO chat (room, line) VALUES (?, ?)", (room, line))

    def rooms(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT room FROM ops UNION SELECT DISTINCT room FROM chat")
            return sorted(r[0] for r in rows)

    def ops(self, room: str, after: int = 0, upto: int | None = None, chunk: int = 2000) -> Iterator[str]:
        """The room's echo payloads with after < seq <= upto, in order, read ``chunk`` rows at a time
        (the lock is held per chunk only, so others keep committing while a catch-up streams)."""
        last = after
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT seq, echo FROM ops WHERE room = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                    (room, last, upto if upto is not None else 2**62, chunk),
                ).fetchall()
            yield from (echo for _, echo in rows)
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def recent_chat(self, room: str, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT line FROM chat WHERE room = ? ORDER BY id DESC LIMIT ?", (room, limit)
            ).fetchall()
        return [r[0] for r in reversed(rows)]
