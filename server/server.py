"""BoardServer: the accept loop, the heartbeat and the lifecycle of a pgboard server.

``start()`` binds, replays every room's log from the store and starts the threads; ``stop()`` stops
accepting (the accept loop is woken through a socketpair), tells every client (error "shutdown",
fatal), lets the writers flush and joins every thread. The client's Host button runs the same class.
"""

from __future__ import annotations

import logging
import os
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pgboard_server import game_room, lockorder
from pgboard_server.accounts import Accounts
from pgboard_server.bans import Bans
from pgboard_server.chat import ChatCommands
from pgboard_server.friends import FriendList
from pgboard_server.idlewatch import IdleWatch
from pgboard_server.limits import Limits
from pgboard_server.listener import listen
from pgboard_server.metrics import Metrics, MetricsEndpoint
from pgboard_server.ratelimit import AddressTable
from pgboard_server.room import SHUTDOWN_REASON
from pgboard_server.room_passwords import RoomPasswords
from pgboard_server.rooms import Rooms
from pgboard_server.session import Session
from pgboard_server.store import MEMORY, Store
from pgboard_server.tls import TlsWire
from pgboard_server.votes import Votes

from pgboard.protocol import PROTOCOL_VERSION, Error, Hello, encode

if TYPE_CHECKING:
    from pgboard_server.cluster.config import ClusterConfig
    from pgboard_server.cluster.node import Cluster

log = logging.getLogger(__name__)

SERVER_NAME = "pgboard"
JOIN_GRACE = 1.0  # seconds stop() allows beyond the limits for a thread to end
STOP_LINGER = (
    0.2  # seconds each client gets to close by itself when the server stops (CLOSE_LINGER otherwise)
)
ACCEPT_BACKOFF = 0.1  # seconds the accept loop rests after a failed accept (out of descriptors)


