"""The room's log of record in Redis, and the local SQLite store that mirrors it in cluster mode.

Each room has a stream (its echoes, entry id "seq-1"), a snapshot (a hash: seq, floor, resent; and a
list of obj payloads, bottom first) and its recent chat (a list). ``ClusterStore`` is the server's
``Store`` with every write of a room's log going to Redis first, fenced by the owner's token
(server/cluster/scripts.py), then to SQLite as before: the rest of the server reads the local copy
unchanged (replay, catch-ups, compaction). A Redis failure or a fencing refusal is raised as
``sqlite3.OperationalError`` so the room's existing answer applies: the chunk is taken back and its
author would be told ``store_failed``, but the room is given up first (``fenced``: its members are
closed with ``moved``, what was queued for them dropped), so their clients keep those operations and
send them again to whoever owns the room next, once Redis answers. Nothing refused was echoed. When a
process takes a room, its local rows of that room are replaced by Redis's (``rebuild``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis
from pgboard_server.cluster import scripts
from pgboard_server.cluster.scripts import room_key
from pgboard_server.cluster.shared import SharedAccounts
from pgboard_server.store import Store
from pgboard_server.store_accounts import BanTerm

from pgboard import names

log = logging.getLogger(__name__)

READ_CHUNK = 2000  # stream entries or snapshot objects read per Redis call when a room is rebuilt
STAGE_CHUNK = 1000  # snapshot objects written per Redis call
STAGE_TTL_MS = 3_600_000  # a staged snapshot its writer never finished is deleted after an hour
CHAT_KEPT_DEFAULT = 1000  # chat lines Redis keeps per room when the server keeps all


class Fenced(sqlite3.OperationalError):
    """Redis refused a write: another process holds the room now (or this one never took it)."""


class RoomLog:
    """A room's keys in Redis: the fenced writes and the reads a new owner rebuilds from."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._append = client.register_script(scripts.APPEND)
        self._chat = client.register_script(scripts.CHAT)
        self._snapshot = client.register_script(scripts.SNAPSHOT)
        self._rights = client.register_script(scripts.RIGHTS)
        self._forget = client.register_script(scripts.FORGET)

    def rights(self, key: str, token: int, changes: Sequence[tuple[str, str, str]]) -> None:
        """(command, field, value) changes of the room's rights hash (scripts.RIGHTS)."""
        args: list[Any] = [token]
        for change in changes:
            args += list(change)
        self._rights(keys=[room_key(key, "fence"), room_key(key, "rights")], args=args)

    def forget(self, key: str, token: int) -> None:
        keys = [room_key(key, part) for part in ("fence", "lease", *scripts.CONTENT)]
        self._forget(keys=keys, args=[token])

    def read_rights(self, key: str) -> dict[str, str]:
        r: Any = self.redis
        return {f.decode(): v.decode() for f, v in r.hgetall(room_key(key, "rights")).items()}

    def append(self, key: str, token: int, echoes: Sequence[tuple[int, str]]) -> None:
        args: list[Any] = [token]
        for seq, echo in echoes:
            args += [seq, echo]
        self._append(keys=[room_key(key, "fence"), room_key(key, "log")], args=args)

    def chat(self, key: str, token: int, line: str, keep: int) -> None:
        self._chat(keys=[room_key(key, "fence"), room_key(key, "chat")], args=[token, line, keep])

    def snapshot(self, key: str, token: int, seq: int, floor: int, resent: str, objects: list[str]) -> None:
        staged = room_key(key, f"staged:{token}:{seq}")
        pipe = self.redis.pipeline(transaction=False)
        pipe.delete(staged)
        for i in range(0, len(objects), STAGE_CHUNK):
            pipe.rpush(staged, *objects[i : i + STAGE_CHUNK])
        pipe.pexpire(staged, STAGE_TTL_MS)
        pipe.execute()
        keys = [room_key(key, p) for p in ("fence", "snap", "snapobjs")] + [staged, room_key(key, "log")]
        self._snapshot(keys=keys, args=[token, seq, floor, resent])

    def read(self, key: str) -> tuple[int, int, str, list[str], list[tuple[int, str]], list[str]]:
        """(snapshot seq, floor, resent JSON, snapshot objects, log entries after the floor as (seq,
        echo), chat lines) of the room."""
        r: Any = self.redis  # redis-py's answers are typed bytes | str: these are bytes (no decoding)
        snap = r.hgetall(room_key(key, "snap"))
        seq = int(snap.get(b"seq", 0))
        floor = int(snap.get(b"floor", 0))
        resent = snap.get(b"resent", b"[]").decode()
        objects: list[str] = []
        start = 0
        while True:
            part = r.lrange(room_key(key, "snapobjs"), start, start + READ_CHUNK - 1)
            objects += [o.decode() for o in part]
            if len(part) < READ_CHUNK:
                break
            start += READ_CHUNK
        entries: list[tuple[int, str]] = []
        after = f"({floor}-1" if floor else "-"
        while True:
            rows = r.xrange(room_key(key, "log"), min=after, max="+", count=READ_CHUNK)
            for entry_id, fields in rows:
                entries.append((int(entry_id.split(b"-")[0]), fields[b"e"].decode()))
            if len(rows) < READ_CHUNK:
                break
            after = "(" + rows[-1][0].decode()
        chat = [line.decode() for line in r.lrange(room_key(key, "chat"), 0, -1)]
        return seq, floor, resent, objects, entries, chat


