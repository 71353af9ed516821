"""``pgboard-server --db STORE --backup FILE``: a consistent copy of the store, made with SQLite's online
backup API whether or not a server is running on it, and checked before it replaces an older backup.

The copy is the store as it was when the backup began. It reads the store through a connection of
its own (``mode=rw``: it never creates one; a read-only file is opened for reading), holding one read
transaction for the whole copy: in WAL mode a reader never blocks the server's commits, and holding
the snapshot keeps those commits from restarting the copy (SQLite restarts a backup whose source
another connection writes between two steps; a busy server would restart it forever). Pages are
copied BACKUP_STEP_PAGES at a time. The copy is written beside FILE, checked (``PRAGMA quick_check``:
the backup API copies a damaged page as it is) and only then renamed over FILE, so a crash, a full
disk or a damaged store never leaves a half or damaged backup where a good one was. Restoring is
putting the file in the store's place while no server runs on it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pgboard_server.store_damage import describe

log = logging.getLogger(__name__)

BACKUP_STEP_PAGES = 1024  # pages copied per step (4 MiB of 4 KiB pages), so progress is said as it goes


class BackupFailed(Exception):
    """The backup could not be made; ``str()`` is the one line to print. The old FILE is untouched."""


@dataclass(frozen=True)
class Backup:
    path: str
    pages: int
    bytes: int
    seconds: float


def backup(
    store: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    step_pages: int = BACKUP_STEP_PAGES,
    progress: Callable[[int, int], None] | None = None,
) -> Backup:
    """Copy ``store`` into ``target`` (see the module's docstring); ``progress(copied, total)`` after
    each step of ``step_pages`` pages."""
    source, final = str(store), str(target)
    if not Path(source).is_file():  # say so plainly (mode=rw would not create it either)
        raise BackupFailed(f"no store at {source} to back up (--db names it)")
    if os.path.abspath(source) == os.path.abspath(final):
        raise BackupFailed(f"the backup {final} would overwrite the store itself")
    if os.path.isdir(final):
        raise BackupFailed(f"the backup {final} is a folder: name the file to write")
    part = final + ".part"
    started = time.perf_counter()
    with contextlib.suppress(FileNotFoundError):
        os.remove(part)
    uri = f"file:{urllib.parse.quote(os.path.abspath(source))}?mode=rw"
    try:
        src = sqlite3.connect(uri, uri=True, isolation_level=None)
    except sqlite3.Error as exc:
        raise BackupFailed(describe(source, exc)) from None
    try:
        try:
            src.execute("BEGIN")  # one snapshot for every step (see the module's docstring)
            src.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise BackupFailed(describe(source, exc)) from None
        try:
            dst = sqlite3.connect(part)
        except sqlite3.Error as exc:
            raise BackupFailed(f"cannot write the backup {part}: {exc}") from None
        try:
            src.backup(dst, pages=step_pages, progress=_steps(progress))
            src.execute("COMMIT")
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
            size = pages * int(dst.execute("PRAGMA page_size").fetchone()[0])
            problems = [r[0] for r in dst.execute("PRAGMA quick_check(5)")]
        except sqlite3.Error as exc:  # a damaged page read, or the backup's own disk full
            detail = f"backing up {source} to {part} failed ({exc}); {final} is unchanged"
            raise BackupFailed(detail) from None
        finally:
            dst.close()
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise
    finally:
        src.close()
    if problems != ["ok"]:
        os.remove(part)
        raise BackupFailed(
            f"store {source} is damaged ({'; '.join(problems)}): the backup was not kept and {final} is "
            "unchanged; restore the store from a good backup"
        )
    try:
        os.replace(part, final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.remove(part)
        raise BackupFailed(f"cannot put the backup in place at {final}: {exc}") from None
    return Backup(final, pages, size, time.perf_counter() - started)


def _steps(progress: Callable[[int, int], None] | None) -> Callable[[int, int, int], None]:
    def step(status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)
        else:
            log.debug("backup: %d of %d pages", total - remaining, total)

    return step


def run(store: str, target: str) -> int:
    """The --backup command: 0 when the backup is made, 1 with one error line when not."""
    try:
        done = backup(store, target)
    except BackupFailed as exc:
        log.error("backup failed: %s", exc)
        return 1
    log.info(
        "backed up %s to %s: %d pages (%.1f MiB) in %.2f s",
        store,
        done.path,
        done.pages,
        done.bytes / 2**20,
        done.seconds,
    )
    return 0
