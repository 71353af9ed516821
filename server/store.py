"""The embedded store: each room's operation log and chat lines in one SQLite file (WAL mode).

An operation is committed before the server echoes it, so whatever a client saw echoed survives a crash
of the server process (SIGKILL). One connection serves every thread, behind a lock: a commit in WAL
mode with synchronous=NORMAL is an append to the log file, well under a millisecond. Copying the log
into the database file (a checkpoint, with an fsync) is kept out of those commits: see Checkpointer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pgboard_server import lockorder
from pgboard_server.checkpoint import Checkpointer
from pgboard_server.store_accounts import AccountRows
from pgboard_server.store_damage import StoreUnusable, room_names
from pgboard_server.store_health import StoreHealth

log = logging.getLogger(__name__)

MEMORY = ":memory:"
CHECKPOINT_COMMITS = 500  # commits between two checkpoints (each commit adds at least a 4 KiB page)
WAL_SIZE_LIMIT = 8 * 1024 * 1024  # bytes the write-ahead log file is cut back to when it starts over
# (SQLite keeps it at its largest otherwise: a compaction's snapshot would leave it that big for good)

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
CREATE TABLE IF NOT EXISTS snapshots (  -- a room's compacted board: its log starts after ``seq``
    room TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,        -- the board's objects at this seq are in snapshot_objs
    floor INTEGER NOT NULL,      -- the log's rows up to this seq are deleted (floor <= seq)
    resent TEXT NOT NULL         -- JSON [[device, oid, seq], ...] of the last ops before ``seq``: acks
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshot_objs (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,        -- rows of another seq than snapshots.seq are an unfinished snapshot
    pos INTEGER NOT NULL,        -- drawing order, bottom first
    obj TEXT NOT NULL,           -- the obj frame's JSON payload, points packed
    PRIMARY KEY (room, seq, pos)
) WITHOUT ROWID;
"""
SNAPSHOT_CHUNK = 1024 * 1024  # bytes of a snapshot written per transaction (others commit between)
VACUUM_PAGES = 256  # free pages given back to the file system per transaction after a compaction

