"""The Lua scripts that make each cluster step atomic in Redis, and the keys of a room.

Fencing: every room has a ``fence`` key holding its owner's token; taking the lease sets it to a new
token from one cluster-wide counter (``TOKENS``) that only grows, so a token is never issued twice, to
any room. Every write of the room's log of record (the stream, its snapshot, its chat, its rights)
runs as a script that first checks the fence still equals the writer's token, so an owner that lost
its lease (paused, partitioned, presumed dead) cannot write once another took the room, whatever its
clock says. That is also what lets a forgotten room's fence key be deleted (``FORGET``) instead of
kept forever: a deposed owner's token matches neither a missing key nor any token issued later (they
are all greater), so deleting it reopens no window; the room's next owner starts from a fresh token.
"""

from __future__ import annotations

PREFIX = "pgboard"


def room_key(folded: str, part: str) -> str:
    """The Redis key of one part of a room (its folded name); one hash tag per room keeps a room's keys
    in one slot, should the Redis be a Redis Cluster."""
    return f"{PREFIX}:room:{{{folded}}}:{part}"


TOKENS = f"{PREFIX}:tokens"  # the counter every fencing token is taken from (never deleted)
NODES = f"{PREFIX}:nodes"  # sorted set: "host:port" of live processes, scored by when they lapse (ms)

# KEYS: lease, fence, tokens. ARGV: owner address, lease ms. -> {token, ""} or {0, "token address"}
# The token is above the room's last one too: a fence from before the counter existed (one counter
# per room) is still outgrown.
ACQUIRE = """
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur} end
local token = redis.call('INCR', KEYS[3])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if token <= last then
  token = last + 1
  redis.call('SET', KEYS[3], token)
end
redis.call('SET', KEYS[2], token)
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {token, ''}
"""

# KEYS: lease. ARGV: the lease's value, lease ms. -> 1 renewed, 0 not ours any more
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""

# KEYS: lease. ARGV: the lease's value. -> 1 released, 0 not ours
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: fence, log. ARGV: token, then seq, echo pairs in order. Entry ids are "seq-1": a seq is never
# logged twice, and one not above the last is refused before anything is written (all or none).
APPEND = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED newer owner') end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if last[1] then
  local lastseq = tonumber(string.match(last[1][1], '^(%d+)'))
  if tonumber(ARGV[2]) <= lastseq then return redis.error_reply('SEQ the log is at ' .. lastseq) end
end
for i = 2, #ARGV, 2 do redis.call('XADD', KEYS[2], ARGV[i] .. '-1', 'e', ARGV[i + 1]) end
return 1
"""

# KEYS: fence, chat. ARGV: token, line, lines kept.
CHAT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED newer owner') end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
return 1
"""

# KEYS: fence, snap, snapobjs, staged, log. ARGV: token, seq, floor, resent (JSON).
# The staged objects (written before, under a key nobody reads) become the snapshot, and the log up
# to ``floor`` goes, in one step.
SNAPSHOT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED newer owner') end
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RENAME', KEYS[4], KEYS[3])
else
  redis.call('DEL', KEYS[3])
end
redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'floor', ARGV[3], 'resent', ARGV[4])
redis.call('XTRIM', KEYS[5], 'MINID', (tonumber(ARGV[3]) + 1) .. '-0')
return 1
"""

# KEYS: fence, rights. ARGV: token, then (command, field, value) triples: set, setnx or del. A room's
# rights (server/rights.py) and password, as fields of one hash: creator, locked, op:USER,
# grant:OWNER:GRANTEE, ban:USER, member:USER, password, term:USER (a ban's term, server/bans.py),
# kick:USER (a kick's hold: until, a guest's address).
RIGHTS = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED newer owner') end
for i = 2, #ARGV, 3 do
  local cmd, f, v = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if cmd == 'set' then redis.call('HSET', KEYS[2], f, v)
  elseif cmd == 'setnx' then redis.call('HSETNX', KEYS[2], f, v)
  else redis.call('HDEL', KEYS[2], f) end
end
return 1
"""

# KEYS: fence, lease, then every key of the room's content. ARGV: token. An empty room forgotten for
# good, its lease and fence too (see the module's docstring for why that is safe): the next join, here
# or anywhere, takes the room afresh with a new token.
FORGET = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('FENCED newer owner') end
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('DEL', KEYS[1])
return 1
"""

CONTENT = ("log", "snap", "snapobjs", "chat", "rights")  # a room's keys besides its lease and fence
