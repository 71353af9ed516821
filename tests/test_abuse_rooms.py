"""Issue 10, attack 7: one address creating every room a server holds. Rooms created from one address
are capped (MAX_ROOMS_PER_ADDRESS, join_error too_many_rooms_from_address); an empty room with nothing
to keep is forgotten when its last member leaves; an idle room with content is put away (dropped from
memory, its log stays in the store) when a new room needs its place, and loaded again on join."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import reliability
from pgboard_server.limits import MAX_ROOMS, MAX_ROOMS_PER_ADDRESS
from pgboard_server.server import BoardServer
from support import RawClient, running_server

from pgboard.protocol import Chat, Join, JoinError, Say, Welcome

CHATTY = {"chat_rate": 0.0, "address_chat_rate": 0.0}  # one line in each of many rooms, quickly
FLOODER, OTHER = "127.0.0.2", "127.0.0.3"


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def db_bytes(path: Path) -> int:
    """The database's size in pages (the write-ahead log included), in bytes."""
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA page_count").fetchone()[0] * db.execute("PRAGMA page_size").fetchone()[0]


def visit(server: BoardServer, room: str, source: str, line: str = "") -> Welcome | JoinError:
    """Join ``room`` from ``source``, say ``line`` if any, and leave (its leaving fully done)."""
    with RawClient(server.address, source=source) as c:
        nick = f"v{room}"[:24]
        c.send(Join(nick, room, client=f"{source}-{room}"))
        reply = c.recv_until((Welcome, JoinError))
        if isinstance(reply, Welcome) and line:
            c.send(Say(line))
            c.recv_until(lambda m: isinstance(m, Chat) and m.text == line)
        sessions = [s for s in server.sessions if s.nick == nick and s.peer.startswith(source)]
    for s in sessions:
        s.reader.join(5.0)  # its leave happened once its reader has ended
    return reply  # type: ignore[return-value]


def held(server: BoardServer) -> set[str]:
    return {r.name for r in server.rooms.all()}


@pytest.mark.reliability
def test_one_address_creates_rooms_until_its_cap_and_another_still_creates_one(tmp_path: Path) -> None:
    db = tmp_path / "rooms.sqlite3"
    with running_server(db, **CHATTY) as server:
        rss_before, disk_before = rss_kib(), db_bytes(db)
        started = time.perf_counter()
        refusal: JoinError | None = None
        created = 0
        for i in range(MAX_ROOMS + 1):
            reply = visit(server, f"flood{i}", FLOODER, "one line, so the room has content")
            if isinstance(reply, JoinError):
                refusal = reply
                break
            created += 1
        seconds = time.perf_counter() - started
        rss_mib, disk = (rss_kib() - rss_before) / 1024, db_bytes(db) - disk_before
        assert refusal is not None and refusal.reason == "too_many_rooms_from_address", refusal
        assert created == MAX_ROOMS_PER_ADDRESS
        assert server.rooms.created_from(FLOODER) == MAX_ROOMS_PER_ADDRESS
        assert isinstance(visit(server, "mine", OTHER, "hello"), Welcome)  # anyone else still creates
        assert isinstance(visit(server, "flood0", FLOODER), Welcome)  # and existing rooms take joiners
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"one address creates rooms as fast as it can, one chat line in each (the issue: all "
            f"{MAX_ROOMS:,} in ~1 s, then nobody could create one until a restart, nor after it)",
            bound=f"MAX_ROOMS_PER_ADDRESS: {MAX_ROOMS_PER_ADDRESS} rooms held per creating address "
            "(join_error too_many_rooms_from_address); MAX_ROOMS: rooms held in memory, idle ones put "
            "away for new ones (reloaded from the store on join)",
            measured=f"refused at room {created + 1} after {seconds:.1f} s; another address then created "
            f"one; one-line rooms cost {rss_mib * 1024 / created:,.0f} KiB of memory each while held "
            f"(RSS growth of the test process) and {disk / created:,.0f} bytes of store each; "
            f"memory is bounded by MAX_ROOMS held rooms, the store by rooms created "
            f"(MAX_ROOMS_PER_ADDRESS per address before the server is full)",
        )
    )


