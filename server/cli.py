"""The pgboard-server command: run a BoardServer until SIGINT or SIGTERM, then shut down cleanly.

The first line on standard output is "listening on HOST:PORT" (the real port when --port 0), so a
script or a test can find the server; ``--port-file`` also writes the port to a file.
"""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pgboard_server import backup
from pgboard_server import limits as L
from pgboard_server.cluster.config import LEASE_TIME, ClusterConfig
from pgboard_server.server import SERVER_NAME, BoardServer
from pgboard_server.store import MEMORY, default_db_path
from pgboard_server.store_damage import EXIT_STORE, StoreUnusable
from pgboard_server.tls import file_fingerprint, server_context

log = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pgboard-server",
        description="The pgboard board server: rooms, the board log (SQLite) and chat.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog="The first line on standard output is 'listening on HOST:PORT'. SIGINT or SIGTERM stops "
        "the server cleanly: clients are told (error 'shutdown'), queues are flushed, the exit status is 0. "
        "The wire protocol and every limit are described in docs/PROTOCOL.md.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (0.0.0.0 to accept other machines)"
    )
    p.add_argument("--port", type=int, default=L.DEFAULT_PORT, help="TCP port (0: any free port)")
    p.add_argument(
        "--db",
        default=str(default_db_path()),
        help="SQLite file of the board logs (:memory: to keep nothing)",
    )
    p.add_argument(
        "--backup",
        type=Path,
        metavar="FILE",
        help="copy the --db store to FILE and exit (SQLite's online backup: a server may be running on "
        "the store meanwhile); FILE is replaced only by a complete, checked copy",
    )
    p.add_argument("--name", default=SERVER_NAME, help="server name sent in the hello frame")
    p.add_argument(
        "--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"), help="logging level"
    )
    p.add_argument("--port-file", type=Path, help="also write the listening port to this file")
    p.add_argument(
        "--fixed-time",
        type=int,
        metavar="UNIX_SECONDS",
        help="stamp every chat line with this time instead of the clock's (to replay docs/PROTOCOL.md's "
        "transcript, which fixes it at 1700000000, byte for byte against this server)",
    )
    p.add_argument(
        "--accounts",
        action="store_true",
        help="let users sign up and log in (nickname and password); registered names are reserved",
    )
    p.add_argument(
        "--motd",
        default="",
        help=f"the server's greeting, shown to everyone who joins (at most {L.MAX_MOTD} characters)",
    )
    p.add_argument(
        "--hidden-rooms",
        default="",
        metavar="ROOM,ROOM",
        help="rooms never shown in the list of rooms (joined only by those who know the name)",
    )
    p.add_argument("--tls-cert", type=Path, help="TLS: the certificate chain (PEM); clients must use --tls")
    p.add_argument("--tls-key", type=Path, help="TLS: the certificate's private key (PEM)")
    g_ops = p.add_argument_group("metrics and cluster")
    g_ops.add_argument(
        "--metrics-port",
        type=int,
        metavar="PORT",
        help="serve Prometheus metrics at http://METRICS_HOST:PORT/metrics (0: any port; off if not given)",
    )
    g_ops.add_argument("--metrics-host", default="127.0.0.1", help="address the metrics listen on")
    g_ops.add_argument(
        "--redis",
        metavar="URL",
        help="cluster mode: share rooms with the other servers on this Redis (redis://HOST:PORT/DB); "
        "needs pip install 'pgboard[cluster]' (docs/ARCHITECTURE.md, 'Cluster mode')",
    )
    g_ops.add_argument(
        "--advertise",
        default="",
        metavar="HOST",
        help="cluster mode: the host other servers redirect clients to (default: --host)",
    )
    g_ops.add_argument(
        "--lease-time",
        type=float,
        default=LEASE_TIME,
        help="cluster mode: seconds a room's lease lasts unless renewed (how long a crashed server's "
        "rooms wait before another server takes them)",
    )
    g_tls = p.add_argument_group("TLS")
    g_tls.add_argument(
        "--tls-handshake-timeout",
        type=float,
        default=L.TLS_HANDSHAKE_TIMEOUT,
        help="seconds a client may take to complete the TLS handshake",
    )
    g = p.add_argument_group("limits")
    g.add_argument("--max-connections", type=int, default=L.MAX_CONNECTIONS, help="open connections")
    g.add_argument("--max-room-members", type=int, default=L.MAX_ROOM_MEMBERS, help="members per room")
    g.add_argument(
        "--ping-interval", type=float, default=L.PING_INTERVAL, help="seconds of silence before a ping"
    )
    g.add_argument("--timeout", type=float, default=L.TIMEOUT, help="seconds of silence before a drop")
    g.add_argument(
        "--heartbeat-tick",
        type=float,
        default=L.HEARTBEAT_TICK,
        help="seconds between two checks of every connection's silence (a drop is this late at most)",
    )
    g.add_argument(
        "--send-queue-limit",
        type=int,
        default=L.SEND_QUEUE_LIMIT,
        help="bytes queued for a client that does not read",
    )
    g.add_argument(
        "--send-buffer",
        type=int,
        default=L.SEND_BUFFER,
        help="SO_SNDBUF per connection in bytes (0: kernel default)",
    )
    g.add_argument("--send-timeout", type=float, default=L.SEND_TIMEOUT, help="seconds one send may block")
    g.add_argument("--chat-history", type=int, default=L.CHAT_HISTORY, help="chat lines replayed to joiners")
    g.add_argument("--backlog", type=int, default=L.LISTEN_BACKLOG, help="listen backlog")
    for name, kind, what in ABUSE_OPTIONS:
        g.add_argument(f"--{name.replace('_', '-')}", type=kind, default=getattr(DEFAULTS, name), help=what)
    g.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="turn every rate limit and the per-address connection and room caps off (for benchmarks)",
    )
    g.add_argument(
        "--login-failures",
        type=int,
        default=L.LOGIN_FAILURES,
        help="failed logins (room passwords) per (account or room, address) and per address, per window",
    )
    g.add_argument(
        "--login-window", type=float, default=L.LOGIN_WINDOW, help="seconds over which failures count"
    )
    g.add_argument("--min-password", type=int, default=L.MIN_PASSWORD, help="characters of a password")
    g.add_argument(
        "--mailbox-limit", type=int, default=L.MAILBOX_LIMIT, help="messages kept for an offline account"
    )
    return p


