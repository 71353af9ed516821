"""Cluster mode's settings (pgboard-server --redis URL, --advertise, --lease-time): no Redis import
here, so the server and its command line load without the optional extra."""

from __future__ import annotations

from dataclasses import dataclass

# seconds a room's lease lasts unless renewed: how long a crashed owner's rooms wait before another
# process takes them (clients are back within about this plus their reconnect back-off)
LEASE_TIME = 5.0
RENEW_FRACTION = 3  # renewed every LEASE_TIME / 3: two renewals may fail before the lease lapses
REDIS_TIMEOUT = 2.0  # seconds one Redis command may take before the server gives up on it
NODE_TTL_LEASES = 3  # a process stays listed among the peers this many lease times after its last tick


@dataclass(frozen=True)
class ClusterConfig:
    url: str  # redis://HOST:PORT/DB
    advertise: str = ""  # the host clients are redirected to ("" : the address the server listens on)
    lease_time: float = LEASE_TIME

    def __post_init__(self) -> None:
        if not self.lease_time > 0:
            raise ValueError("the lease time must be positive")