@pytest.mark.reliability
def test_empty_rooms_are_forgotten_and_idle_rooms_make_way_for_new_ones(tmp_path: Path) -> None:
    db = tmp_path / "rooms.sqlite3"
    cap = 5
    with running_server(db, max_rooms=cap, **CHATTY) as server:
        for i in range(3 * cap):  # empty visits: each room forgotten when its visitor leaves
            assert isinstance(visit(server, f"empty{i}", FLOODER), Welcome)
            assert held(server) == set()
        with sqlite3.connect(db) as store:
            assert store.execute("SELECT COUNT(*) FROM room_info").fetchone()[0] == 0
        for i in range(cap):  # rooms with one line each: kept, the server now full
            assert isinstance(visit(server, f"kept{i}", FLOODER, f"line {i}"), Welcome)
        assert held(server) == {f"kept{i}" for i in range(cap)}
        assert isinstance(visit(server, "fresh", OTHER), Welcome)  # kept0, joined longest ago, put away
        assert "kept0" not in held(server)
        with RawClient(server.address) as back:  # loaded again from the store, its line with it
            back.join("back", "kept0")
            _, _, _ = back.catch_up()
            line = back.recv_until(Chat)
            assert line.text == "line 0" and line.history
        assert len(held(server)) <= cap


def test_an_empty_room_an_operator_locked_is_kept(tmp_path: Path) -> None:
    with running_server(tmp_path / "rooms.sqlite3") as server:
        with RawClient(server.address) as c:
            c.join("owner", "locked")
            c.send(Say("/lock"))
            c.recv_until(lambda m: getattr(m, "locked", False))
        for s in server.sessions:
            s.reader.join(5.0)
        assert "locked" in held(server)
        with RawClient(server.address) as c:  # and it is still theirs: a newcomer may not draw
            c.join("newcomer", "locked")
            state = c.recv_until(lambda m: hasattr(m, "locked"))
            assert state.locked  # type: ignore[attr-defined]


def test_a_room_put_away_while_someone_joins_it_is_loaded_again(tmp_path: Path) -> None:
    with running_server(tmp_path / "rooms.sqlite3", **CHATTY) as server:
        assert isinstance(visit(server, "kept", FLOODER, "a line"), Welcome)
        passwords = server.room_passwords
        real = passwords.check

        def put_away_first(room, password, peer):  # type: ignore[no-untyped-def]
            # between holding the room and taking its lock, the server needs the room's place
            passwords.check = real  # type: ignore[method-assign]
            with server.rooms._lock:
                assert server.rooms._put_away_one()
            assert room.gone
            return real(room, password, peer)

        passwords.check = put_away_first  # type: ignore[method-assign]
        with RawClient(server.address) as c:
            c.join("late", "kept")
            c.catch_up()
            assert c.recv_until(Chat).text == "a line"  # the room it got is the one in the store
            assert [r.name for r in server.rooms.all()] == ["kept"]
            (room,) = server.rooms.all()
            assert not room.gone and list(room.members) == [c.welcome.user]  # type: ignore[union-attr]


@pytest.mark.reliability
def test_many_addresses_filling_the_server_with_one_line_rooms_still_leave_room(tmp_path: Path) -> None:
    db = tmp_path / "rooms.sqlite3"
    cap, per_address = 200, 10
    addresses = [f"127.0.1.{i}" for i in range(1, cap // per_address + 1)]  # 20 "hosts"
    with running_server(db, max_rooms=cap, max_rooms_per_address=per_address, **CHATTY) as server:
        rss_before, disk_before = rss_kib(), db_bytes(db)
        for a in addresses:
            for i in range(per_address):
                assert isinstance(visit(server, f"{a}-{i}", a, "one line"), Welcome)
        rss_mib, disk = (rss_kib() - rss_before) / 1024, db_bytes(db) - disk_before
        assert len(held(server)) == cap
        for i in range(per_address):  # a newcomer still creates rooms: the idle ones make way
            assert isinstance(visit(server, f"newcomer{i}", OTHER, "hello"), Welcome)
        assert len(held(server)) == cap and f"{addresses[0]}-0" not in held(server)
        with RawClient(server.address) as back:  # a put-away room is all there when joined again
            back.join("back", f"{addresses[0]}-0")
            back.catch_up()
            assert back.recv_until(Chat).text == "one line"
    rooms = cap
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"{len(addresses)} addresses each create their cap of rooms with one chat line, filling "
            f"the server (--max-rooms {cap}, --max-rooms-per-address {per_address})",
            bound="MAX_ROOMS: rooms held in memory; an idle room is put away (its log stays in the store) "
            "when a new one needs its place, least recently joined first, and loaded again on join",
            measured=f"{rooms} one-line rooms held: {rss_mib:.1f} MiB RSS growth "
            f"({rss_mib * 1024 / rooms:.0f} KiB a room), {disk / 1024:.0f} KiB of store "
            f"({disk / rooms:.0f} bytes a room); another address "
            f"then created {per_address} rooms, still {cap} held; a put-away room came back with its line",
        )
    )