# Who may do what in each room (server/rights.py). Rooms are keyed by their folded name (names.fold).
_RIGHTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS room_info (
    room TEXT PRIMARY KEY,
    creator TEXT NOT NULL,       -- the author id of the first member: the room's first operator
    locked INTEGER NOT NULL DEFAULT 0,
    watch_only INTEGER NOT NULL DEFAULT 0  -- a member seen for the first time watches only
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS operators (
    room TEXT NOT NULL,
    user TEXT NOT NULL,
    PRIMARY KEY (room, user)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS grants (
    room TEXT NOT NULL,
    owner TEXT NOT NULL,         -- whose objects
    grantee TEXT NOT NULL,       -- may be edited by this author too
    PRIMARY KEY (room, owner, grantee)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS bans (
    room TEXT NOT NULL,
    user TEXT NOT NULL,
    nick TEXT NOT NULL,
    address TEXT NOT NULL,       -- '' when the ban is by account only
    PRIMARY KEY (room, user)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (  -- who was in each room under which nick (the latest row wins)
    room TEXT NOT NULL,
    user TEXT NOT NULL,
    nick TEXT NOT NULL,
    folded TEXT NOT NULL,
    address TEXT NOT NULL,
    UNIQUE (room, user)
);
CREATE INDEX IF NOT EXISTS members_by_nick ON members (room, folded);
CREATE TABLE IF NOT EXISTS watchers (  -- members who watch only (/readonly, or "new joiners watch only")
    room TEXT NOT NULL,
    user TEXT NOT NULL,
    PRIMARY KEY (room, user)
) WITHOUT ROWID;
"""


@dataclass
class RoomRightsRows:
    """What the store keeps of one room's rights (see server/rights.py)."""

    exists: bool = False  # the room has a row in room_info, or ops or chat from before rights existed
    creator: str = ""
    locked: bool = False
    operators: set[str] = field(default_factory=set)
    grants: set[tuple[str, str]] = field(default_factory=set)  # (owner, grantee)
    bans: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> (nick, address)
    members: list[tuple[str, str, str]] = field(default_factory=list)  # (user, nick, address), oldest first
    watch_only: bool = False  # the room's option: a member seen for the first time watches only
    watchers: set[str] = field(default_factory=set)  # who may not draw (/readonly)


def default_db_path() -> Path:
    """~/.local/share/pgboard/pgboard.sqlite3 (or under $XDG_DATA_HOME)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "pgboard" / "pgboard.sqlite3"


class Store(AccountRows):
    """Room logs in SQLite. Thread-safe: every call takes the store's lock."""

    def __init__(self, path: str | os.PathLike[str] = MEMORY) -> None:
        self.path = str(path)
        if self.path != MEMORY:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = lockorder.lock("store")
        self.health = StoreHealth(self.path)  # a full disk is logged once, not once per refused write
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._log_bytes: dict[str, int] = {}  # bytes of each room's log rows after its snapshot
        self.checkpointer: Checkpointer | None = None
        self._commits = 0  # since the last checkpoint was asked for
        try:
            self._open()
        except sqlite3.Error as exc:  # not a database, damaged, read-only: one line says what to do
            self._db.close()
            raise StoreUnusable(self.path, exc) from None
        if self.path != MEMORY:
            self.checkpointer = Checkpointer(self.path)

    def _open(self) -> None:
        # a new file gives the pages a compaction frees back to the file system (incremental_vacuum);
        # an older file keeps its pages for reuse (the file stops growing but does not shrink)
        self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        if self.path != MEMORY:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.executescript(_RIGHTS_SCHEMA)
        self._open_accounts()
        self._watch_only_column()
        # a file that opens but cannot be written says so now, not at its first user's first stroke
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        self._db.execute(f"PRAGMA user_version = {version}")
        if self.path != MEMORY:
            self._db.execute("PRAGMA wal_autocheckpoint=0")  # never inside a commit: Checkpointer's job
            self._db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")

    def close(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.close()
        with self._lock:
            self._db.close()  # the last connection to close checkpoints what is left

    def _committed(self) -> None:
        # called under the lock
        self._commits += 1
        if self._commits >= CHECKPOINT_COMMITS and self.checkpointer is not None:
            self._commits = 0
            self.checkpointer.nudge()

    def append_op(self, room: str, seq: int, echo: str) -> None:
        """Commit one echoed operation."""
        self.append_ops(room, [(seq, echo)])

    def append_ops(self, room: str, echoes: Sequence[tuple[int, str]]) -> None:
        """Commit echoed operations, ``(seq, echo)`` in order, in one transaction: all or none (a
        reader's whole input chunk costs one commit, not one each)."""
        insert = "INSERT INTO ops (room, seq, echo) VALUES (?, ?, ?)"
        with self._lock:
            size = self._log_size(room)
            if len(echoes) == 1:  # autocommit: the INSERT is its own transaction
                self._db.execute(insert, (room, *echoes[0]))
            else:
                self._db.execute("BEGIN")
                try:
                    self._db.executemany(insert, [(room, seq, echo) for seq, echo in echoes])
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            self._log_bytes[room] = size + sum(len(echo) for _, echo in echoes)
            self._committed()

    def append_chat(self, room: str, line: str, keep: int | None = None) -> None:
        """Commit a room chat line; the room keeps its latest ``keep`` lines (None: all)."""
        with self._lock:
            if keep is None:
                self._db.execute("INSERT INTO chat (room, line) VALUES (?, ?)", (room, line))
            else:
                self._db.execute("BEGIN")
                try:
                    cur = self._db.execute("INSERT INTO chat (room, line) VALUES (?, ?)", (room, line))
                    self._db.execute(  # the index walks ``keep`` rows: O(keep), not O(the room's chat)
                        "DELETE FROM chat WHERE room = ? AND id <= (SELECT id FROM chat WHERE room = ? "
                        "AND id <= ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                        (room, room, cur.lastrowid, max(keep, 0)),
                    )
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            self._committed()

    def chat_count(self, room: str) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM chat WHERE room = ?", (room,)).fetchone()[0])

    # -- compaction: a snapshot of the board at a seq, and the log after it

    def _log_size(self, room: str) -> int:
        """Bytes of ``room``'s log rows after its snapshot (counted once, then kept up). Under the lock."""
        size = self._log_bytes.get(room)
        if size is None:
            size = self._db.execute(
                "SELECT COALESCE(SUM(LENGTH(echo)), 0) FROM ops WHERE room = ? AND seq > "
                "COALESCE((SELECT seq FROM snapshots WHERE room = ?), 0)",
                (room, room),
            ).fetchone()[0]
            self._log_bytes[room] = size
        return size

    def log_bytes(self, room: str) -> int:
        with self._lock:
            return self._log_size(room)

    def snapshot_info(self, room: str) -> tuple[int, int]:
        """(seq, floor) of ``room``'s snapshot: its board is at ``seq``, the log holds the rows after
        ``floor``; (0, 0) when it has none."""
        with self._lock:
            row = self._db.execute("SELECT seq, floor FROM snapshots WHERE room = ?", (room,)).fetchone()
        return (row[0], row[1]) if row is not None else (0, 0)

    def snapshot_objects(self, room: str, chunk: int = 2000) -> Iterator[str]:
        """The obj payloads of ``room``'s snapshot, bottom first, ``chunk`` rows per hold of the lock."""
        seq, _ = self.snapshot_info(room)
        last = -1
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT pos, obj FROM snapshot_objs WHERE room = ? AND seq = ? AND pos > ? "
                    "ORDER BY pos LIMIT ?",
                    (room, seq, last, chunk),
                ).fetchall()
            yield from (obj for _, obj in rows)
            if len(rows) < chunk:
                return
            last = rows[-1][0]

    def stage_snapshot(self, room: str, seq: int, objects: Iterable[str]) -> None:
        """Write the obj payloads of a snapshot at ``seq``, SNAPSHOT_CHUNK bytes per transaction
        (other rooms commit in between); nothing reads them until :meth:`finish_snapshot`."""
        insert = "INSERT OR REPLACE INTO snapshot_objs (room, seq, pos, obj) VALUES (?, ?, ?, ?)"
        batch: list[tuple[str, int, int, str]] = []
        size = 0
        for pos, obj in enumerate(objects):
            batch.append((room, seq, pos, obj))
            size += len(obj)
            if size >= SNAPSHOT_CHUNK:
                with self._transaction() as db:
                    db.executemany(insert, batch)
                batch, size = [], 0
        if batch:
            with self._transaction() as db:
                db.executemany(insert, batch)

    def resent(self, room: str) -> list[tuple[str, str, int]]:
        """(device, oid, seq) of the operations logged last before ``room``'s snapshot."""
        with self._lock:
            row = self._db.execute("SELECT resent FROM snapshots WHERE room = ?", (room,)).fetchone()
        return [(a, o, s) for a, o, s in json.loads(row[0])] if row is not None else []

    def finish_snapshot(self, room: str, seq: int, floor: int, window: int) -> int:
        """Make the staged snapshot at ``seq`` the room's and delete its log up to ``floor``, in one
        transaction, keeping who sent the operations of the last ``window`` seqs before it (and their
        oids); then give the freed pages back. Returns the log rows deleted."""
        with self._lock:
            row = self._db.execute("SELECT resent FROM snapshots WHERE room = ?", (room,)).fetchone()
        resent = [r for r in json.loads(row[0]) if r[2] > seq - window] if row is not None else []
        with self._transaction() as db:
            resent += db.execute(  # JSON1 reads the two fields in C, whatever the rows weigh
                "SELECT coalesce(json_extract(echo, '$.device'), json_extract(echo, '$.author')), "
                "json_extract(echo, '$.oid'), seq FROM ops "
                "WHERE room = ? AND seq > ? AND seq <= ? ORDER BY seq",
                (room, max(seq - window, resent[-1][2] if resent else 0), seq),
            ).fetchall()
            db.execute(
                "INSERT OR REPLACE INTO snapshots (room, seq, floor, resent) VALUES (?, ?, ?, ?)",
                (room, seq, floor, json.dumps([list(r) for r in resent], separators=(",", ":"))),
            )
            db.execute("DELETE FROM snapshot_objs WHERE room = ? AND seq <> ?", (room, seq))
            deleted = db.execute("DELETE FROM ops WHERE room = ? AND seq <= ?", (room, floor)).rowcount
        with self._lock:
            self._log_bytes.pop(room, None)
            self._log_size(room)
            self._committed()
        self.vacuum()
        if self.checkpointer is not None:  # copy the snapshot in now: the write-ahead log starts over
            self.checkpointer.nudge()
        return int(deleted)

    def vacuum(self) -> None:
        """Give free pages back to the file system, VACUUM_PAGES per hold of the lock."""
        last = None
        while True:
            with self._lock:
                if self._db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:  # not INCREMENTAL
                    return
                free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
                if not free or free == last:  # nothing (more) to give back
                    return
                last = free
                self._db.execute(f"PRAGMA incremental_vacuum({VACUUM_PAGES})").fetchall()
                self._committed()

    def rooms(self) -> list[str]:
        """Every room the store holds anything of (a damaged table is skipped: see store_damage)."""
        with self._lock:
            return room_names(self._db, self.path)

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

    # -- rights (server/rights.py): each write is one autocommitted statement, done before memory changes

    def load_rights(self, key: str, name: str) -> RoomRightsRows:
        """Everything kept about room ``key`` (its folded name; ``name`` is the key of its log)."""
        rows = RoomRightsRows()
        with self._lock:
            db = self._db
            info = db.execute(
                "SELECT creator, locked, watch_only FROM room_info WHERE room = ?", (key,)
            ).fetchone()
            if info is not None:
                rows.exists, rows.creator, rows.locked = True, info[0], bool(info[1])
                rows.watch_only = bool(info[2])
            else:  # a room that has a log from before rights were kept exists, with no operator
                rows.exists = (
                    db.execute("SELECT 1 FROM ops WHERE room = ? LIMIT 1", (name,)).fetchone() is not None
                    or db.execute("SELECT 1 FROM chat WHERE room = ? LIMIT 1", (name,)).fetchone() is not None
                )
            rows.operators = {r[0] for r in db.execute("SELECT user FROM operators WHERE room = ?", (key,))}
            rows.watchers = {r[0] for r in db.execute("SELECT user FROM watchers WHERE room = ?", (key,))}
            rows.grants = {
                (r[0], r[1]) for r in db.execute("SELECT owner, grantee FROM grants WHERE room = ?", (key,))
            }
            rows.bans = {
                r[0]: (r[1], r[2])
                for r in db.execute("SELECT user, nick, address FROM bans WHERE room = ?", (key,))
            }
            rows.members = [
                (r[0], r[1], r[2])
                for r in db.execute(
                    "SELECT user, nick, address FROM members WHERE room = ? ORDER BY rowid", (key,)
                )
            ]
        return rows

    def create_room(self, key: str, creator: str) -> None:
        """The room's first member becomes its creator and operator, in one transaction."""
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO room_info (room, creator) VALUES (?, ?)", (key, creator))
            if creator:
                db.execute("INSERT OR IGNORE INTO operators (room, user) VALUES (?, ?)", (key, creator))

    def forget_room(self, key: str) -> None:
        """Delete what is kept about room ``key`` (an empty room with nothing worth keeping, see
        server/room.py Room.worth_keeping), in one transaction."""
        with self._transaction() as db:
            for table in (
                "room_info",
                "operators",
                "grants",
                "bans",
                "members",
                "room_passwords",
                "watchers",
            ):
                db.execute(f"DELETE FROM {table} WHERE room = ?", (key,))  # noqa: S608 - fixed names

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def set_locked(self, key: str, locked: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO room_info (room, creator, locked) VALUES (?, '', ?) "
                "ON CONFLICT (room) DO UPDATE SET locked = excluded.locked",
                (key, int(locked)),
            )

    def set_watch_only(self, key: str, on: bool) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO room_info (room, creator, watch_only) VALUES (?, '', ?) "
                "ON CONFLICT (room) DO UPDATE SET watch_only = excluded.watch_only",
                (key, int(on)),
            )

    def set_watcher(self, key: str, user: str, on: bool) -> None:
        with self._lock:
            if on:
                self._db.execute("INSERT OR IGNORE INTO watchers (room, user) VALUES (?, ?)", (key, user))
            else:
                self._db.execute("DELETE FROM watchers WHERE room = ? AND user = ?", (key, user))

    def set_operator(self, key: str, user: str, on: bool) -> None:
        with self._lock:
            if on:
                self._db.execute("INSERT OR IGNORE INTO operators (room, user) VALUES (?, ?)", (key, user))
            else:
                self._db.execute("DELETE FROM operators WHERE room = ? AND user = ?", (key, user))

    def set_grant(self, key: str, owner: str, grantee: str, on: bool) -> None:
        with self._lock:
            if on:
                self._db.execute(
                    "INSERT OR IGNORE INTO grants (room, owner, grantee) VALUES (?, ?, ?)",
                    (key, owner, grantee),
                )
            else:
                self._db.execute(
                    "DELETE FROM grants WHERE room = ? AND owner = ? AND grantee = ?", (key, owner, grantee)
                )

    def set_ban(self, key: str, user: str, nick: str, address: str | None) -> None:
        """``address`` None: lift the ban on ``user``."""
        with self._lock:
            if address is None:
                self._db.execute("DELETE FROM bans WHERE room = ? AND user = ?", (key, user))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO bans (room, user, nick, address) VALUES (?, ?, ?, ?)",
                    (key, user, nick, address),
                )

    def remember_member(self, key: str, user: str, nick: str, folded: str, address: str) -> None:
        """``user`` is (or was last) in the room as ``nick``: the newest row for a nick wins a lookup."""
        with self._transaction() as db:
            db.execute("DELETE FROM members WHERE room = ? AND user = ?", (key, user))
            db.execute(
                "INSERT INTO members (room, user, nick, folded, address) VALUES (?, ?, ?, ?, ?)",
                (key, user, nick, folded, address),
            )

    def _watch_only_column(self) -> None:
        """A database from before /watchonly has no ``watch_only`` column in room_info: add it (off)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(room_info)")}
        if "watch_only" not in columns:
            self._db.execute("ALTER TABLE room_info ADD COLUMN watch_only INTEGER NOT NULL DEFAULT 0")