class ClusterStore(SharedAccounts, Store):
    """The SQLite store whose room logs are copies of Redis's (see the module's docstring).

    ``token_of(folded room)`` is this process's fencing token for the room (None: not its owner);
    ``fenced(folded room)`` is told when Redis refused a write because the room moved. Accounts and
    mailboxes are Redis's alone (``SharedAccounts``: no local copy)."""

    def __init__(
        self,
        path: str,
        roomlog: RoomLog,
        token_of: Callable[[str], int | None],
        fenced: Callable[[str], None],
        forgotten: Callable[[str], None] = lambda key: None,
    ) -> None:
        super().__init__(path)
        self.forgotten = forgotten  # the room's lease went with it (FORGET): no longer ours
        self.share_accounts(roomlog.redis)
        self.roomlog = roomlog
        self.token_of = token_of
        self.fenced = fenced

    def _token(self, room: str) -> tuple[str, int]:
        key = names.fold(room)
        token = self.token_of(key)
        if token is None:
            self.fenced(key)
            raise Fenced(f"this process does not own room {room!r} (its lease lapsed)")
        return key, token

    def _redis(self, key: str, what: Callable[[], None]) -> None:
        try:
            what()
        except redis.ResponseError as exc:  # fenced, or the log is ahead of this copy (SEQ): rebuild
            self.fenced(key)
            raise Fenced(f"redis refused the write: {exc}") from None
        except redis.RedisError as exc:  # not reached (or a timeout after it wrote): the room is given up
            # too, so that its members keep what they drew and send it again once Redis is back,
            # rather than being refused it (store_failed) and taking it back
            self.fenced(key)
            raise sqlite3.OperationalError(f"redis cannot be reached: {exc}") from None

    def append_ops(self, room: str, echoes: Sequence[tuple[int, str]]) -> None:
        key, token = self._token(room)
        self._redis(key, lambda: self.roomlog.append(key, token, echoes))  # the log of record first
        try:
            super().append_ops(room, echoes)
        except sqlite3.Error:  # Redis has what this copy has not: the room is taken again, rebuilt
            self.fenced(key)
            raise

    def append_chat(self, room: str, line: str, keep: int | None = None) -> None:
        key, token = self._token(room)
        self._redis(key, lambda: self.roomlog.chat(key, token, line, keep or CHAT_KEPT_DEFAULT))
        super().append_chat(room, line, keep)

    # -- rights and passwords: the room's hash in Redis first (fenced), then SQLite, as the log

    def _rights(self, key: str, *changes: tuple[str, str, str]) -> None:
        key, token = self._token(key)
        self._redis(key, lambda: self.roomlog.rights(key, token, changes))

    def create_room(self, key: str, creator: str) -> None:
        changes = [("setnx", "creator", creator)] + ([("set", f"op:{creator}", "1")] if creator else [])
        self._rights(key, *changes)
        super().create_room(key, creator)

    def set_locked(self, key: str, locked: bool) -> None:
        self._rights(key, ("setnx", "creator", ""), ("set", "locked", "1" if locked else "0"))
        super().set_locked(key, locked)

    def set_operator(self, key: str, user: str, on: bool) -> None:
        self._rights(key, ("set" if on else "del", f"op:{user}", "1"))
        super().set_operator(key, user, on)

    def set_grant(self, key: str, owner: str, grantee: str, on: bool) -> None:
        self._rights(key, ("set" if on else "del", f"grant:{owner}:{grantee}", "1"))
        super().set_grant(key, owner, grantee, on)

    def set_ban(self, key: str, user: str, nick: str, address: str | None) -> None:
        value = json.dumps([nick, address])
        self._rights(key, ("del" if address is None else "set", f"ban:{user}", value))
        super().set_ban(key, user, nick, address)

    def remember_member(self, key: str, user: str, nick: str, folded: str, address: str) -> None:
        value = json.dumps([nick, folded, address, time.time_ns()])  # the newest row wins a lookup
        self._rights(key, ("set", f"member:{user}", value))
        super().remember_member(key, user, nick, folded, address)

    def set_ban_term(self, key: str, user: str, term: BanTerm | None) -> None:
        self._rights(key, ("del" if term is None else "set", f"term:{user}", json.dumps(term)))
        super().set_ban_term(key, user, term)

    def set_kick_hold(self, key: str, user: str, until: float, address: str) -> None:
        self._rights(key, ("set", f"kick:{user}", json.dumps([until, address])))  # memory is the copy

    def kick_holds(self, key: str) -> dict[str, tuple[float, str]]:
        try:
            rights = self.roomlog.read_rights(key)
        except redis.RedisError as exc:
            raise sqlite3.OperationalError(f"redis cannot be reached: {exc}") from None
        holds = {}
        for field, value in rights.items():
            kind, _, user = field.partition(":")
            if kind == "kick":
                until, address = json.loads(value)
                holds[user] = (float(until), str(address))
        return holds

    def set_room_password(self, room: str, hashed: str | None) -> None:
        self._rights(room, ("del" if hashed is None else "set", "password", hashed or ""))
        super().set_room_password(room, hashed)

    def forget_room(self, key: str) -> None:
        key, token = self._token(key)
        self._redis(key, lambda: self.roomlog.forget(key, token))
        self.forgotten(key)
        super().forget_room(key)

    def finish_snapshot(self, room: str, seq: int, floor: int, window: int) -> int:
        deleted = super().finish_snapshot(room, seq, floor, window)
        key = names.fold(room)
        token = self.token_of(key)
        if token is None:
            return deleted
        try:  # the stream stays whole when this fails: a new owner replays more, nothing is lost
            resent = json.dumps([list(r) for r in self.resent(room)], separators=(",", ":"))
            objects = list(self.snapshot_objects(room))
            self.roomlog.snapshot(key, token, seq, floor, resent, objects)
        except redis.RedisError as exc:
            log.warning("room %r: its snapshot at seq %d did not reach redis: %s", room, seq, exc)
        return deleted

    def rebuild(self, room: str) -> int:
        """Replace the local rows of ``room`` (any spelling) by Redis's: returns the log entries copied.
        Raises redis.RedisError when Redis cannot be read (the local rows are then untouched)."""
        key = names.fold(room)
        seq, floor, resent, objects, entries, chat = self.roomlog.read(key)
        rights = self.roomlog.read_rights(key)
        spellings = [r for r in self.rooms() if names.fold(r) == key] + [room]
        with self._transaction() as db:
            for name in spellings:
                for table in ("ops", "snapshots", "snapshot_objs", "chat"):
                    db.execute(f"DELETE FROM {table} WHERE room = ?", (name,))  # noqa: S608 - fixed names
            if seq:
                db.executemany(
                    "INSERT INTO snapshot_objs (room, seq, pos, obj) VALUES (?, ?, ?, ?)",
                    [(room, seq, pos, obj) for pos, obj in enumerate(objects)],
                )
                db.execute(
                    "INSERT INTO snapshots (room, seq, floor, resent) VALUES (?, ?, ?, ?)",
                    (room, seq, floor, resent),
                )
            db.executemany(
                "INSERT INTO ops (room, seq, echo) VALUES (?, ?, ?)", [(room, s, e) for s, e in entries]
            )
            db.executemany("INSERT INTO chat (room, line) VALUES (?, ?)", [(room, line) for line in chat])
            _install_rights(db, key, rights)
        with self._lock:
            for name in spellings:
                self._log_bytes.pop(name, None)
        return len(entries)


