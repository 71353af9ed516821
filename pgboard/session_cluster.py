"""Where the client's next connection goes, in a cluster (pgboard-server --redis): sans-IO, owned by
the ClientSession (``session.routes``) and read by the socket shell (net.py) before each connect.

- After a ``redirect``: the room's owner, at once (no back-off), at most MAX_REDIRECTS times in a row
  without a welcome; past that the redirect is ignored and the usual back-off applies.
- Otherwise: home (the address the user gave) first; each further try without a welcome goes to the
  next of home and the ``peers`` the servers named, in turn. So when the process a client was on dies,
  it reaches a live one, which takes the room or redirects to whoever did.
- The back-off grows once per round of tries (home and every peer once), not once per try.
- A redirect's target that cannot be reached (the owner it named died; its lease has not lapsed yet,
  so every process still names it) is tried again after GONE_OWNER_RETRY, like a room that is moving,
  not after the grown back-off: one lease time after the death the room is taken, and its clients
  are there within about a second, not after back-offs of 4 and 8 s.
A single server sends neither message: then every connection goes home, as before.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from pgboard.protocol_cluster import MAX_PEERS, MAX_REDIRECTS, Peers, Redirect, split_address

if TYPE_CHECKING:
    from pgboard.client_session import ClientSession

logger = logging.getLogger(__name__)

Address = tuple[str, int]

GONE_OWNER_RETRY = 1.0  # seconds (with jitter) before trying again after a redirect led nowhere


class Routes:
    def __init__(self) -> None:
        self.redirect: Address | None = None  # where the next connection goes, once
        self.peers: list[Address] = []  # other servers of the cluster, as last told
        self.redirects = 0  # followed in a row since the last welcome
        self.tries = 0  # connections made since the last welcome, not counting redirects
        self.followed = False  # the connection under way goes where a redirect sent it, not made yet
        self.come_back: float | None = None  # seconds a `moving` or `moved` said to wait (COME_BACK_ERRORS)
        self.current: Address | None = None  # where the connection under way goes

    def target(self, home: Address) -> Address:
        """The address the next connection goes to (see the module's docstring)."""
        self.followed = self.redirect is not None
        if self.redirect is not None:
            target, self.redirect = self.redirect, None
        else:
            ring = [home, *(p for p in self.peers if p != home)]
            target = ring[self.tries % len(ring)]
            self.tries += 1
        self.current = target
        return target

    def reached(self) -> None:
        """The connection under way is made: whatever its server says next counts (a redirect's too)."""
        self.followed = False

    def welcomed(self) -> None:
        self.redirects = 0
        self.tries = 0
        self.followed = False

    def round_of(self, attempt: int) -> int:
        """The round of ``attempt`` around home and the peers: the back-off grows once per round, so a
        dead home is followed soon by its live peers, not after the delay its own failures earned."""
        return 1 + (max(1, attempt) - 1) // (1 + len(self.peers))

    def retry_after(self) -> float | None:
        """Called when a connection ends: the seconds the next try waits when the cluster said so
        (``come_back``), or GONE_OWNER_RETRY when it was a redirect's and never made, else None (the
        usual back-off). Such a redirect is not counted against MAX_REDIRECTS: it led to no server,
        not into a loop."""
        told, followed = self.come_back, self.followed
        self.come_back, self.followed = None, False
        if followed:
            self.redirects = max(0, self.redirects - 1)
        return told if told is not None else GONE_OWNER_RETRY if followed else None

    def handle(self, session: ClientSession, msg: Redirect | Peers, now: float) -> None:
        if isinstance(msg, Peers):
            # the other processes, and the one that says so (it names only the others: when the
            # client's home dies, that one is where it was redirected from, and live)
            known = [split_address(a) for a in msg.addresses[:MAX_PEERS]] + [self.current]
            self.peers = list(dict.fromkeys(a for a in known if a is not None))
            return
        if self.redirects >= MAX_REDIRECTS:
            logger.warning("%d redirects in a row: backing off before trying again", self.redirects)
            self.redirects = 0
            session.connection_lost("too many redirects", now)
            return
        self.redirects += 1
        self.redirect = (msg.host, msg.port)
        self.tries = 0  # a drop from the owner starts at home again
        logger.info("the room is on %s:%d: connecting there", msg.host, msg.port)
        session.connection_lost(f"redirected to {msg.host}:{msg.port}", now, delay=0.0)
        # a redirect is not a failed try: only a failure to reach the owner grows the back-off (counted
        # twice, a room whose owner just died put its clients 4 s apart after two rounds, not 1 s)
        session.attempts = max(0, session.attempts - 1)
