"""What one process tells the others: the rooms it owns (with their member counts), the accounts
logged in on it, and private messages for them.

- **Rooms** (``pgboard:node:{ME}:rooms``, a hash: room name -> JSON [members, has a password]):
  rewritten by the lease thread at every tick, with the lease time as its expiry, so the rooms of a
  process that dies leave every listing when their leases lapse. ``rooms`` requests list them
  beside the rooms held here (``remote_rooms``).
- **Who is online** (``pgboard:node:{ME}:online``, a hash: folded account name -> the room its latest
  connection here joined): written at once when an account's connection joins or leaves
  (server/friends.py calls ``joined`` and ``left``), rewritten whole at each tick, expiring with the
  lease like the rooms. Friend lists read it (``elsewhere``) for friends joined on other processes.
- **Friend updates** (a mutual friend online, moved, offline) for an account joined on another process
  go the same way as private messages, not kept when it is on none.
- **Private messages** to an account on another process go by Redis pub/sub, on the channel of the
  process it is on (``pgboard:pm:{ADDRESS}``), not by a per-user stream: a live line is wanted now or
  not at all, the mailbox (server/cluster/shared.py) is the durable path, and a stream per user would
  be a second mailbox to trim and acknowledge. When nobody receives it (``PUBLISH`` answers 0: the
  process died, or is not listening) the sender's process keeps the line in the mailbox; when the
  receiving process finds the account gone meanwhile, it keeps it there itself. What can be lost: a
  line the receiving process took off the channel and died before writing to the socket, as in the
  one-process server when a connection dies with a line in its queue.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import redis
from pgboard_server.cluster.config import REDIS_TIMEOUT
from pgboard_server.cluster.scripts import NODES, PREFIX

from pgboard import names
from pgboard.protocol import Message, encode, frame_of, payload_of

if TYPE_CHECKING:
    from pgboard_server.room import Room
    from pgboard_server.server import BoardServer

log = logging.getLogger(__name__)

MAX_NODES_ASKED = 256  # processes whose rooms and accounts one listing or private message looks at


def node_key(address: str, part: str) -> str:
    return f"{PREFIX}:node:{{{address}}}:{part}"


def pm_channel(address: str) -> str:
    return f"{PREFIX}:pm:{address}"


class Directory:
    """This process's entries in the cluster's directory, and its private-message listener."""

    def __init__(
        self, server: BoardServer, client: redis.Redis, me: Callable[[], str], lease_ms: int
    ) -> None:
        self.server = server
        self.lease_ms = lease_ms
        self.redis: Any = client
        self.me = me
        self._online: Counter[str] = Counter()  # folded account -> its joined connections here
        self._rooms: dict[str, str] = {}  # folded account -> the room its latest connection here joined
        self._lock = threading.Lock()  # a leaf: dict operations only
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None
        self.relayed = 0  # private messages sent to another process
        self.received = 0  # private messages received from another process

    # -- the lease thread

    def _entry(self, room: Room) -> str:
        store = self.server.store
        locked = store is not None and store.room_password(room.rights.key) is not None
        return json.dumps([len(room.members), locked])

    def listed(self, room: Room) -> None:
        """A join: the room's count now, not at the next tick (a listing right after shows it)."""
        key = node_key(self.me(), "rooms")
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(key, room.name, self._entry(room))
            pipe.pexpire(key, self.lease_ms)
            pipe.execute()
        except redis.RedisError as exc:  # the next tick writes it
            log.info("cluster: room %r not listed yet: %s", room.name, exc)

    def peers(self) -> list[str]:
        """The other live processes, read now (a process that started since the last tick too)."""
        now_ms = int(time.time() * 1000)
        nodes = self.redis.zrangebyscore(NODES, now_ms, "+inf", start=0, num=MAX_NODES_ASKED)
        me = self.me()
        return [n.decode() for n in nodes if n.decode() != me]

    def publish(self) -> None:
        """Rewrite this process's rooms and online accounts, expiring with the lease."""
        lease_ms = self.lease_ms
        entries = {room.name: self._entry(room) for room in self.server.rooms.all() if room.members}
        with self._lock:
            online = {f: self._rooms.get(f, "") for f, n in self._online.items() if n > 0}
        me = self.me()
        rooms_key, online_key = node_key(me, "rooms"), node_key(me, "online")
        pipe = self.redis.pipeline(transaction=True)  # MULTI: a reader never sees the key emptied
        pipe.delete(rooms_key, online_key)
        if entries:
            pipe.hset(rooms_key, mapping=entries)
            pipe.pexpire(rooms_key, lease_ms)
        if online:
            pipe.hset(online_key, mapping=online)
            pipe.pexpire(online_key, lease_ms)
        pipe.execute()

    def remote_rooms(self) -> list[tuple[int, str, bool]]:
        """(members, name, has a password) of the rooms other live processes own."""
        peers = self.peers()
        if not peers:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for peer in peers:
            pipe.hgetall(node_key(peer, "rooms"))
        found: list[tuple[int, str, bool]] = []
        for rows in pipe.execute():
            for name, value in rows.items():
                count, locked = json.loads(value)
                found.append((int(count), name.decode(), bool(locked)))
        return found

    # -- who is online (server/friends.py)

    def joined(self, folded: str, room: str) -> None:
        with self._lock:
            self._online[folded] += 1
            self._rooms[folded] = room
        key = node_key(self.me(), "online")
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(key, folded, room)
            pipe.pexpire(key, self.lease_ms)
            pipe.execute()
        except redis.RedisError as exc:  # the next tick writes it again
            log.info("cluster: %r not listed online yet: %s", folded, exc)

    def left(self, folded: str) -> None:
        with self._lock:
            self._online[folded] -= 1
            gone = self._online[folded] <= 0
            if gone:
                del self._online[folded]
                self._rooms.pop(folded, None)
        if gone:
            try:
                self.redis.hdel(node_key(self.me(), "online"), folded)
            except redis.RedisError as exc:
                log.info("cluster: %r still listed online until the next tick: %s", folded, exc)

    def elsewhere(self, folded: str) -> str | None:
        try:
            peers = self.peers()
            if not peers:
                return None
            pipe = self.redis.pipeline(transaction=False)
            for peer in peers:
                pipe.hget(node_key(peer, "online"), folded)
            rooms = [r for r in pipe.execute() if r is not None]
        except redis.RedisError as exc:  # not known: told as offline, as a process alone would
            log.info("cluster: where %r is not known: %s", folded, exc)
            return None
        return rooms[0].decode() if rooms else None

    def where(self, folded: str) -> list[str]:
        """The other live processes the account ``folded`` is joined on."""
        peers = self.peers()
        if not peers:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for peer in peers:
            pipe.hexists(node_key(peer, "online"), folded)
        return [peer for peer, on in zip(peers, pipe.execute(), strict=True) if on]

    # -- private messages

    def tell(self, folded: str, msg: Message) -> None:
        """A friend update for the account ``folded``'s connections on other processes (not kept when
        it is on none: its friend list, read at its next join, says the same)."""
        try:
            message = json.dumps([folded, payload_of(encode(msg)), False])
            for peer in self.where(folded):
                self.redis.publish(pm_channel(peer), message)
        except redis.RedisError as exc:
            log.info("cluster: a friend update for %r not relayed: %s", folded, exc)

    def send_private(self, folded: str, payload: str, keep: bool = True) -> bool:
        """Publish a private line (the chat frame's payload) to every process ``folded`` is on (an
        account may be joined from several devices); False when none received it (the caller keeps
        it in the mailbox). ``keep``: the first process that finds the account gone meanwhile keeps
        the line in its mailbox (only the first: a line is kept once)."""
        taken = False
        for peer in self.where(folded):
            message = json.dumps([folded, payload, keep and not taken])
            if self.redis.publish(pm_channel(peer), message):
                self.relayed += 1
                taken = True
        return taken

    def start(self) -> None:
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._pubsub.subscribe(pm_channel(self.me()))
        self._thread = threading.Thread(target=self._listen, name="pgboard-pm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(REDIS_TIMEOUT + 1)
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except redis.RedisError:
                pass

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                msg = self._pubsub.get_message(timeout=0.5)
            except redis.RedisError as exc:  # Redis is away: pub/sub resubscribes when it is back
                log.warning("cluster: private messages not received: %s", exc)
                self._stop.wait(0.5)
                continue
            if msg is None or msg.get("type") != "message":
                continue
            try:
                folded, payload, keep = json.loads(msg["data"])
                self.deliver(names.fold(folded), payload, keep=bool(keep))
            except Exception:  # one bad message must not end the listener
                log.exception("cluster: a private message could not be delivered")

    def deliver(self, folded: str, payload: str, *, keep: bool = True) -> None:
        """A frame from another process for an account's connections here: a private line (``keep``:
        into the mailbox when it left meanwhile) or a friend update (dropped then)."""
        self.received += 1
        accounts = self.server.accounts
        assert accounts is not None
        frame = frame_of(payload)
        where = accounts.online(folded)
        for session in where:
            session.send_frame(frame)
        if not where and keep:  # it left meanwhile: kept, as for an account that is offline
            try:
                store = self.server.store
                assert store is not None
                store.add_mail(folded, payload, accounts.mailbox_limit)
            except Exception as exc:
                log.error("cluster: a private message for %r was lost: %s", folded, exc)