def _install_rights(db: sqlite3.Connection, key: str, rights: dict[str, str]) -> None:
    """Replace the local rights and password rows of room ``key`` by Redis's hash (in a transaction)."""
    for table in ("room_info", "operators", "grants", "bans", "members", "room_passwords", "ban_terms"):
        db.execute(f"DELETE FROM {table} WHERE room = ?", (key,))  # noqa: S608 - fixed names
    if "creator" in rights:
        locked = int(rights.get("locked", "0") == "1")
        db.execute(
            "INSERT INTO room_info (room, creator, locked) VALUES (?, ?, ?)", (key, rights["creator"], locked)
        )
    members = []
    for field, value in rights.items():
        kind, _, rest = field.partition(":")
        if kind == "op":
            db.execute("INSERT OR IGNORE INTO operators (room, user) VALUES (?, ?)", (key, rest))
        elif kind == "grant":
            owner, _, grantee = rest.partition(":")
            db.execute(
                "INSERT OR IGNORE INTO grants (room, owner, grantee) VALUES (?, ?, ?)", (key, owner, grantee)
            )
        elif kind == "ban":
            nick, address = json.loads(value)
            db.execute(
                "INSERT OR REPLACE INTO bans (room, user, nick, address) VALUES (?, ?, ?, ?)",
                (key, rest, nick, address),
            )
        elif kind == "member":
            members.append((json.loads(value), rest))
        elif kind == "term":
            until, hold, hold_until = json.loads(value)
            db.execute(
                "INSERT OR REPLACE INTO ban_terms (room, user, until, hold, hold_until) "
                "VALUES (?, ?, ?, ?, ?)",
                (key, rest, until, hold, hold_until),
            )
        elif kind == "password":
            db.execute("INSERT OR REPLACE INTO room_passwords (room, hash) VALUES (?, ?)", (key, value))
    for (nick, folded, address, _), user in sorted(members, key=lambda m: m[0][3]):  # oldest first
        db.execute(
            "INSERT INTO members (room, user, nick, folded, address) VALUES (?, ?, ?, ?, ?)",
            (key, user, nick, folded, address),
        )
