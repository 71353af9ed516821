"""Accounts and mailboxes shared by every process of a cluster: ``SharedAccounts`` overrides the store's
account interface (server/store_accounts.py ``AccountRows``) with Redis, so an account made on one
process logs in on another, and a line kept for an offline account is delivered by whichever process it
next logs in on, and forgotten once (its ``mail_ack``), wherever that comes.

Keys: ``pgboard:accounts`` (a hash: folded nick -> JSON [nick, user, hash]), ``pgboard:account-ids`` (a
set of the accounts' author ids), ``pgboard:mail:{FOLDED}`` (a hash: mail id -> the chat frame's
payload) with ``pgboard:mail:{FOLDED}:sent`` (the ids sent to a connection, not acknowledged yet), and
``pgboard:mail-ids`` (the counter ids are taken from: they only grow, cluster-wide, so a line added
after a delivery always has a greater id than any line that delivery sent, and ``ack_mail(upto)`` cannot
forget a line its client never saw). Each step is one Lua script: atomic against every other process.
Friend lists are two sets per account, ``pgboard:friends:{FOLDED}`` (its list) and
``pgboard:fans:{FOLDED}`` (who has it on theirs), written together. Room passwords stay in the room's
rights hash (written by the room's owner, fenced: see roomlog.py), the only process that checks them. A
Redis error is raised as ``sqlite3.OperationalError`` so the callers' answers (``store_failed``, mail
kept for later) apply unchanged.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from pgboard_server.cluster.scripts import PREFIX

ACCOUNTS = f"{PREFIX}:accounts"
ACCOUNT_IDS = f"{PREFIX}:account-ids"
MAIL_IDS = f"{PREFIX}:mail-ids"


def friends_key(folded: str) -> str:
    return f"{PREFIX}:friends:{{{folded}}}"  # a set: the accounts on folded's list


def fans_key(folded: str) -> str:
    return f"{PREFIX}:fans:{{{folded}}}"  # a set: the accounts that have folded on their list


ACCOUNT_LOG = f"{PREFIX}:account-log"  # a list: folded names in the order the accounts were made

# KEYS: accounts, ids, log. ARGV: folded, JSON [nick, user, hash], user. -> 1 created, 0 name or id taken
CREATE_ACCOUNT = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('RPUSH', KEYS[3], ARGV[1])
return 1
"""

# KEYS: accounts. ARGV: folded, hash. -> 1 changed, 0 no such account
SET_HASH = """
local row = redis.call('HGET', KEYS[1], ARGV[1])
if not row then return 0 end
local a = cjson.decode(row)
a[3] = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(a))
return 1
"""

# KEYS: mailbox, counter. ARGV: line, limit. -> the line's id, 0 when the mailbox is full
ADD_MAIL = """
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
local id = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], id, ARGV[1])
return id
"""

# KEYS: mailbox, sent. -> {id, line, sent before (0/1)} flattened; every line now marked sent
DELIVER_MAIL = """
local rows = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #rows, 2 do
  out[#out + 1] = rows[i]
  out[#out + 1] = rows[i + 1]
  out[#out + 1] = redis.call('HEXISTS', KEYS[2], rows[i])
  redis.call('HSET', KEYS[2], rows[i], 1)
end
return out
"""

# KEYS: mailbox, sent. ARGV: upto. -> lines forgotten (only those sent, with an id up to ``upto``)
ACK_MAIL = """
local gone = 0
for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
  if tonumber(id) <= tonumber(ARGV[1]) then
    gone = gone + redis.call('HDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
  end
end
return gone
"""

T = TypeVar("T")


def mailbox(folded: str) -> str:
    return f"{PREFIX}:mail:{{{folded}}}"


def _redis(what: Callable[[], T]) -> T:
    try:
        return what()
    except redis.RedisError as exc:  # the callers answer store errors already (store_failed, kept)
        raise sqlite3.OperationalError(f"redis: {exc}") from None


