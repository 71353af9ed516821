"""The server's limits and timings: every one a named constant, overridable per BoardServer.

docs/PROTOCOL.md ("Limits") lists them for client writers. Tests shrink the timings (a heartbeat of a
fraction of a second) instead of waiting for the real ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from pgboard_server.budget import RoomBudget
from pgboard_server.passwords import SCRYPT_N, SCRYPT_P, SCRYPT_R

from pgboard.board import MAX_OBJECTS as BOARD_MAX_OBJECTS
from pgboard.protocol import DEFAULT_PORT as DEFAULT_PORT  # --port's default: the protocol's
from pgboard.protocol import MAX_RETRY, MAX_ROOMS_LISTED, MAX_TEXT, MAX_USERS_LISTED
from pgboard.protocol_friends import MAX_FRIENDS_LISTED

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
MAX_ROOMS = 1000  # rooms a server holds (each keeps its board in memory); a join that would create
# one more gets join_error "too_many_rooms"
MAX_ROOMS_PER_ADDRESS = 50  # rooms held that were created from one IP address; a join that would
# create another gets join_error "too_many_rooms_from_address" (one address made all 1,000 in ~1 s).
# Empty rooms with nothing to keep are forgotten when their last member leaves and count for nobody;
# rooms with content count until they are put away (dropped from memory, reloaded on join) to make
# room for another, least recently joined first. A class of 30 behind one school NAT fits.
JOIN_TIMEOUT = 20.0  # seconds from accept to joining a room (TLS handshake and login included); a
# connection still not in a room is closed with error "join_timeout": before it joins, no input keeps
# it alive (a byte of white space every few seconds kept 256 connections and their buffers forever)
UNJOINED_MAX_FRAME = 8 * 1024  # bytes of one frame before the connection joined: the largest join,
# login or passwd is 3 name fields of 200 characters, each at most 12 bytes as JSON escapes (a
# surrogate pair), plus a 64-character client secret: under 7,400 bytes. MAX_FRAME applies after the
# join; an unjoined connection buffers at most this (256 of them held 149 MiB with MAX_FRAME)
MAX_OBJECTS = BOARD_MAX_OBJECTS  # objects on one room's board; more get error "board_full"
# A board's points and bytes (server/budget.py): an add, extend, undo or redo past either gets
# "board_full". A busy lesson (30 people, an hour, each drawing a fifth of the time at ~60 points a
# second) puts ~1.3 million points on a board; the client benchmark's 100,000-object board has 3.9
# million, just under this limit (it had 7.7 million, more than a room may hold). 4 million points is
# three busy lessons (800 strokes of the 5,000 allowed, or 50,000 strokes of 80), and costs the server
# ~80 bytes a point (measured in tests/test_server_budget.py): ~310 MiB for the fullest room, the same
# after a restart (points are stored packed); ~130 bytes a point once moved (a move makes fresh
# coordinates): up to ~500 MiB.
MAX_BOARD_POINTS = 4_000_000
# 128 bytes an object + 4 a point + its text's UTF-8 (server/budget.py object_bytes): the fullest board
# of points is 16 MB of them + 6.4 MB for 50,000 strokes; the rest bounds text (200,000 texts of 2,000
# characters would be 400 MB), and with it what a board catch-up sends and a snapshot stores.
MAX_BOARD_BYTES = 32 * 1024 * 1024
# The log is compacted (a snapshot of the board, the log before it deleted: server/room.py) when its
# bytes pass COMPACT_FACTOR times the board's (and COMPACT_MIN_BYTES): the log of a board drawn once
# is ~1.4x the board's bytes, so only deletes, moves, undos and the extends of strokes drawn live make
# it; writing a snapshot then costs at most half the log written since the last one.
COMPACT_FACTOR = 2.0
COMPACT_MIN_BYTES = 1024 * 1024
CHAT_KEPT = 200  # room chat lines kept in the store per room (older deleted): 4x CHAT_HISTORY, so a
# server restarted with a longer --chat-history still has lines to replay

# Rate limits (server/ratelimit.py): a rate per second and a burst, per connection and per address
# (every connection from one IP address shares the address's buckets). A rate of 0 turns one off.
# A pencil stroke sends about 60 extends a second; 20 people behind one school NAT share an address.
OP_RATE, OP_BURST = 200.0, 400  # drawing operations per connection; more get error "rate_limited"
# An operation that lists many objects (a batch, a clear) costs one of OP_RATE's tokens per
# OBJECTS_PER_OP objects, at most a whole burst: every client in the room repaints what it changes (a
# peer replacing 1,400 thick strokes by one batch 8 times a second held every client near 6 frames a
# second; now one such batch passes every 1.4 s). A clear of a whole board still passes, one per burst.
OBJECTS_PER_OP = 10
CHAT_RATE, CHAT_BURST = 5.0, 20  # chat lines (and commands) per connection
CURSOR_RATE, CURSOR_BURST = 120.0, 240  # cursor positions per connection; more are dropped silently
INPUT_RATE, INPUT_BURST = 1024 * 1024, 8 * 1024 * 1024  # bytes of input per connection; the reader
# pauses until a debt is paid (TCP then slows the sender down) and says so with "rate_limited"
JOIN_RATE, JOIN_BURST = 2.0, 10  # joins per connection: a client joins once; a refused name is retried
# (each join costs a room's rights read from the store, and maybe a room password's slow hash: a
# script refused 20,000 times a connection burned 4 s of a core and slowed others' joins 2.7x)
ADDRESS_OP_RATE, ADDRESS_OP_BURST = 2000.0, 4000
ADDRESS_CHAT_RATE, ADDRESS_CHAT_BURST = 40.0, 100
ADDRESS_CURSOR_RATE, ADDRESS_CURSOR_BURST = 2400.0, 4800
ADDRESS_INPUT_RATE, ADDRESS_INPUT_BURST = 8 * 1024 * 1024, 32 * 1024 * 1024
ADDRESS_JOIN_RATE, ADDRESS_JOIN_BURST = 50.0, 200  # a class of 200 behind one NAT joining at once
MAX_CONNECTIONS_PER_ADDRESS = 64  # open connections from one IP address; more get "too_many_connections"
RATE_RETRY = 0.5  # seconds a refused kind of input stays refused, at least (the error's "retry")
ABUSE_REFUSALS = 5000  # refusals within ABUSE_WINDOW after which a connection is dropped ("flooding"):
# a client that keeps at most 100 operations in flight and waits out "retry" stays far below it
ABUSE_WINDOW = 10.0  # seconds
TLS_HANDSHAKE_TIMEOUT = 5.0  # seconds a TLS handshake may take (in the connection's own thread); a
# plain client, silent until it hears hello, gets error "tls_required" after it
MAX_INPUT_PAUSE = 5.0  # seconds the reader pauses at most for an input debt (below PING_INTERVAL)
# seconds a connection's writer thread waits for work before it ends: an idle connection keeps one
# thread (its reader), and a socket that stalls now and then does not start a thread each time
WRITER_IDLE = 2.0
# milliseconds a member's reader thread waits for input before the connection is parked without a thread
# (server/idlewatch.py): a thread costs ~16 KiB; waking one again costs ~0.1 ms, once per silence
READER_IDLE_MS = 2000
LOGIN_FAILURES = 5  # failures per (account or room, address) and per address within LOGIN_WINDOW
LOGIN_WINDOW = 60.0  # seconds: after LOGIN_FAILURES failures in this window, wait until the oldest expires
MIN_PASSWORD = 6  # characters of an account password at least
# Slow work paced per address (server/pacing.py): each room-password check through join (and each new
# room's password), and each login's check, is one scrypt (~40 ms CPU, 16 MiB): unpaced, pipelined
# joins from one address held two cores. 2 a second is 8% of a core per address and per bucket (rooms,
# logins); a burst of 10 covers a family behind one NAT.
PASSWORD_CHECK_RATE, PASSWORD_CHECK_BURST = 2.0, 10  # more get too_many_attempts + retry
# Sign-ups per address: an account is kept forever, so one address may make 10 at once, then one a
# minute (was ~33 a second, bounded only by the chat pace).
SIGNUP_RATE, SIGNUP_BURST = 1 / 60, 10  # more get account_error too_many_attempts + retry
MAILBOX_LIMIT = 100  # private lines kept for one offline account; more are refused ("mailbox_full")
# Answers that tell whether a nickname is registered (a guest's join or /nick, /msg to someone not in
# the room) are paced per address: one address asked ~27,000 names a second through join. A guest
# coming back to a room under a name it had there asks nothing new and is not charged. A class of 30
# behind one NAT joining and renaming once fits in the burst; then one a second (3,600 an hour).
NAME_LOOKUP_RATE, NAME_LOOKUP_BURST = 1.0, 60  # more get too_many_attempts / rate_limited + retry
MAX_BAN = 30 * 86400  # seconds: the longest timed ban (/ban NICK 30d); longer is /ban NICK, until /unban
# A ban or kick of a guest holds its address against NEW guests (author ids never seen in the room)
# for the ban's time, at most this: addresses change hands (phones, school NATs), so not forever.
BAN_ADDRESS_HOLD = 3600.0  # seconds (a lesson)
KICK_HOLD = 120.0  # seconds a kicked author id (and its guest address, for new guests) stays out
# A `rooms` request (the open rooms and their member counts) reads every held room under the server's
# rooms lock and one password row per listed room: paced like chat lines (CHAT_RATE), and cut to the
# busiest ROOMS_LISTED (the wire's MAX_ROOMS_LISTED at most). Rooms named by --hidden-rooms never show.
ROOMS_LISTED = MAX_ROOMS_LISTED
MAX_MOTD = MAX_TEXT  # characters of --motd, the greeting each joiner gets as a notice (one chat line)
# Friends (server/friends.py): an account's list, kept in the store. Each presence change of an account
# is pushed to the connections of its mutual friends (at most this many accounts), and /friends answers
# with the whole list in one frame (the wire's MAX_FRIENDS_LISTED at most).
MAX_FRIENDS = 100  # more get error too_many_friends
FRIEND_OFFLINE_GRACE = 5.0  # seconds an account may be gone before its friends hear "went offline": the
# client's /join is a new connection (the old one closes first) and a dropped link reconnects; within
# this, friends hear "moved to ROOM" (or nothing) instead of offline-then-online
# Fair commands (server/dice.py, server/votes.py): rolled and counted by the server, shown to the room.
ROLL_MAX_DICE = 100  # /roll NdM: N at most (the notice lists every die: 100 of 4 digits is ~700 chars)
ROLL_MAX_SIDES = 1000  # /roll NdM: M at most
VOTE_TIMEOUT = 30.0  # seconds a /vote kick may take; it fails at the first heartbeat after it
VOTE_COOLDOWN = 120.0  # seconds before the starter of a vote (their author id, or their address: a
# guest's fresh secret is a new id) may start another in that room; one vote at a time per room anyway


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
    max_rooms: int = MAX_ROOMS
    max_rooms_per_address: int = MAX_ROOMS_PER_ADDRESS
    max_objects: int = MAX_OBJECTS
    max_board_points: int = MAX_BOARD_POINTS
    max_board_bytes: int = MAX_BOARD_BYTES
    compact_factor: float = COMPACT_FACTOR
    compact_min_bytes: int = COMPACT_MIN_BYTES
    chat_kept: int = CHAT_KEPT
    op_rate: float = OP_RATE
    op_burst: float = OP_BURST
    chat_rate: float = CHAT_RATE
    chat_burst: float = CHAT_BURST
    cursor_rate: float = CURSOR_RATE
    cursor_burst: float = CURSOR_BURST
    input_rate: float = INPUT_RATE
    input_burst: float = INPUT_BURST
    join_rate: float = JOIN_RATE
    join_burst: float = JOIN_BURST
    address_op_rate: float = ADDRESS_OP_RATE
    address_op_burst: float = ADDRESS_OP_BURST
    address_chat_rate: float = ADDRESS_CHAT_RATE
    address_chat_burst: float = ADDRESS_CHAT_BURST
    address_cursor_rate: float = ADDRESS_CURSOR_RATE
    address_cursor_burst: float = ADDRESS_CURSOR_BURST
    address_input_rate: float = ADDRESS_INPUT_RATE
    address_input_burst: float = ADDRESS_INPUT_BURST
    address_join_rate: float = ADDRESS_JOIN_RATE
    address_join_burst: float = ADDRESS_JOIN_BURST
    max_connections_per_address: int = MAX_CONNECTIONS_PER_ADDRESS
    rate_retry: float = RATE_RETRY
    abuse_refusals: int = ABUSE_REFUSALS
    abuse_window: float = ABUSE_WINDOW
    accounts: bool = False  # sign-up and log-in (pgboard-server --accounts)
    login_failures: int = LOGIN_FAILURES
    login_window: float = LOGIN_WINDOW
    min_password: int = MIN_PASSWORD
    password_check_rate: float = PASSWORD_CHECK_RATE
    password_check_burst: float = PASSWORD_CHECK_BURST
    signup_rate: float = SIGNUP_RATE
    signup_burst: float = SIGNUP_BURST
    mailbox_limit: int = MAILBOX_LIMIT
    name_lookup_rate: float = NAME_LOOKUP_RATE
    name_lookup_burst: float = NAME_LOOKUP_BURST
    max_ban: float = MAX_BAN
    ban_address_hold: float = BAN_ADDRESS_HOLD
    kick_hold: float = KICK_HOLD
    scrypt_n: int = SCRYPT_N  # the cost of new password hashes (tests lower it); old hashes keep theirs
    scrypt_r: int = SCRYPT_R
    scrypt_p: int = SCRYPT_P
    tls_handshake_timeout: float = TLS_HANDSHAKE_TIMEOUT
    join_timeout: float = JOIN_TIMEOUT
    unjoined_max_frame: int = UNJOINED_MAX_FRAME
    rooms_listed: int = ROOMS_LISTED
    hidden_rooms: tuple[str, ...] = ()  # rooms a `rooms` answer never lists (--hidden-rooms a,b)
    motd: str = ""  # the server's greeting, a notice to every joiner (--motd TEXT)
    max_friends: int = MAX_FRIENDS
    friend_offline_grace: float = FRIEND_OFFLINE_GRACE
    roll_max_dice: int = ROLL_MAX_DICE
    roll_max_sides: int = ROLL_MAX_SIDES
    vote_timeout: float = VOTE_TIMEOUT
    vote_cooldown: float = VOTE_COOLDOWN

    def __post_init__(self) -> None:
        if not 0 < self.login_window <= MAX_RETRY:
            raise ValueError(f"login_window must be 0-{MAX_RETRY} s: a retry is at most that")
        if not 1 <= self.max_room_members <= MAX_USERS_LISTED:
            raise ValueError(f"max_room_members must be 1-{MAX_USERS_LISTED}: welcome lists every member")
        if self.compact_factor < 1.0:
            raise ValueError(
                "compact_factor must be at least 1: a log smaller than its board is never compacted"
            )
        if self.chat_kept < self.chat_history:
            raise ValueError("chat_kept must be at least chat_history: the lines replayed are kept ones")
        if not 0 <= self.rooms_listed <= MAX_ROOMS_LISTED:
            raise ValueError(f"rooms_listed must be 0-{MAX_ROOMS_LISTED}: the wire allows no more")
        if len(self.motd) > MAX_MOTD:
            raise ValueError(f"motd must be at most {MAX_MOTD} characters")
        if not 0 <= self.max_friends <= MAX_FRIENDS_LISTED:
            raise ValueError(f"max_friends must be 0-{MAX_FRIENDS_LISTED}: /friends lists them in one frame")
        if not (1 <= self.roll_max_dice <= ROLL_MAX_DICE * 10 and 2 <= self.roll_max_sides <= 10**6):
            raise ValueError("roll_max_dice must be 1-1000 and roll_max_sides 2-1000000 (one notice)")
        if self.send_queue_limit < self.recv_size:
            raise ValueError("send_queue_limit must be at least recv_size (one input chunk)")

    def budget(self) -> RoomBudget:
        """What each room may keep (server/budget.py)."""
        return RoomBudget(
            self.max_board_points,
            self.max_board_bytes,
            self.compact_factor,
            self.compact_min_bytes,
            self.chat_kept,
        )

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))


# Every rate limit off, no cap on connections per address, nobody dropped for flooding: for
# benchmarks and load tests that push one loopback address flat out (``pgboard-server --no-rate-limits``).
NO_RATE_LIMITS: dict[str, float] = {
    **{name: 0.0 for name in Limits.names() if name.endswith("_rate")},
    "max_connections_per_address": 0,
    "max_rooms_per_address": 0,
    "abuse_refusals": 0,
}
