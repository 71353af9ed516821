"""A damaged or read-only store file: one line that names the file and says what to do, and the rooms
whose rows cannot be read kept apart while the others serve.

At start, a file that is not a database (a damaged or truncated header), that cannot be written, or
whose schema cannot be read stops the server with :class:`StoreUnusable`, whose message is that one
line (the command prints it and exits with EXIT_STORE, no traceback). A damaged page found later
concerns the rows on it: a room whose log, snapshot or rights cannot be read, or hold a row that does
not decode, is :class:`RoomDamaged`. :class:`DamagedRooms` says so once in the log and answers every
join to it with ``join_error damaged``; nothing of it is loaded, written or compacted, so what the file
still holds of it stays for a restore, and every other room serves as before.
"""

from __future__ import annotations

import logging
import sqlite3

from pgboard_server import lockorder

from pgboard import names
from pgboard.protocol import JoinError, Message, ProtocolError, decode_frame

log = logging.getLogger(__name__)

EXIT_STORE = 3  # the exit status of pgboard-server when its store cannot be used (2 is a usage error)

# SQLite's primary result codes (an extended code keeps its primary in the low byte)
_CORRUPT, _READONLY, _CANTOPEN, _NOTADB, _IOERR, _FULL, _PERM = 11, 8, 14, 26, 10, 13, 3

RESTORE = (
    "stop the server, move the file (and its -wal and -shm files) aside and put a backup in its place "
    "(pgboard-server --db FILE --backup BACKUP makes one; the sqlite3 shell's .recover saves what it can), "
    "or move it aside to start with an empty store"
)
WRITABLE = (
    "give the server's user write access to the file and its folder (SQLite writes FILE-wal and "
    "FILE-shm beside it) and check that its file system is not mounted read-only or the file immutable "
    "(lsattr)"
)


def primary(exc: sqlite3.Error) -> int:
    return int(getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the file's content is damaged (not a passing failure to write)."""
    return isinstance(exc, sqlite3.Error) and primary(exc) in (_CORRUPT, _NOTADB)


def what_to_do(exc: sqlite3.Error) -> str:
    """What the operator can do about ``exc``, in a few words."""
    code = primary(exc)
    if code in (_CORRUPT, _NOTADB):
        return RESTORE
    if code in (_READONLY, _PERM, _CANTOPEN) or (
        code == _IOERR and getattr(exc, "sqlite_errorname", "").startswith("SQLITE_IOERR_WRITE")
    ):  # a file made read-only (or immutable) under a running server fails its writes with EPERM
        return WRITABLE
    if code == _FULL:
        return "free some space on its file system"
    return "see SQLite's error; the server's log has the details"


def describe(path: str, exc: sqlite3.Error) -> str:
    """``store FILE <what is wrong> (<SQLite's error>): <what to do>``, one line."""
    code = primary(exc)
    if code == _NOTADB:
        wrong = "is not a SQLite database, or its header is damaged"
    elif code == _CORRUPT:
        wrong = "is damaged"
    elif code in (_READONLY, _PERM):
        wrong = "is read-only"
    elif code == _CANTOPEN:
        wrong = "cannot be opened"
    else:
        wrong = "cannot be used"
    name = getattr(exc, "sqlite_errorname", type(exc).__name__)
    return f"store {path} {wrong} ({exc}, {name}): {what_to_do(exc).replace('FILE', path)}"


class StoreUnusable(OSError):
    """The store's file cannot be opened for the server; ``str()`` is the one line to print. An OSError,
    as a file that cannot be opened is: the window's Host button shows it as it shows a port in use."""

    def __init__(self, path: str, exc: sqlite3.Error) -> None:
        super().__init__(describe(path, exc))
        self.path = path
        self.cause = exc


class RoomDamaged(Exception):
    """A room's rows cannot be read from the store, or one of them does not decode."""

    def __init__(self, room: str, why: str) -> None:
        super().__init__(f"room {room!r}: {why}")
        self.room = room
        self.why = why


def damage_of(room: str, exc: BaseException) -> RoomDamaged | None:
    """``exc`` raised while loading ``room`` as RoomDamaged, or None when it is not damage."""
    if isinstance(exc, RoomDamaged):
        return exc
    if is_damage(exc):
        return RoomDamaged(room, f"its rows cannot be read ({exc})")
    return None


class DamagedRooms:
    """The rooms found damaged since the server started, by folded name: each said once in the log, and
    each join to one refused (``join_error damaged``) without reading the store again."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = lockorder.leaf("store damage")
        self._rooms: dict[str, str] = {}  # folded name -> why

    def report(self, damage: RoomDamaged) -> None:
        with self._lock:
            key = names.fold(damage.room)
            if key in self._rooms:
                return
            self._rooms[key] = damage.why
        log.error(
            "store %s: room %r is damaged and not served (%s); the other rooms are. To get it back, %s",
            self.path,
            damage.room,
            damage.why,
            RESTORE.replace("FILE", self.path),
        )

    def refusal(self, room: str) -> JoinError | None:
        with self._lock:
            damaged = names.fold(room) in self._rooms
        if not damaged:
            return None
        detail = f"room {room!r} is damaged in the server's store: the server's operator must restore it"
        return JoinError("damaged", detail)


def room_names(db: sqlite3.Connection, path: str) -> list[str]:
    """The rooms the store holds anything of. A table whose pages are damaged is read by seeking from
    one room to the next (an index seek touches a few pages); where a seek lands on a damaged page the
    rest of that table is skipped, said once, and its rooms are loaded when someone joins them."""
    found: set[str] = set()
    for table in ("ops", "chat", "snapshots"):
        last = ""
        while True:
            try:
                row = db.execute(
                    f"SELECT room FROM {table} WHERE room > ? ORDER BY room LIMIT 1",  # noqa: S608 - fixed
                    (last,),
                ).fetchone()
            except sqlite3.Error as exc:
                if not is_damage(exc):
                    raise
                log.error(
                    "store %s: table %s is damaged after room %r (%s): rooms after it that only it holds "
                    "are loaded when joined. %s",
                    path,
                    table,
                    last,
                    exc,
                    RESTORE.replace("FILE", path),
                )
                break
            if row is None:
                break
            last = row[0]
            found.add(last)
    return sorted(found)


def decoded(room: str, row: str, what: str) -> Message:
    """The message a stored ``row`` holds; RoomDamaged if it does not decode (a damaged row)."""
    try:
        return decode_frame(row.encode("ascii"))
    except (ProtocolError, UnicodeEncodeError) as exc:
        raise RoomDamaged(room, f"a row of its {what} does not decode ({exc})") from None