class SharedAccounts:
    """The account and mail half of ``AccountRows``, in Redis (mixed into ClusterStore before Store)."""

    def share_accounts(self, client: redis.Redis) -> None:
        self.shared: Any = client  # redis-py's answers are typed bytes | str: these are bytes
        self._create = client.register_script(CREATE_ACCOUNT)
        self._set_hash = client.register_script(SET_HASH)
        self._add_mail = client.register_script(ADD_MAIL)
        self._deliver = client.register_script(DELIVER_MAIL)
        self._ack = client.register_script(ACK_MAIL)

    def account(self, folded: str) -> tuple[str, str, str] | None:
        row = _redis(lambda: self.shared.hget(ACCOUNTS, folded))
        if row is None:
            return None
        nick, user, hashed = json.loads(row)
        return str(nick), str(user), str(hashed)

    def account_names(self) -> list[tuple[str, str, str]]:
        def read() -> Any:
            pipe = self.shared.pipeline(transaction=True)  # the names and where the log is, together
            pipe.hgetall(ACCOUNTS)
            pipe.llen(ACCOUNT_LOG)
            return pipe.execute()

        rows, self._account_cursor = _redis(read)
        out = []
        for folded, row in rows.items():
            nick, user, _ = json.loads(row)
            out.append((folded.decode(), str(nick), str(user)))
        return out

    def new_accounts(self) -> list[tuple[str, str, str]]:
        """(folded, nick, user) of the accounts made (on any process) since the last account_names or
        new_accounts call: the look-alike index and the accounts' ids stay whole cluster-wide."""
        cursor = getattr(self, "_account_cursor", None)
        if cursor is None:
            return []  # the index is not built yet: account_names reads them all
        made = _redis(lambda: self.shared.lrange(ACCOUNT_LOG, cursor, -1))
        if not made:
            return []
        self._account_cursor = cursor + len(made)
        rows = _redis(lambda: self.shared.hmget(ACCOUNTS, made))
        out = []
        for folded, row in zip(made, rows, strict=True):
            if row is not None:
                nick, user, _ = json.loads(row)
                out.append((folded.decode(), str(nick), str(user)))
        return out

    def create_account(self, folded: str, nick: str, user: str, hashed: str) -> bool:
        row = json.dumps([nick, user, hashed])
        keys = [ACCOUNTS, ACCOUNT_IDS, ACCOUNT_LOG]
        return bool(_redis(lambda: self._create(keys=keys, args=[folded, row, user])))

    def set_account_hash(self, folded: str, hashed: str) -> None:
        _redis(lambda: self._set_hash(keys=[ACCOUNTS], args=[folded, hashed]))

    def add_mail(self, recipient: str, line: str, limit: int) -> bool:
        box = mailbox(recipient)
        return bool(_redis(lambda: self._add_mail(keys=[box, MAIL_IDS], args=[line, limit])))

    def deliver_mail(self, recipient: str) -> list[tuple[int, str, bool]]:
        box = mailbox(recipient)
        flat = _redis(lambda: self._deliver(keys=[box, f"{box}:sent"]))
        rows = [(int(flat[i]), flat[i + 1].decode(), bool(flat[i + 2])) for i in range(0, len(flat), 3)]
        return sorted(rows)

    # -- friends: two sets per account, changed together (MULTI)

    def friends_of(self, owner: str) -> list[str]:
        return sorted(f.decode() for f in _redis(lambda: self.shared.smembers(friends_key(owner))))

    def mutual_friends(self, folded: str) -> list[str]:
        both = _redis(lambda: self.shared.sinter(friends_key(folded), fans_key(folded)))
        return sorted(f.decode() for f in both)

    def has_friend(self, owner: str, friend: str) -> bool:
        return bool(_redis(lambda: self.shared.sismember(friends_key(owner), friend)))

    def add_friend(self, owner: str, friend: str) -> None:
        def add() -> None:
            pipe = self.shared.pipeline(transaction=True)
            pipe.sadd(friends_key(owner), friend)
            pipe.sadd(fans_key(friend), owner)
            pipe.execute()

        _redis(add)

    def remove_friend(self, owner: str, friend: str) -> bool:
        def remove() -> bool:
            pipe = self.shared.pipeline(transaction=True)
            pipe.srem(friends_key(owner), friend)
            pipe.srem(fans_key(friend), owner)
            return bool(pipe.execute()[0])

        return _redis(remove)

    def ack_mail(self, recipient: str, upto: int) -> int:
        box = mailbox(recipient)
        return int(_redis(lambda: self._ack(keys=[box, f"{box}:sent"], args=[upto])))
