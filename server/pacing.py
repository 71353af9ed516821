"""Per-address pacing of slow work that a connection can ask for over and over: password checks
(each one scrypt, about 40 ms of CPU and 16 MiB) and sign-ups (each one hash and one account kept).

An :class:`AddressPacer` keeps one :class:`~pgboard_server.ratelimit.TokenBucket` per IP address on
the server's injectable clock. :meth:`AddressPacer.admit` takes a token and answers 0, or answers the
whole seconds to wait (the ``retry`` of the refusal) and takes nothing. A rate of 0 turns it off. At
most ``MAX_TRACKED`` addresses are remembered: full buckets (idle addresses) are forgotten first.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pgboard_server import lockorder
from pgboard_server.ratelimit import TokenBucket, address_key

MAX_TRACKED = 100_000  # addresses remembered at once (a bucket is ~100 bytes: ~10 MiB at most)


class AddressPacer:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = lockorder.leaf("pacer")

    def admit(self, address: str) -> int:
        """0: go on (a token taken); else the whole seconds until ``address`` may try again."""
        if self.rate <= 0:
            return 0
        with self._lock:
            now = self.clock()
            address = address_key(address)  # an IPv6 peer by its /64, as the other limits
            bucket = self._buckets.get(address)
            if bucket is None:
                if len(self._buckets) >= MAX_TRACKED:
                    self._forget(now)
                bucket = self._buckets[address] = TokenBucket(self.rate, self.burst, now)
            wait = bucket.wait(now)
            if wait > 0:
                return max(1, math.ceil(wait))
            bucket.take()
            return 0

    def _forget(self, now: float) -> None:
        for address in [a for a, b in self._buckets.items() if b.full(now)]:
            del self._buckets[address]
        while len(self._buckets) >= MAX_TRACKED:  # all busy: forget the oldest
            del self._buckets[next(iter(self._buckets))]
