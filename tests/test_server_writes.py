"""The server's write path (server/session.py, server/fastwrite.py) and its lock order
(server/lockorder.py): the room queues a chunk's echoes and says on whom, the reader writes them;
the fast write and its portable fallback both deliver; a lock taken out of order is caught."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pgboard_server import fastwrite, lockorder
from pgboard_server import session as session_module
from pgboard_server.room import Room
from pgboard_server.session import Session
from support import RawClient, running_server

from bench import fdselect
from pgboard.protocol import Add, BoardObject, Codec, Ping, Pong

ROOT = Path(__file__).resolve().parent.parent


def line(oid: str, x: int) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 5, 20)))


def nothing_arrived(c: RawClient) -> bool:
    """Nothing is readable on ``c``'s socket now (a write on loopback is readable at once)."""
    readable, _, _ = fdselect.select([c.sock], [], [], 0)
    return not readable


def drained(c: RawClient) -> None:
    """Everything the server wrote to ``c`` so far is read: a ping's pong comes after it."""
    c.send(Ping(7))
    c.recv_until(Pong)


def joined(server_room: str, *clients: tuple[RawClient, str]) -> None:
    for c, nick in clients:
        c.join(nick, room=server_room)
        c.catch_up()


def test_the_room_returns_whom_it_queued_on_and_only_the_caller_writes() -> None:
    with running_server() as server, RawClient(server.address) as a, RawClient(server.address) as b:
        joined("w", (a, "alice"), (b, "bob"))
        drained(a)
        drained(b)
        room = server.rooms.get("w")
        assert isinstance(room, Room)
        alice = room.members[a.welcome.user]  # type: ignore[union-attr]
        bob = room.members[b.welcome.user]  # type: ignore[union-attr]
        ops = [Add(f"a{i}", line(a.obj_id(f"l{i}"), i)) for i in range(3)]
        to_flush = room.apply_all(alice, ops)
        assert set(to_flush) == {alice, bob}
        assert nothing_arrived(a) and nothing_arrived(b)  # queued, not written: nobody woke a writer
        for s in to_flush:
            s.flush()
        for c in (a, b):
            echoes = [c.recv_until(Add) for _ in ops]
            assert [e.oid for e in echoes] == ["a0", "a1", "a2"]
            assert [e.seq for e in echoes] == [1, 2, 3]


WRITES = [fastwrite.write_now, fastwrite.portable_write]


@pytest.mark.parametrize("write", WRITES, ids=["selected", "portable"])
def test_a_write_never_waits_and_writes_what_fits(write: Callable[[socket.socket, bytes], int]) -> None:
    left, right = socket.socketpair()
    with left, right:
        left.settimeout(60)  # as the server's sockets: non-blocking underneath; a wait would hang here
        block = bytes(range(256)) * 256
        written = bytearray()
        for _ in range(10_000):  # the buffer is full long before this (a few MiB at most)
            n = write(left, block)
            written += block[:n]
            if n == 0:
                break
        else:
            pytest.fail("the socket buffer never filled")
        assert write(left, b"more") == 0  # full: nothing written, and no wait
        right.settimeout(5)
        got = bytearray()
        while len(got) < len(written):
            got += right.recv(1 << 20)
        assert got == written
        assert write(left, b"after") == 5  # room again


def test_without_ctypes_the_portable_write_is_selected_at_import() -> None:
    code = (
        "import sys\n"
        "sys.modules['ctypes'] = None\n"  # as on a Python built without it
        "import pgboard_server.session\n"
        "from pgboard_server import fastwrite\n"
        "print(fastwrite.FAST, fastwrite.write_now is fastwrite.portable_write)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_a_broadcast_through_the_portable_write_reaches_everyone_in_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "write_now", fastwrite.portable_write)
    with (
        running_server() as server,
        RawClient(server.address) as a,
        RawClient(server.address) as b,
        RawClient(server.address) as c,
    ):
        joined("p", (a, "alice"), (b, "bob"), (c, "carol"))
        ops = [Add(f"a{i}", line(a.obj_id(f"l{i}"), i)) for i in range(200)]
        a.send_bytes(b"".join(Codec.send(op) for op in ops))  # one chunk or a few: coalesced
        for client in (a, b, c):
            seqs = [client.recv_until(Add).seq for _ in ops]
            assert seqs == list(range(1, 201))


def test_a_lock_taken_out_of_order_is_caught() -> None:
    assert lockorder.DEBUG, "the suite runs with PGBOARD_DEBUG_LOCKS=1 (tests/conftest.py)"
    with running_server() as server, RawClient(server.address) as a:
        joined("o", (a, "alice"))
        room = server.rooms.get("o")
        alice = room.members[a.welcome.user]  # type: ignore[union-attr]
        assert isinstance(alice, Session) and isinstance(room.lock, lockorder.OrderedLock)
        try:
            with alice._lock:  # a session's lock, then its room's: the wrong way round
                with pytest.raises(lockorder.LockOrderError, match="'room' lock asked for while holding"):
                    room.lock.acquire()
            with room.lock, alice._state, alice._lock, server.store._lock:  # the right order passes
                pass
            with server.store._lock:
                assert room.lock.acquire(blocking=False)  # an acquire that does not wait cannot deadlock
                room.lock.release()
        finally:
            caught = list(lockorder.VIOLATIONS)
            lockorder.VIOLATIONS.clear()  # provoked here: not a failure of this test
        assert len(caught) == 1
        a.send(Add("x", line(a.obj_id("x"), 1)))  # nothing was left held: the room still works
        assert a.recv_until(Add).seq == 1


def test_a_leaf_lock_is_taken_last_or_the_order_breaks() -> None:
    with running_server() as server:
        bans, health = server.bans._lock, server.store.health._lock
        assert isinstance(bans, lockorder.OrderedLock) and isinstance(health, lockorder.OrderedLock)
        try:
            with bans, pytest.raises(lockorder.LockOrderError, match="'leaf store health' lock asked for"):
                health.acquire()  # two leaves nested: a deadlock waiting for the other order
            with server.store._lock, bans:  # a leaf under any ordered lock passes
                pass
        finally:
            caught = list(lockorder.VIOLATIONS)
            lockorder.VIOLATIONS.clear()
        assert len(caught) == 1