DEFAULTS = L.Limits()
# The abuse and resource limits (docs/PROTOCOL.md, "Limits"): Limits fields, one option each.
ABUSE_OPTIONS: tuple[tuple[str, type, str], ...] = (
    ("max_rooms", int, "rooms the server holds; a join that would create one more is refused"),
    ("max_rooms_per_address", int, "rooms held that were created from one IP address (0: no cap)"),
    ("max_objects", int, "objects on one room's board"),
    ("max_board_points", int, "points on one room's board (more: board_full)"),
    (
        "max_board_bytes",
        int,
        "bytes of one room's board: 128 an object, 4 a point, its text (more: board_full)",
    ),
    ("compact_factor", float, "a room's log is compacted when it outgrows its board this many times"),
    ("compact_min_bytes", int, "bytes of log a room keeps at least before it is compacted"),
    ("chat_kept", int, "room chat lines kept in the store per room (older are deleted)"),
    ("max_connections_per_address", int, "open connections from one IP address (0: no cap)"),
    ("join_timeout", float, "seconds a connection may take to join a room before it is closed"),
    ("unjoined_max_frame", int, "bytes of one frame from a connection that has not joined yet"),
    ("op_rate", float, "drawing operations a second per connection (0: no limit)"),
    ("op_burst", float, "drawing operations a connection may send at once"),
    ("chat_rate", float, "chat lines a second per connection"),
    ("chat_burst", float, "chat lines a connection may send at once"),
    ("cursor_rate", float, "cursor positions a second per connection (more are dropped)"),
    ("cursor_burst", float, "cursor positions a connection may send at once"),
    ("input_rate", float, "bytes a second of input per connection"),
    ("input_burst", float, "bytes of input a connection may send at once"),
    ("join_rate", float, "joins a second per connection"),
    ("join_burst", float, "joins a connection may send at once"),
    ("address_op_rate", float, "drawing operations a second per address"),
    ("address_op_burst", float, "drawing operations an address may send at once"),
    ("address_chat_rate", float, "chat lines a second per address"),
    ("address_chat_burst", float, "chat lines an address may send at once"),
    ("address_cursor_rate", float, "cursor positions a second per address"),
    ("address_cursor_burst", float, "cursor positions an address may send at once"),
    ("address_input_rate", float, "bytes a second of input per address"),
    ("address_input_burst", float, "bytes of input an address may send at once"),
    ("address_join_rate", float, "joins a second per address"),
    ("address_join_burst", float, "joins an address may send at once"),
    ("password_check_rate", float, "room-password checks (scrypt) a second per address, through join"),
    ("password_check_burst", float, "room-password checks an address may ask for at once"),
    ("signup_rate", float, "sign-ups a second per address (default one a minute)"),
    ("signup_burst", float, "sign-ups an address may make at once"),
    ("name_lookup_rate", float, "answers a second per address that tell whether a nickname is registered"),
    ("name_lookup_burst", float, "such answers an address may ask for at once"),
    ("max_ban", float, "seconds: the longest timed ban (/ban NICK 15m)"),
    ("ban_address_hold", float, "seconds a banned guest's address keeps new guests out, at most"),
    ("kick_hold", float, "seconds a kicked user (and new guests from a kicked guest's address) stays out"),
    ("rooms_listed", int, "open rooms a `rooms` answer lists at most (the busiest first)"),
    ("max_friends", int, "friends an account keeps at most (/friend NICK)"),
    ("friend_offline_grace", float, "seconds an account may be gone before its friends hear it went offline"),
    ("roll_max_dice", int, "dice one /roll NdM throws at most (N)"),
    ("roll_max_sides", int, "sides of a die in /roll NdM at most (M)"),
    ("vote_timeout", float, "seconds a /vote kick lasts before it fails"),
    ("vote_cooldown", float, "seconds before the starter of a /vote may start another in that room"),
    ("rate_retry", float, "seconds a refused kind of input stays refused, at least"),
    ("abuse_refusals", int, "refusals within --abuse-window that disconnect a client (0: never)"),
    ("abuse_window", float, "seconds over which refusals are counted"),
)


