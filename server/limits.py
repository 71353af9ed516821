"""The server's limits and timings: every one a named constant, overridable per BoardServer.

docs/PROTOCOL.md ("Limits") lists them for client writers. Tests shrink the timings (a heartbeat of a
fraction of a second) instead of waiting for the real ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pgboard.protocol import MAX_USERS_LISTED

DEFAULT_PORT = 5151
LISTEN_BACKLOG = 512  # pending connections the kernel queues before accept()
MAX_CONNECTIONS = 2000  # open connections at once; more are refused with error "server_full"
MAX_ROOM_MEMBERS = 200  # members of one room; more get join_error "room_full"
PING_INTERVAL = 10.0  # seconds of silence from a peer before the server sends it a ping
TIMEOUT = 30.0  # seconds of silence after which a peer is dropped ("timed out")
HEARTBEAT_TICK = 1.0  # seconds between two heartbeat passes over every connection
SEND_QUEUE_LIMIT = 4 * 1024 * 1024  # bytes of live frames queued for one client before it is dropped
SEND_BUFFER = 512 * 1024  # SO_SNDBUF of each connection (0: the kernel's autotuning): with the queue,
# it bounds what a stalled client costs the server
SEND_TIMEOUT = 10.0  # seconds one send may block before the connection is given up
CLOSE_LINGER = 1.0  # seconds to wait for the peer to close after a fatal error was sent
WRITE_BATCH = 256 * 1024  # bytes joined into one sendall() by a writer
RECV_SIZE = 64 * 1024  # bytes asked of one recv()
CHAT_HISTORY = 50  # room chat lines replayed to a joiner (history=true)
CATCHUP_CHUNK = 2000  # logged operations read from the store at a time during an "ops" catch-up


@dataclass(frozen=True)
class Limits:
    """The knobs of one server; ``BoardServer(**kw)`` and the CLI override any of them."""

    backlog: int = LISTEN_BACKLOG
    max_connections: int = MAX_CONNECTIONS
    max_room_members: int = MAX_ROOM_MEMBERS
    ping_interval: float = PING_INTERVAL
    timeout: float = TIMEOUT
    heartbeat_tick: float = HEARTBEAT_TICK
    send_queue_limit: int = SEND_QUEUE_LIMIT
    send_buffer: int = SEND_BUFFER
    send_timeout: float = SEND_TIMEOUT
    close_linger: float = CLOSE_LINGER
    write_batch: int = WRITE_BATCH
    recv_size: int = RECV_SIZE
    chat_history: int = CHAT_HISTORY
    catchup_chunk: int = CATCHUP_CHUNK

    def __post_init__(self) -> None:
        if not 1 <= self.max_room_members <= MAX_USERS_LISTED:
            raise ValueError(f"max_room_members must be 1-{MAX_USERS_LISTED}: welcome lists every member")
        if self.send_queue_limit < self.recv_size:
            raise ValueError("send_queue_limit must be at least recv_size (one input chunk)")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))
