"""Rate limits: token buckets per connection and per address, and the count of refusals that makes
a connection an abuser.

A :class:`TokenBucket` holds up to ``burst`` tokens and gains ``rate`` per second of the server's clock
(injectable: tests advance a fake clock instead of sleeping). A :class:`Throttle` belongs to one
connection: for each kind of input (drawing operations, chat lines, cursor positions) it takes a token
from the connection's bucket and from the bucket its address shares with its other connections
(:class:`AddressTable`), both or neither. A refusal blocks that kind for at least ``rate_retry`` seconds,
so the operations a client sent before it heard "rate_limited" are refused too and a client that
resends them after ``retry`` keeps its order. Input bytes are charged after the fact (they are already
read): the debt says how long the reader pauses, and TCP pushes back on the sender meanwhile.

A rate of 0 turns a limit off. Every number is a field of :class:`~pgboard_server.limits.Limits`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import math
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgboard_server import lockorder

if TYPE_CHECKING:
    from pgboard_server.limits import Limits

PRUNE_EVERY = 1024  # connections admitted between two sweeps of idle addresses
# IPv6 peers share their limits by /64, not by address: a /64 is the smallest network an ISP hands a
# home or a host (RFC 6177; SLAAC needs a /64), and inside it a machine picks any of 2**64 addresses
# (privacy addresses rotate by themselves), so one machine keyed by its /128 would get a fresh set of
# buckets and connection slots for the asking. A /64 is one subscriber, as one IPv4 address is.
IPV6_KEY_PREFIX = 64


def address_key(address: str) -> str:
    """The key an address's limits are kept under: an IPv4 address as it is (an IPv4-mapped IPv6
    address, as a dual-stack listener reports IPv4 peers, as the IPv4 address), an IPv6 address as its
    /IPV6_KEY_PREFIX network, anything else (a test's made-up peer name) as it is."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # a link-local's %zone is not a network
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_KEY_PREFIX), strict=False))
    return str(ip)


class TokenBucket:
    """``burst`` tokens at most, ``rate`` more per second; not thread-safe (callers lock)."""

    __slots__ = ("rate", "burst", "tokens", "stamp")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.tokens = self.burst
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)

    def wait(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there (0.0: they are there now); takes nothing."""
        if self.rate <= 0:
            return 0.0
        self._refill(now)
        return 0.0 if self.tokens >= cost else (cost - self.tokens) / self.rate

    def take(self, cost: float = 1.0) -> None:
        """Take tokens after :meth:`wait` said they are there (or charge a debt, for input bytes)."""
        if self.rate > 0:
            self.tokens = max(-self.burst, self.tokens - cost)

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.rate <= 0 or self.tokens >= self.burst


KINDS = ("op", "chat", "cursor", "input", "join")


def _buckets(limits: Limits, now: float, *, shared: bool) -> dict[str, TokenBucket]:
    prefix = "address_" if shared else ""
    return {
        kind: TokenBucket(
            getattr(limits, f"{prefix}{kind}_rate"), getattr(limits, f"{prefix}{kind}_burst"), now
        )
        for kind in KINDS
    }


class AddressQuota:
    """What the connections from one address share: their count and their buckets."""

    def __init__(self, limits: Limits, now: float) -> None:
        self.lock = lockorder.leaf("rate limit bucket")
        self.connections = 0
        self.buckets = _buckets(limits, now, shared=True)

    def idle(self, now: float) -> bool:
        with self.lock:
            return self.connections == 0 and all(b.full(now) for b in self.buckets.values())


class AddressTable:
    """Connections per address, and the buckets they share. An address's entry outlives its last
    connection until its buckets are full again, so reconnecting does not refill them."""

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = lockorder.lock("rate limits")  # then an address's bucket lock (a leaf)
        self._quotas: dict[str, AddressQuota] = {}
        self._admitted = 0

    def acquire(self, address: str) -> AddressQuota | None:
        """The address's quota with one more connection counted, or None when it has its maximum."""
        address, now = address_key(address), self.clock()
        with self._lock:
            self._admitted += 1
            if self._admitted % PRUNE_EVERY == 0:
                for key in [k for k, q in self._quotas.items() if q.idle(now)]:
                    del self._quotas[key]
            quota = self._quotas.get(address)
            if quota is None:
                quota = self._quotas[address] = AddressQuota(self.limits, now)
            with quota.lock:
                cap = self.limits.max_connections_per_address
                if cap and quota.connections >= cap:
                    return None
                quota.connections += 1
            return quota

    def release(self, quota: AddressQuota) -> None:
        with quota.lock:
            quota.connections -= 1

    def connections(self, address: str) -> int:
        with self._lock:
            quota = self._quotas.get(address_key(address))
        return 0 if quota is None else quota.connections


class Throttle:
    """The rate limits of one connection. Called only from its reader thread."""

    def __init__(self, limits: Limits, clock: Callable[[], float], shared: AddressQuota | None) -> None:
        self.limits = limits
        self.clock = clock
        now = clock()
        self.own = _buckets(limits, now, shared=False)
        self.shared = shared
        self.blocked_until = dict.fromkeys(KINDS, 0.0)
        self.refusals: deque[float] = deque()

    def admit(self, kind: str, cost: float = 1.0) -> float:
        """0.0 when one ``kind`` costing ``cost`` tokens (at most a burst) may pass now (they are
        taken), else seconds before retrying."""
        now = self.clock()
        if now < self.blocked_until[kind]:
            return _round_up(self.blocked_until[kind] - now)
        buckets = [self.own[kind]]
        if self.shared is not None:
            buckets.append(self.shared.buckets[kind])
        with self.shared.lock if self.shared is not None else contextlib.nullcontext():
            wait = max(b.wait(now, min(cost, b.burst)) for b in buckets)
            if not wait:
                for b in buckets:
                    b.take(min(cost, b.burst))
        if not wait:
            return 0.0
        wait = max(wait, self.limits.rate_retry)
        self.blocked_until[kind] = now + wait
        return _round_up(wait)

    def charge_input(self, size: int) -> float:
        """Count ``size`` bytes just read; seconds the reader should pause before reading more."""
        now = self.clock()
        buckets = [self.own["input"]]
        if self.shared is not None:
            buckets.append(self.shared.buckets["input"])
        wait = 0.0
        with self.shared.lock if self.shared is not None else contextlib.nullcontext():
            for bucket in buckets:
                bucket.wait(now, 0.0)  # refill first
                bucket.take(size)
                wait = max(wait, bucket.wait(now, 0.0))  # until the debt is paid
        return _round_up(wait) if wait else 0.0

    def refused(self) -> bool:
        """Count one refusal; True when the connection passed ``abuse_refusals`` in ``abuse_window``."""
        now = self.clock()
        window, cap = self.limits.abuse_window, self.limits.abuse_refusals
        self.refusals.append(now)
        while self.refusals and self.refusals[0] <= now - window:
            self.refusals.popleft()
        return bool(cap) and len(self.refusals) >= cap


def _round_up(seconds: float) -> float:
    """Milliseconds, rounded up: a client that waits exactly this long finds its tokens there."""
    return math.ceil(seconds * 1000) / 1000
