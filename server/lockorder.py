"""The server's lock order, and the check that holds it in debug mode.

A thread that holds one of these locks takes only locks that come after it in ``ORDER`` (the order is
written out at the top of server/room.py). Two threads that took two locks the other way round would
deadlock; the order rules that out.

``lock(name)`` and ``rlock(name)`` make the server's locks. Normally they are plain ``threading`` locks,
at no cost. With ``PGBOARD_DEBUG_LOCKS=1`` in the environment at import (tests/conftest.py sets it, so
the whole suite runs with it) they are :class:`OrderedLock`: each thread keeps the locks it holds, and a
blocking acquire of a lock that does not come after every one of them raises :class:`LockOrderError`
before it waits (and is kept in ``VIOLATIONS``, which the suite checks after every test, since a
server thread that meets the error only logs it). An acquire that does not wait (``blocking=False``)
cannot deadlock and is not checked; taking again a re-entrant lock this thread holds is not either.
"""

from __future__ import annotations

import os
import threading
from typing import Any

# earlier first: Room.lock -> Rooms._lock -> Accounts._lock -> Session._state -> Session._lock ->
# Store._lock -> BoardServer._lock ("server") -> AddressTable._lock ("rate limits") -> a leaf. Leaves
# (``leaf(name)``: the bans, pacers, rate limit buckets, compaction's pins, the store's health books...)
# guard a dict or a counter for a moment and take no other lock while held, not even another leaf.
ORDER = ("room", "rooms", "accounts", "session state", "session", "store", "server", "rate limits", "leaf")
RANK = {name: i for i, name in enumerate(ORDER)}
DEBUG = os.environ.get("PGBOARD_DEBUG_LOCKS", "") not in ("", "0")
VIOLATIONS: list[str] = []  # what was caught, for the test suite to fail on


class LockOrderError(AssertionError):
    """A thread asked for a lock while holding one that comes after it (or another of its rank)."""


_held = threading.local()  # .locks: the OrderedLocks this thread holds, in the order taken


class OrderedLock:
    """A Lock or RLock that checks the lock order before it waits (debug mode only)."""

    def __init__(self, name: str, inner: Any, rank: str = "") -> None:
        self.name = name
        self.rank = RANK[rank or name]
        self._inner = inner

    def __repr__(self) -> str:
        return f"<OrderedLock {self.name}>"

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        held: list[OrderedLock] = _held.__dict__.setdefault("locks", [])
        if blocking and held and self not in held:
            last = max(held, key=lambda lk: lk.rank)
            if last.rank >= self.rank:
                detail = (
                    f"{self.name!r} lock asked for while holding the {last.name!r} lock "
                    f"(thread {threading.current_thread().name}): the order is {' -> '.join(ORDER)}"
                )
                VIOLATIONS.append(detail)
                raise LockOrderError(detail)
        got: bool = self._inner.acquire(blocking, timeout)
        if got:
            held.append(self)
        return got

    def release(self) -> None:
        self._inner.release()
        held: list[OrderedLock] = _held.__dict__.setdefault("locks", [])
        for i in range(len(held) - 1, -1, -1):
            if held[i] is self:
                del held[i]
                break

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def locked(self) -> bool:
        return bool(self._inner.locked()) if hasattr(self._inner, "locked") else False


def lock(name: str) -> Any:
    """A ``threading.Lock`` in the order's place ``name`` (checked in debug mode)."""
    return OrderedLock(name, threading.Lock()) if DEBUG else threading.Lock()


def rlock(name: str) -> Any:
    """A ``threading.RLock`` in the order's place ``name`` (checked in debug mode)."""
    return OrderedLock(name, threading.RLock()) if DEBUG else threading.RLock()


def leaf(name: str) -> Any:
    """A ``threading.Lock`` that is taken last: no lock is asked for while it is held (checked in debug
    mode, where ``name`` says which one it was)."""
    return OrderedLock(f"leaf {name}", threading.Lock(), "leaf") if DEBUG else threading.Lock()
