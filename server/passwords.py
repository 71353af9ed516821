"""Password hashes (salted scrypt, its parameters kept with each hash) and the failed-attempt limiter.

A stored hash reads ``scrypt$N$r$p$SALT$HASH`` (hex salt and hash), so the cost can be raised later:
an old hash still verifies with its own parameters, and :func:`needs_rehash` says when to store a new
one. Hashes are compared with :func:`hmac.compare_digest`. Nothing here knows about sockets or rooms.

Hashing is deliberately slow (about 50 ms and 16 MiB at the defaults): callers hash outside any
room's lock, on the connection's own reader thread.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pgboard_server import lockorder

SCHEME = "scrypt"
SALT_BYTES = 16
HASH_BYTES = 32
SCRYPT_N = 2**14  # CPU and memory cost (a power of two); memory is 128 * N * r bytes (16 MiB)
SCRYPT_R = 8
SCRYPT_P = 1
MAX_TRACKED = 100_000  # keys (accounts, addresses, rooms) the limiter remembers failures of


@dataclass(frozen=True)
class ScryptCost:
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P

    def __post_init__(self) -> None:
        if self.n < 2 or self.n & (self.n - 1) or self.r < 1 or self.p < 1:
            raise ValueError("scrypt needs N a power of two >= 2, r >= 1 and p >= 1")


def _scrypt(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    maxmem = 128 * cost.r * (cost.n + cost.p + 2) + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p, maxmem=maxmem, dklen=HASH_BYTES
    )


def hash_password(password: str, cost: ScryptCost) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, cost)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${salt.hex()}${digest.hex()}"


def _parse(stored: str) -> tuple[ScryptCost, bytes, bytes] | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        return None
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        return cost, bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (a damaged hash never matches)."""
    parsed = _parse(stored)
    if parsed is None:
        return False
    cost, salt, digest = parsed
    return hmac.compare_digest(_scrypt(password, salt, cost), digest)


def needs_rehash(stored: str, cost: ScryptCost) -> bool:
    """The hash was made with other parameters than ``cost``: store a fresh one after a good login."""
    parsed = _parse(stored)
    return parsed is None or parsed[0] != cost


class FailureLimiter:
    """At most ``max_failures`` failed attempts per key within ``window`` seconds. Thread-safe.

    ``retry_after(key)`` is 0 while a key may try, else the seconds until its oldest failure in the
    window expires. ``clock`` is the server's monotonic clock (tests pass a fake one).
    """

    def __init__(self, max_failures: int, window: float, clock: Callable[[], float]) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = lockorder.leaf("password attempts")

    def retry_after(self, *keys: str) -> int:
        with self._lock:
            return self._retry_after(keys)

    def _retry_after(self, keys: tuple[str, ...]) -> int:
        now = self.clock()
        wait = 0.0
        for key in keys:
            times = self._failures.get(key)
            if times is None:
                continue
            while times and times[0] <= now - self.window:
                times.popleft()
            if not times:
                self._failures.pop(key, None)
            elif len(times) >= self.max_failures:
                wait = max(wait, times[0] + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        with self._lock:
            now = self.clock()
            if len(self._failures) >= MAX_TRACKED:
                self._forget_expired(now)
            for key in keys:
                times = self._failures.setdefault(key, deque(maxlen=self.max_failures))
                times.append(now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window]:
            del self._failures[key]
        while len(self._failures) >= MAX_TRACKED:  # still full: forget the oldest entries
            del self._failures[next(iter(self._failures))]