def abuse_limits(args: argparse.Namespace) -> dict[str, Any]:
    """The abuse and resource limits chosen on the command line, as BoardServer keywords."""
    chosen: dict[str, Any] = {name: getattr(args, name) for name, _, _ in ABUSE_OPTIONS}
    if args.no_rate_limits:
        chosen.update(L.NO_RATE_LIMITS)
    return chosen


FILE_SLACK = 64  # descriptors besides the connections: the store, the listener, the wake-up pair, logs


def raise_file_limit(connections: int) -> None:
    """Let the process open a descriptor per connection: many systems start with a soft limit of 1024."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + FILE_SLACK
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        log.debug("open files limit raised from %d to %d", soft, wanted)


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if len(args.motd) > L.MAX_MOTD:
        p.error(f"--motd is {len(args.motd)} characters; at most {L.MAX_MOTD}")
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    if args.backup is not None:
        if args.db == MEMORY:
            p.error("--backup copies a store file: --db names it")
        return backup.run(args.db, str(args.backup))
    if (args.tls_cert is None) != (args.tls_key is None):
        p.error("--tls-cert and --tls-key go together")
    context = None
    if args.tls_cert is not None:
        try:
            context = server_context(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as exc:
            log.error("cannot load the TLS certificate or key: %s", exc)
            return 1
        fingerprint = file_fingerprint(args.tls_cert)
        log.info("TLS certificate fingerprint (clients may check it): SHA256 %s", fingerprint)
    cluster = None
    if args.redis:
        try:
            import redis  # noqa: F401 - the optional extra, checked before anything starts
        except ImportError:
            log.error("--redis needs redis-py: pip install 'pgboard[cluster]'")
            return 2
        try:
            cluster = ClusterConfig(args.redis, args.advertise, args.lease_time)
        except ValueError as exc:
            p.error(str(exc))
    server = BoardServer(
        args.host,
        args.port,
        args.db,
        name=args.name,
        tls=context,
        metrics_address=None if args.metrics_port is None else (args.metrics_host, args.metrics_port),
        cluster=cluster,
        tls_handshake_timeout=args.tls_handshake_timeout,
        max_connections=args.max_connections,
        max_room_members=args.max_room_members,
        ping_interval=args.ping_interval,
        timeout=args.timeout,
        heartbeat_tick=args.heartbeat_tick,
        send_queue_limit=args.send_queue_limit,
        send_buffer=args.send_buffer,
        send_timeout=args.send_timeout,
        chat_history=args.chat_history,
        backlog=args.backlog,
        **abuse_limits(args),
        accounts=args.accounts,
        login_failures=args.login_failures,
        login_window=args.login_window,
        min_password=args.min_password,
        mailbox_limit=args.mailbox_limit,
        motd=args.motd,
        hidden_rooms=tuple(r.strip() for r in args.hidden_rooms.split(",") if r.strip()),
        **({} if args.fixed_time is None else {"wall_clock": lambda: args.fixed_time}),
    )
    raise_file_limit(args.max_connections)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        log.info("%s: shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
    except StoreUnusable as exc:  # one line that names the file and what to do, no traceback
        log.error("cannot start: %s", exc)
        return EXIT_STORE
    except OSError as exc:
        log.error("cannot start: %s", exc)
        return 1
    except Exception as exc:  # redis.RedisError: the cluster's Redis cannot be reached
        if args.redis and type(exc).__module__.startswith("redis"):
            log.error("cannot start: redis at %s: %s", args.redis, exc)
            return 1
        raise
    host, port = server.address
    if args.port_file:
        args.port_file.write_text(f"{port}\n")
    sys.stdout.write(f"listening on {host}:{port}\n")
    if server.metrics_endpoint is not None:
        sys.stdout.write("metrics on http://{}:{}/metrics\n".format(*server.metrics_endpoint.address))
    sys.stdout.flush()
    while not stop.wait(1.0):  # the main thread must stay interruptible for the signal handler
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
