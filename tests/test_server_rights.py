"""Who may edit what, through a real server: own objects by default, /allow and /deny, erase-all,
the creator as operator, the room_state each member is told, and all of it across a restart."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from pgboard_server.server import BoardServer
from support import RawClient, ServerProcess, running_server

from pgboard import ids
from pgboard.protocol import (
    Add,
    BoardObject,
    Clear,
    Delete,
    Error,
    Hello,
    Join,
    JoinError,
    Move,
    Notice,
    Ping,
    Pong,
    RoomState,
    Say,
    Undo,
)

ROOM = "class"


def line(oid: str, x: int = 10) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


def obj_id(name: str) -> str:
    """The object id ``NICK-N`` drawn by a member with the default secret ("secret-NICK"), in its scope."""
    return ids.scoped(ids.device_id(f"secret-{name.rsplit('-', 1)[0]}"), name)


def member(
    server: BoardServer, nick: str, room: str = ROOM, client: str = "", source: str | None = None
) -> RawClient:
    """A client joined to ``room`` (secret ``client``, default "secret-NICK") and caught up."""
    c = RawClient(server.address, source=source)
    assert isinstance(c.recv(), Hello)
    c.join(nick, room, client=client or f"secret-{nick}")
    c.catch_up()
    return c


def state_of(c: RawClient) -> RoomState:
    """The last room_state c was sent (joined clients always have one)."""
    return next(m for m in reversed(c.seen) if isinstance(m, RoomState))


def settle(c: RawClient) -> list:
    """Everything the server sent c before it answers a ping (frames are handled in order)."""
    c.send(Ping(99))
    return c.recv_all_until(Pong)[:-1]


def draw(c: RawClient, oid: str, obj: BoardObject) -> Add:
    c.send(Add(oid, obj))
    echo = c.recv_until(lambda m: isinstance(m, Add) and m.oid == oid)
    assert isinstance(echo, Add)
    return echo


def echo_of(c: RawClient, oid: str) -> Clear:
    echo = c.recv_until(lambda m: isinstance(m, (Clear, Error)) and m.oid == oid)
    assert isinstance(echo, Clear), echo
    return echo


def refused(c: RawClient, oid: str) -> Error:
    err = c.recv_until(lambda m: isinstance(m, (Error, Add, Move, Delete, Clear)) and m.oid == oid)
    assert isinstance(err, Error), f"expected a refusal of {oid}, got {err}"
    return err


@contextlib.contextmanager
def clients(server: BoardServer, *nicks: str) -> Iterator[list[RawClient]]:
    cs = []
    try:
        for nick in nicks:
            cs.append(member(server, nick))
        yield cs
    finally:
        for c in cs:
            c.close()


def test_the_creator_is_the_operator_and_every_member_is_told_after_welcome() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        alice, bob = a.welcome.user, b.welcome.user
        # the room_state comes right after welcome, before the catch-up
        assert [type(m).__name__ for m in a.seen[:4]] == ["Hello", "Welcome", "RoomState", "CatchUp"]
        assert state_of(a) == RoomState(operators=(alice,))
        assert state_of(b) == RoomState(operators=(alice,))
        # a second room has its own creator
        c = member(server, "carol", room="other")
        assert state_of(c).operators == (c.welcome.user,)
        assert bob not in state_of(c).operators
        c.close()


def test_allow_lets_one_user_edit_my_objects_and_deny_takes_it_back() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        alice, bob = a.welcome.user, b.welcome.user
        draw(b, "b1", line(obj_id("bob-1")))
        draw(b, "b2", line(obj_id("bob-2"), 100))
        draw(b, "b3", line(obj_id("bob-3"), 200))
        c.send(Delete("c1", obj_id("bob-1")))
        assert refused(c, "c1").code == "not_allowed"
        b.send(Say("/allow carol"))
        assert "carol may now" in b.recv_until(Notice).text
        assert "bob allowed you" in c.recv_until(Notice).text
        assert c.recv_until(RoomState) == RoomState(operators=(alice,), may_edit=(bob,))
        assert b.recv_until(RoomState) == RoomState(operators=(alice,), allowed=(c.welcome.user,))
        c.send(Move("c2", obj_id("bob-1"), 5, 5))
        assert c.recv_until(Move).oid == "c2"
        c.send(Delete("c3", obj_id("bob-1")))
        assert c.recv_until(Delete).oid == "c3"
        b.send(Say("/deny carol"))
        assert c.recv_until(RoomState).may_edit == ()
        c.send(Delete("c4", obj_id("bob-2")))
        assert refused(c, "c4").code == "not_allowed"
        # nobody else got the right, and alice's own objects stayed hers
        draw(a, "a1", line(obj_id("alice-1"), 300))
        b.send(Delete("b4", obj_id("alice-1")))
        assert refused(b, "b4").code == "not_allowed"
        assert bob not in state_of(a).operators


def test_allow_needs_someone_known_and_not_yourself() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, _):
        a.send(Say("/allow"))
        assert a.recv_until(Error).code == "bad_command"
        a.send(Say("/allow nobody"))
        assert a.recv_until(Error).code == "no_such_user"
        a.send(Say("/allow alice"))
        assert a.recv_until(Error).code == "bad_command"
        a.send(Say("/deny bob"))
        assert "already may not" in a.recv_until(Notice).text


def test_erase_all_removes_only_what_the_user_may_edit_and_an_operators_clears_the_board() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol", "dave") as (a, b, c, d):
        draw(a, "a1", line(obj_id("alice-1")))
        draw(b, "b1", line(obj_id("bob-1"), 100))
        draw(c, "c1", line(obj_id("carol-1"), 200))
        draw(d, "d1", line(obj_id("dave-1"), 300))
        c.send(Say("/allow bob"))
        b.recv_until(RoomState)
        b.send(Clear("b2"))
        assert sorted(echo_of(b, "b2").removed) == sorted([obj_id("bob-1"), obj_id("carol-1")])
        d.send(Clear("d2"))
        assert echo_of(d, "d2").removed == (obj_id("dave-1"),)
        # alice created the room: her erase-all clears everything that is left
        draw(d, "d3", line(obj_id("dave-2"), 400))
        draw(b, "b3", line(obj_id("bob-2"), 500))
        a.send(Clear("a2"))
        assert sorted(echo_of(a, "a2").removed) == sorted(
            [obj_id("alice-1"), obj_id("bob-2"), obj_id("dave-2")]
        )


def test_erase_all_follows_allow_and_deny_and_an_op_and_deop() -> None:
    """The clear reads the board's index for the authors RoomRights.editable_authors names: it must
    follow every change of the rights (the reverse index of grants included)."""
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        draw(c, "c1", line(obj_id("carol-1"), 200))
        draw(c, "c2", line(obj_id("carol-2"), 300))
        draw(b, "b1", line(obj_id("bob-1"), 100))
        c.send(Say("/allow bob"))
        b.recv_until(RoomState)
        c.send(Say("/deny bob"))
        b.recv_until(RoomState)
        b.send(Clear("b2"))
        assert echo_of(b, "b2").removed == (obj_id("bob-1"),)  # the grant is gone: only his own
        c.send(Say("/allow bob"))
        b.recv_until(RoomState)
        b.send(Clear("b3"))
        assert echo_of(b, "b3").removed == (obj_id("carol-1"), obj_id("carol-2"))  # in drawing order
        b.send(Undo("b4"))
        b.recv_until(lambda m: isinstance(m, Undo) and m.oid == "b4")
        a.send(Say("/op bob"))
        b.recv_until(lambda m: isinstance(m, RoomState) and b.welcome.user in m.operators)
        draw(a, "a1", line(obj_id("alice-1"), 400))
        b.send(Clear("b5"))
        assert echo_of(b, "b5").removed == (
            obj_id("carol-1"),
            obj_id("carol-2"),
            obj_id("alice-1"),
        )  # an operator: everything
        a.send(Say("/deop bob"))
        b.recv_until(lambda m: isinstance(m, RoomState) and b.welcome.user not in m.operators)
        b.send(Clear("b6"))
        assert echo_of(b, "b6").removed == ()


def test_a_user_who_left_keeps_their_objects_and_their_grants() -> None:
    with running_server() as server, clients(server, "alice", "carol") as (a, c):
        b = member(server, "bob")
        draw(b, "b1", line(obj_id("bob-1")))
        draw(b, "b2", line(obj_id("bob-2"), 100))
        b.send(Say("/allow carol"))
        c.recv_until(RoomState)
        b.close()
        late = member(server, "dave")
        assert sorted(o.obj.id for o in late.seen if type(o).__name__ == "Obj") == sorted(
            [obj_id("bob-1"), obj_id("bob-2")]
        )
        c.send(Delete("c1", obj_id("bob-1")))  # bob is gone; his grant to carol is not
        assert c.recv_until(Delete).oid == "c1"
        late.send(Delete("d1", obj_id("bob-2")))
        assert refused(late, "d1").code == "not_allowed"
        late.close()


def test_rights_bans_and_the_lock_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "rights.sqlite3"
    with running_server(db) as server:
        a, b, c = member(server, "alice"), member(server, "bob"), member(server, "carol")
        alice, bob, carol = a.welcome.user, b.welcome.user, c.welcome.user
        draw(a, "a1", line(obj_id("alice-1")))
        draw(b, "b1", line(obj_id("bob-1"), 100))
        a.send(Say("/allow bob"))
        a.send(Say("/op carol"))
        d = member(server, "dave")
        d.close()
        a.send(Say("/ban dave"))
        a.send(Say("/lock"))
        assert a.recv_until(lambda m: isinstance(m, RoomState) and m.locked).operators == tuple(
            sorted((alice, carol))
        )
        for x in (a, b, c):
            x.close()
    with running_server(db) as server:
        a = member(server, "alice")
        assert state_of(a) == RoomState(operators=tuple(sorted((alice, carol))), locked=True, allowed=(bob,))
        b = member(server, "bob")
        assert state_of(b).may_edit == (alice,)
        b.send(Add("b2", line(obj_id("bob-2"), 300)))
        assert refused(b, "b2").code == "locked"
        a.send(Say("/unlock"))
        b.recv_until(lambda m: isinstance(m, RoomState) and not m.locked)
        b.send(Delete("b3", obj_id("alice-1")))  # the grant came back too
        assert b.recv_until(Delete).oid == "b3"
        d = RawClient(server.address)
        d.send(Join("dave", ROOM, client="secret-dave"))
        assert d.recv_until(JoinError).reason == "banned"
        # a newcomer to the old room is not its operator: the room existed
        e = member(server, "erin", source="127.0.0.2")  # dave's address holds new guests (server/bans.py)
        assert e.welcome.user not in state_of(e).operators
        for x in (a, b, d, e):
            x.close()


def test_a_room_from_before_rights_existed_has_no_operator(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    with running_server(db) as server:
        a = member(server, "alice")
        draw(a, "a1", line(obj_id("alice-1")))
        a.close()
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # as an older server left it
        for table in ("room_info", "operators", "members"):
            conn.execute(f"DELETE FROM {table}")
    with running_server(db) as server:
        b = member(server, "bob")
        assert state_of(b).operators == ()
        b.send(Undo("b1"))  # bob cannot undo alice's step; the room still works
        assert b.recv_until(Undo).target == 0
        b.close()


def test_a_change_of_rights_that_was_announced_survives_a_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite3"
    with ServerProcess(db) as proc:
        a = RawClient(proc.address)
        a.join("alice", ROOM, client="secret-alice")
        b = RawClient(proc.address)
        b.join("bob", ROOM, client="secret-bob")
        a.send(Say("/allow bob"))
        a.send(Say("/lock"))
        a.recv_until(lambda m: isinstance(m, RoomState) and m.locked)  # announced: stored before
        proc.signal(signal.SIGKILL)
        proc.wait()
        a.close()
        b.close()
    with ServerProcess(db) as proc:
        b = RawClient(proc.address)
        b.join("bob", ROOM, client="secret-bob")
        state = b.recv_until(RoomState)
        assert state.locked and state.may_edit == (a.welcome.user,) and state.operators == (a.welcome.user,)
        b.close()