class BoardServer:
    """A threaded pgboard server. Keyword ``limits`` are the fields of :class:`Limits`.

    ``clock`` (monotonic seconds) drives the heartbeat and ``wall_clock`` (Unix seconds) stamps chat
    lines; tests pass fixed or manual ones.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        db_path: str | os.PathLike[str] = MEMORY,
        *,
        name: str = SERVER_NAME,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        tls: ssl.SSLContext | None = None,
        metrics_address: tuple[str, int] | None = None,
        cluster: ClusterConfig | None = None,
        **limits: Any,
    ) -> None:
        unknown = set(limits) - set(Limits.names())
        if unknown:
            raise TypeError(f"unknown limits: {', '.join(sorted(unknown))}")
        self.limits = Limits(**limits)
        self.host, self.port = host, port
        self.db_path = db_path
        self.name = name
        self.clock = clock
        self.tls = tls  # a server context (pgboard_server.tls.server_context): every connection is TLS
        self.store: Store | None = None
        self.rooms: Rooms = None  # type: ignore[assignment]  # set by start()
        self.accounts: Accounts = None  # type: ignore[assignment]  # set by start()
        self.room_passwords: RoomPasswords = None  # type: ignore[assignment]  # set by start()
        self.bans: Bans = None  # type: ignore[assignment]  # set by start()
        self.friends: FriendList = None  # type: ignore[assignment]  # set by start()
        self.votes: Votes = None  # type: ignore[assignment]  # set by start()
        self.chat = ChatCommands(wall_clock)
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._stopping = threading.Event()
        self._lock = lockorder.lock("server")  # its sessions; then an address's quota
        self._sessions: set[Session] = set()
        self._count = 0
        self._threads: list[threading.Thread] = []
        self.addresses = AddressTable(self.limits, clock)
        self.address: tuple[str, int] = (host, port)
        self.metrics = Metrics()  # counted always (cheap); served only on metrics_address (opt-in)
        self.metrics_endpoint = MetricsEndpoint(self, *metrics_address) if metrics_address else None
        self.cluster_config = cluster  # pgboard-server --redis: server/cluster/node.py
        self.cluster: Cluster | None = None
        self.idle = IdleWatch()  # parked idle connections (server/idlewatch.py)

    # -- lifecycle

    def start(self) -> None:
        """Bind, open the store and replay its logs, start accepting; returns when clients can join.

        Clients that connect during the replay wait in the listen backlog."""
        listener = listen(self.host, self.port, self.limits.backlog)  # server/listener.py: IPv6 too
        self.address = listener.getsockname()[:2]  # the cluster redirects to it
        try:
            if self.cluster_config is not None:  # imported only here: redis-py is an optional extra
                from pgboard_server.cluster.node import Cluster

                self.cluster = Cluster(self, self.cluster_config)
                self.store = self.cluster.store(self.db_path)
            else:
                self.store = Store(self.db_path)
            self.metrics.watch_store(self.store)
            self.accounts = Accounts(self.store, self.limits, self.clock)
            self.room_passwords = RoomPasswords(self.store, self.limits, self.clock)
            self.rooms = Rooms(
                self.store,
                self.limits.max_room_members,
                self.limits.chat_history,
                self.limits.catchup_chunk,
                max_rooms=self.limits.max_rooms,
                max_rooms_per_address=self.limits.max_rooms_per_address,
                max_objects=self.limits.max_objects,
                budget=self.limits.budget(),
                accounts=self.accounts,
                passwords=self.room_passwords,
            )
            self.bans = Bans(self.store, self.limits, self.chat.now)
            self.friends = FriendList(self.store, self.limits, self.accounts, self.clock)
            self.votes = Votes(self.limits, self.clock, self.bans, self.accounts)
            started = time.perf_counter()
            # a cluster process holds a room only under its lease, rebuilt from Redis when it takes it
            replayed = self.rooms.replay_all() if self.cluster is None else 0
            if self.cluster is not None:
                self.cluster.start()
            if self.metrics_endpoint is not None:
                self.metrics_endpoint.start()
        except BaseException:
            listener.close()
            if self.cluster is not None:
                self.cluster.stop()
            if self.store is not None:
                self.store.close()
            raise
        if replayed:
            log.info("replayed %d operations in %.2f s", replayed, time.perf_counter() - started)
        self._listener = listener
        self.address = listener.getsockname()[:2]
        self.idle.start()
        for target, name in ((self._accept_loop, "accept"), (self._heartbeat_loop, "heartbeat")):
            thread = threading.Thread(target=target, name=f"pgboard-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        log.info("listening on %s:%d (store %s)", *self.address, self.store.path)
        if self.tls is not None:
            log.info("TLS on: every connection must start with a TLS handshake")

    def stop(self) -> None:
        """Stop accepting, tell every client, flush, join every thread. Idempotent."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        for thread in self._threads:
            thread.join(self.limits.heartbeat_tick + JOIN_GRACE)
        if self._listener is not None:
            self._refuse_waiting(self._listener)
            self._listener.close()
        with self._lock:
            sessions = list(self._sessions)
        linger = min(STOP_LINGER, self.limits.close_linger)
        for s in sessions:
            s.close(
                SHUTDOWN_REASON, Error("shutdown", "the server is shutting down", fatal=True), linger=linger
            )
        wait = self.limits.send_timeout + self.limits.close_linger + JOIN_GRACE
        deadline = time.monotonic() + wait
        for s in sessions:
            # the writer: the one close() started if none ran (an idle connection has none)
            for thread in [t for t in (s.writer, s.reader) if t is not None]:
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    log.warning("%s did not end in time", thread.name)
        self.idle.stop()
        self._wake_r.close()
        self._wake_w.close()
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        if self.cluster is not None:  # after the sessions: its leases go with them
            self.cluster.stop()
        if self.store is not None:
            self.store.close()
        log.info("stopped")

    @staticmethod
    def _refuse_waiting(listener: socket.socket) -> None:
        """Connections still waiting in the backlog are told too, rather than reset."""
        bye = encode(Error("shutdown", "the server is shutting down", fatal=True))
        listener.setblocking(False)
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:  # BlockingIOError: nobody left
                return
            with sock:
                try:
                    sock.settimeout(JOIN_GRACE)
                    sock.sendall(bye)
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

    def __enter__(self) -> BoardServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def sessions(self) -> list[Session]:
        with self._lock:
            return list(self._sessions)

    def forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.discard(session)
        if session.quota is not None:
            self.addresses.release(session.quota)
        self.accounts.forget(session)

    # -- threads

    def _accept_loop(self) -> None:
        assert self._listener is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in sel.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        sock, addr = self._listener.accept()
                    except OSError as exc:  # e.g. EMFILE: keep serving the others, without spinning
                        log.error("accept failed: %s", exc)
                        self._stopping.wait(ACCEPT_BACKOFF)
                        continue
                    self._admit(sock, f"{addr[0]}:{addr[1]}", addr[0])

    def _admit(self, sock: socket.socket, peer: str, address: str = "") -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.limits.send_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.limits.send_buffer)
        sock.settimeout(self.limits.send_timeout)
        refusal: Error | None = None
        with self._lock:
            quota = self.addresses.acquire(address or peer)
            if quota is None:
                refusal = Error(
                    "too_many_connections",
                    f"at most {self.limits.max_connections_per_address} connections from one address",
                    fatal=True,
                )
            elif len(self._sessions) >= self.limits.max_connections:
                self.addresses.release(quota)
                refusal = Error("server_full", "too many connections; try later", fatal=True)
            else:
                self._count += 1
                wire = TlsWire(self.tls) if self.tls is not None else None
                session = Session(self, sock, peer, self._count, quota, wire)
                self._sessions.add(session)
        if refusal is not None:
            log.warning("refusing %s: %s", peer, refusal.detail)
            self._refuse(sock, refusal)
            return
        log.info("%r connected", session)
        session.send(Hello(PROTOCOL_VERSION, self.name))
        session.start()

    @staticmethod
    def _refuse(sock: socket.socket, refusal: Error) -> None:
        """A polite no: the error instead of hello, then the connection closes (never blocks the
        accept loop: the frame fits any fresh socket's send buffer)."""
        try:
            sock.setblocking(False)
            sock.send(encode(refusal))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        sock.close()

    def _heartbeat_loop(self) -> None:
        while not self._stopping.wait(self.limits.heartbeat_tick):
            self.heartbeat()

    def heartbeat(self) -> None:
        """One pass: ping the idle, drop the silent. The heartbeat thread calls it every tick;
        a test with a manual clock may call it directly."""
        now = self.clock()
        for s in self.sessions:
            s.heartbeat(now)
        if self.friends is not None:  # started
            self.friends.tick(now)  # accounts gone past the grace: their friends hear
            self.votes.tick(now)  # votes past their time fail
            for room in self.rooms.all():
                game_room.tick(room, now)  # a game's turns move on
