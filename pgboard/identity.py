"""Which window on this machine speaks with the saved identity (the settings' client secret).

The secret makes a user the same author across restarts, and the server takes a second connection
with the same secret for the same person coming back: it closes the first ("replaced"). Two windows
open at once on one machine are two people (two players sharing a computer, or someone trying pgboard
against themselves), so only the first window running uses the saved secret: it holds an exclusive
lock on a file beside the settings for as long as it runs. A window that finds the lock held draws
under a fresh secret of its own for this run, and the first window is never thrown out.
"""

from __future__ import annotations

import logging
import secrets
import sys
from pathlib import Path
from typing import IO

from pgboard.settings import SettingsFile

log = logging.getLogger(__name__)

LOCK_NAME = "identity.lock"


def new_secret() -> str:
    return secrets.token_hex(16)


class IdentityLock:
    """An exclusive, non-blocking lock on ``path`` held until :meth:`release` (or the process ends:
    the system drops it then, so a crash never leaves the identity locked)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path  # None: a window that writes nothing holds no lock (acquire says False)
        self._file: IO[bytes] | None = None

    def acquire(self) -> bool:
        """True when this process now holds the lock; False when another window does. A system
        where the lock cannot be taken at all counts as holding it (one window, as before)."""
        if self._file is not None:
            return True
        if self.path is None:
            return False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            f = open(self.path, "a+b")  # noqa: SIM115 - kept open while the lock is held
        except OSError as exc:
            log.warning("cannot open %s (%s): using the saved identity", self.path, exc)
            return True
        try:
            _lock(f)
        except BlockingIOError:
            f.close()
            return False
        except OSError as exc:
            log.warning("cannot lock %s (%s): using the saved identity", self.path, exc)
        self._file = f
        return True

    def release(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            f.close()  # closing drops the lock


def _lock(f: IO[bytes]) -> None:
    """Lock ``f`` exclusively without waiting; BlockingIOError when someone else holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            f.seek(0)
            msvcrt.locking(f.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise BlockingIOError(str(exc)) from exc
        return
    import fcntl

    fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)


def lock_path(settings_path: Path) -> Path:
    return settings_path.with_name(LOCK_NAME)


def choose_secret(saved: str, lock: IdentityLock) -> str:
    """The saved secret for the first window running here, a fresh one for any other."""
    if lock.acquire():
        return saved
    log.info("another pgboard window holds this machine's identity: this one draws as someone new")
    return new_secret()


def claim(store: SettingsFile) -> tuple[str, IdentityLock]:
    """The secret this window draws under, and the lock to release when it closes. A first run makes
    the saved secret (and saves it). A store that must not be written gets no lock file and draws
    under a fresh secret, as a second window does: it never takes the saved identity from another."""
    if not store.writable:
        return new_secret(), IdentityLock(None)
    if not store.settings.client:
        store.settings.client = new_secret()  # who I am to the server, across restarts
        store.save()
    lock = IdentityLock(lock_path(store.path))
    return choose_secret(store.settings.client, lock), lock
