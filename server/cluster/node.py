"""One process of a cluster: the leases of the rooms it owns, joins to rooms owned elsewhere
redirected, and the thread that renews leases and gives up the rooms it lost.

The owner of a room is the process holding its lease in Redis (SET NX PX, ``scripts.ACQUIRE``), taken
by the first process a member of the room reaches while nobody holds it, and kept (renewed every
``lease_time / RENEW_FRACTION``) while the room is held in memory here. A join reaching another process
is answered ``redirect`` to the owner and closed (redirect, not relay: the owner's board is the
authority, and a relay would pass every echo through two processes and two sockets). Taking a room
rebuilds its local copy from Redis (``ClusterStore.rebuild``) before the join loads it as usual.
A lease this process cannot renew (another took it, Redis was out longer than the lease, or a write
was fenced or did not match) is given up: the room's members are disconnected (error ``moved``, not
fatal) and the room dropped from memory; they reconnect, and the process they reach takes the room or
redirects them to whoever did.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis
from pgboard_server import lockorder
from pgboard_server.cluster import scripts
from pgboard_server.cluster.config import NODE_TTL_LEASES, REDIS_TIMEOUT, RENEW_FRACTION, ClusterConfig
from pgboard_server.cluster.directory import Directory, node_key
from pgboard_server.cluster.roomlog import ClusterStore, RoomLog
from pgboard_server.cluster.scripts import room_key
from pgboard_server.metrics import gauge

from pgboard import names
from pgboard.protocol import Error
from pgboard.protocol_cluster import MAX_PEERS, Peers, Redirect, split_address

if TYPE_CHECKING:
    from pgboard_server.server import BoardServer
    from pgboard_server.session import Session

log = logging.getLogger(__name__)

MOVED = "this room moved to another server; reconnecting"


@dataclass
class Lease:
    name: str  # the room's name as this process holds it
    token: int
    value: str  # "token host:port", the lease key's value while it is ours
    taken_at: float
    renewed_at: float


class Cluster:
    """This process's side of the cluster (see the module's docstring)."""

    def __init__(self, server: BoardServer, config: ClusterConfig) -> None:
        self.server = server
        self.config = config
        self.redis = redis.Redis.from_url(
            config.url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        self.roomlog = RoomLog(self.redis)
        self.directory = Directory(server, self.redis, lambda: self.me, int(config.lease_time * 1000))
        self._acquire = self.redis.register_script(scripts.ACQUIRE)
        self._renew = self.redis.register_script(scripts.RENEW)
        self._release = self.redis.register_script(scripts.RELEASE)
        self._lock = lockorder.leaf("cluster leases")  # held for dict operations, taking nothing else
        self._claiming = threading.Lock()  # one room taken at a time (a Redis read and a local rebuild)
        self._held: dict[str, Lease] = {}  # by folded room name
        self._lost: set[str] = set()  # rooms whose writes were fenced: given up by the next tick
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.peers: tuple[str, ...] = ()  # other live processes, "host:port"
        self.redirects = 0
        self.taken = 0
        self.lost = 0
        self.redis_up = 1
        self.clock = time.monotonic

    @property
    def me(self) -> str:
        host = self.config.advertise or self.server.address[0]
        if host in ("0.0.0.0", "::", ""):  # listening everywhere: clients need a name that reaches us
            host = socket.gethostname()
        return f"{host}:{self.server.address[1]}"

    def store(self, path: object) -> ClusterStore:
        return ClusterStore(str(path), self.roomlog, self.token_of, self.fenced, self.forgotten)

    def start(self) -> None:
        self.redis.ping()  # a wrong URL stops the server at start, with the reason
        self.server.rooms.cluster = self
        self.server.metrics.extra.append(self.metric_lines)
        accounts, friends = self.server.accounts, self.server.friends
        assert accounts is not None and friends is not None
        accounts.remote = self.send_private
        friends.presence = self.directory
        self._tick_nodes()
        self.directory.start()
        self._thread = threading.Thread(target=self._loop, name="pgboard-leases", daemon=True)
        self._thread.start()
        log.info("cluster: %s on %s, leases of %g s", self.me, self.config.url, self.config.lease_time)

    def stop(self) -> None:
        """Give every lease back (the next process takes the rooms at once, not a lease time later)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(REDIS_TIMEOUT + 1)
        self.directory.stop()
        with self._lock:
            held, self._held = dict(self._held), {}
        try:
            for key, lease in held.items():
                self._release(keys=[room_key(key, "lease")], args=[lease.value])
            self.redis.zrem(scripts.NODES, self.me)
            self.redis.delete(node_key(self.me, "rooms"), node_key(self.me, "online"))
        except redis.RedisError as exc:
            log.warning("cluster: leases not given back (they lapse by themselves): %s", exc)
        self.redis.close()

    # -- the directory's questions (server/cluster/directory.py)

    def send_private(self, folded: str, payload: str, keep: bool) -> bool:
        """A private line for an account's devices on other processes: True when a process it is on
        took it (``keep``: kept there if the account left meanwhile; False when a device here has it)."""
        try:
            return self.directory.send_private(folded, payload, keep)
        except redis.RedisError as exc:  # the caller keeps it in the mailbox (Redis too: may fail)
            log.warning("cluster: a private message not relayed: %s", exc)
            return False

    def remote_rooms(self) -> list[tuple[int, str, bool]]:
        """(members, name, has a password) of the rooms other processes own; [] when Redis is away."""
        try:
            return self.directory.remote_rooms()
        except redis.RedisError as exc:
            log.warning("cluster: the other processes' rooms are not listed: %s", exc)
            return []

    # -- the store's questions

    def token_of(self, key: str) -> int | None:
        with self._lock:
            lease = self._held.get(key)
        return lease.token if lease is not None else None

    def owns(self, room: str) -> bool:
        key = names.fold(room)
        with self._lock:
            return key in self._held and key not in self._lost

    def forgotten(self, key: str) -> None:
        """Room ``key`` was forgotten (under its lock): its lease and fence were deleted with it, so
        the next join takes it afresh, with a new token, rather than writing with this one."""
        with self._lock:
            self._held.pop(key, None)
            self._lost.discard(key)

    def fenced(self, key: str) -> None:
        """A write of room ``key`` was refused or half done (called under the room's lock, from the
        store): the room is given up now and its lease at once by the lease thread. Its members are
        closed with ``moved`` before they see the ``store_failed`` of that write, so the operations
        stay unconfirmed in their clients and go, resent, to the room's next owner: nothing drawn is
        dropped (what was queued for them is answered again there, as ``ack``)."""
        with self._lock:
            lease = self._held.get(key)
            if lease is None:
                return
            self._lost.add(key)
        self.server.rooms.evict(lease.name, MOVED, drop_queue=True)
        self._wake.set()

    # -- joins (Rooms.join, before anything else; no lock held)

    def claim(self, session: Session, room: str) -> bool:
        """True when this process owns ``room`` (taking it if nobody does); otherwise ``session`` was
        redirected to its owner, or told to come back, and closed."""
        key = names.fold(room)
        peers = self.peers or self._peers_now()
        if peers:
            session.send(Peers(peers))
        with self._lock:  # the usual case, without waiting behind another room's rebuild
            if key in self._held and key not in self._lost:
                return True
        with self._claiming:
            with self._lock:
                if key in self._held and key not in self._lost:
                    return True
            try:
                token, owner = self._acquire(
                    keys=[room_key(key, "lease"), room_key(key, "fence"), scripts.TOKENS],
                    args=[self.me, int(self.config.lease_time * 1000)],
                )
                if token:
                    return self._take(key, room, int(token))
            except redis.RedisError as exc:
                log.warning("cluster: cannot take room %r: %s", room, exc)
                self._come_back(session, "the cluster's store cannot be reached; retrying")
                return False
        address = owner.decode().partition(" ")[2]
        target = split_address(address)
        if target is None or address == self.me:  # our own lease from before a restart: it lapses
            self._come_back(session, "this room is moving between servers; retrying")
            return False
        self.redirects += 1
        log.info("%r: room %r is on %s: redirected", session, room, address)
        session.send(Redirect(*target))
        session.close("redirected")
        return False

    def _take(self, key: str, room: str, token: int) -> bool:
        """We hold the lease (under _claiming): rebuild the room's local copy from Redis."""
        now = self.clock()
        lease = Lease(room, token, f"{token} {self.me}", now, now)
        self.server.rooms.evict(room, MOVED)  # a copy from an earlier ownership is stale
        assert isinstance(self.server.store, ClusterStore)
        entries = self.server.store.rebuild(room)
        assert self.server.bans is not None
        self.server.bans.reload(key)  # its ban terms and kick holds as Redis has them
        with self._lock:
            self._held[key] = lease
            self._lost.discard(key)
        self.taken += 1
        log.info("cluster: took room %r (token %d, %d log entries after its snapshot)", room, token, entries)
        return True

    @staticmethod
    def _come_back(session: Session, detail: str) -> None:
        session.close("room unavailable", Error("moving", detail, retry=1.0))

    # -- the lease thread

    def _loop(self) -> None:
        interval = self.config.lease_time / RENEW_FRACTION
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.tick()
            except Exception:  # the thread must outlive any one failure
                log.exception("cluster: lease tick failed")

    def tick(self) -> None:
        """Renew the leases of the rooms held; give back those no longer held; give up those lost."""
        now = self.clock()
        held_here = {names.fold(r.name) for r in self.server.rooms.all()}
        with self._lock:
            leases = dict(self._held)
            lost = set(self._lost)
        renew: list[tuple[str, Lease]] = []
        for key, lease in leases.items():
            if key in lost:
                self._give_up(key, lease, "a write was refused or half done")
            elif key not in held_here and now - lease.taken_at > self.config.lease_time:
                self._give_back(key, lease)
            else:
                renew.append((key, lease))
        ms = int(self.config.lease_time * 1000)
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key, lease in renew:
                self._renew(keys=[room_key(key, "lease")], args=[lease.value, ms], client=pipe)
            answers = pipe.execute() if renew else []
            self._tick_nodes()
            self.directory.publish()
            self.redis_up = 1
        except redis.RedisError as exc:
            self.redis_up = 0
            log.warning("cluster: leases not renewed: %s", exc)
            answers = [None] * len(renew)
        for (key, lease), ok in zip(renew, answers, strict=True):
            if ok:
                lease.renewed_at = now
            elif ok is not None or now - lease.renewed_at >= self.config.lease_time:
                self._give_up(key, lease, "its lease lapsed" if ok is None else "another server took it")

    def _tick_nodes(self) -> None:
        now_ms = int(time.time() * 1000)
        ttl = int(self.config.lease_time * 1000 * NODE_TTL_LEASES)
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(scripts.NODES, {self.me: now_ms + ttl})
        pipe.zremrangebyscore(scripts.NODES, "-inf", now_ms)
        pipe.zrange(scripts.NODES, 0, MAX_PEERS)
        nodes = pipe.execute()[2]
        peers = tuple(n.decode() for n in nodes if n.decode() != self.me)[:MAX_PEERS]
        if peers != self.peers:
            self.peers = peers
            self._tell_peers(peers)

    def _peers_now(self) -> tuple[str, ...]:
        """The other processes read from Redis now: this one knew none at its last tick (it started
        first), and a joiner must know where to go if it dies before the next. Not kept in
        ``self.peers``: the next tick sees the change and tells the members who joined knowing none."""
        try:
            return tuple(self.directory.peers()[:MAX_PEERS])
        except redis.RedisError:
            return ()

    def _tell_peers(self, peers: tuple[str, ...]) -> None:
        """Every member here hears the other processes as they are now: one that joined before a
        process started (or before the first tick) knew none, and when this process died it retried
        only here, for ever. Sent from the lease thread under each room's lock (Room -> Session)."""
        told = Peers(peers)
        for room in self.server.rooms.all():
            with room.lock:
                room.broadcast(told)

    def _give_back(self, key: str, lease: Lease) -> None:
        with self._lock:
            if self._held.get(key) is lease:
                del self._held[key]
        try:
            self._release(keys=[room_key(key, "lease")], args=[lease.value])
        except redis.RedisError as exc:
            log.info("cluster: room %r not given back (its lease lapses): %s", lease.name, exc)
        log.info("cluster: gave room %r back, nobody here holds it", lease.name)

    def _give_up(self, key: str, lease: Lease, why: str) -> None:
        with self._lock:
            if self._held.get(key) is lease:
                del self._held[key]
            self._lost.discard(key)
        self.lost += 1
        log.warning("cluster: room %r lost (%s): its members reconnect", lease.name, why)
        self.server.rooms.evict(lease.name, MOVED)
        try:
            self._release(keys=[room_key(key, "lease")], args=[lease.value])
        except redis.RedisError:
            pass

    # -- metrics

    def metric_lines(self) -> list[str]:
        with self._lock:
            held = len(self._held)
        return [
            *gauge("pgboard_cluster_leases_held", "rooms whose lease this process holds", held),
            *gauge("pgboard_cluster_redis_up", "1 if the last lease renewal reached redis", self.redis_up),
            *gauge(
                "pgboard_cluster_private_relayed_total",
                "private messages sent to another process",
                self.directory.relayed,
                "counter",
            ),
            *gauge("pgboard_cluster_rooms_taken_total", "leases taken", self.taken, "counter"),
            *gauge("pgboard_cluster_rooms_lost_total", "leases lost or given up", self.lost, "counter"),
            *gauge(
                "pgboard_cluster_redirects_total",
                "joins redirected to another process",
                self.redirects,
                "counter",
            ),
        ]
