"""The ``batch`` operation on a real server with two clients: several changes as ONE operation,
applied whole or not at all, echoed once, ONE step of its author's undo history."""

from __future__ import annotations

import pytest
from support import RawClient, running_server

from pgboard.board import Board
from pgboard.protocol import Add, Batch, BoardObject, Error, Redo, Undo

ROOM = "lobby"  # where a RawClient joins by default


def line(oid: str, x: int) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 5, 20)))


def test_a_batch_lands_whole_for_the_other_client_and_one_undo_and_one_redo_take_it(tmp_path) -> None:
    with (
        running_server(tmp_path / "b.sqlite3") as server,
        RawClient(server.address) as a,
        RawClient(server.address) as b,
    ):
        a.join("alice")
        a.catch_up()
        b.join("bob")
        b.catch_up()
        a.send(Add("first", line(a.obj_id("old"), 1)))
        first = a.recv_until(Add)
        assert b.recv_until(Add) == first
        objs = tuple(line(a.obj_id(f"n{i}"), 10 + i) for i in range(20))
        a.send(Batch("b1", removed=(a.obj_id("old"),), put=objs))
        echo = a.recv_until(Batch)
        assert b.recv_until(Batch) == echo  # echoed once, whole
        board = Board()
        board.apply_echo(first)
        board.apply_echo(echo)
        assert sorted(board.objects) == sorted(o.id for o in objs)
        a.send(Undo("u1"))
        undo = a.recv_until(Undo)
        assert b.recv_until(Undo) == undo
        board.apply_echo(undo)
        assert list(board.objects) == [a.obj_id("old")]  # ONE undo: the 20 gone, the erased one back
        a.send(Redo("r1"))
        redo = a.recv_until(Redo)
        board.apply_echo(redo)
        assert sorted(board.objects) == sorted(o.id for o in objs)


def test_a_batch_with_one_object_not_yours_is_refused_whole_naming_it(tmp_path) -> None:
    with (
        running_server(tmp_path / "b.sqlite3") as server,
        RawClient(server.address) as a,
        RawClient(server.address) as b,
    ):
        b.join("bob")  # the first to join a room is its operator, who may edit every object
        b.catch_up()
        a.join("alice")
        a.catch_up()
        b.send(Add("theirs", line(b.obj_id("bobs"), 1)))
        b.recv_until(Add)
        a.send(Add("mine", line(a.obj_id("alices"), 2)))
        a.recv_until(Add)
        bad = Batch("b1", removed=(a.obj_id("alices"), b.obj_id("bobs")), put=(line(a.obj_id("new"), 3),))
        a.send(bad)
        err = a.recv_until((Error, Batch))
        assert isinstance(err, Error) and err.code == "not_allowed" and err.oid == "b1"
        assert b.obj_id("bobs") in err.detail
        # nothing of it was applied: a late joiner sees both objects and not the new one
        with RawClient(server.address) as c:
            c.join("carol")
            _, objs, _ = c.catch_up()
            ids = {m.obj.id for m in objs if hasattr(m, "obj")}
            assert ids == {a.obj_id("alices"), b.obj_id("bobs")}


def test_a_batch_adding_an_id_of_another_device_is_refused(tmp_path) -> None:
    with running_server(tmp_path / "b.sqlite3") as server, RawClient(server.address) as a:
        a.join("alice")
        a.catch_up()
        a.send(Batch("b1", put=(line(a.obj_id("ok"), 1), line("someone-else.x", 2))))
        err = a.recv_until((Error, Batch))
        assert isinstance(err, Error) and err.code == "bad_id"


def test_a_batch_survives_a_restart_and_is_still_one_undo_step(tmp_path) -> None:
    db = tmp_path / "b.sqlite3"
    objs = tuple(BoardObject(f"x{i}", "line", ((i, 10), (i + 5, 20))) for i in range(15))
    with running_server(db) as server, RawClient(server.address) as a:
        a.join("alice", client="alice-secret")
        a.catch_up()
        a.send(Batch("b1", put=tuple(BoardObject(a.obj_id(o.id), o.kind, o.points) for o in objs)))
        a.recv_until(Batch)
    with running_server(db) as server, RawClient(server.address) as a:
        a.join("alice", client="alice-secret")
        a.catch_up()
        assert len(server.rooms.get("lobby").board.objects) == 15
        a.send(Undo("u1"))
        undo = a.recv_until(Undo)
        assert len(undo.removed) == 15
        assert len(server.rooms.get("lobby").board.objects) == 0


# -- replacements: a put with the id of an object the batch removes (a selection moved, restyled,
# resized: pgboard/selection.py)


def moved(obj: BoardObject, dx: int) -> BoardObject:
    return BoardObject(obj.id, obj.kind, tuple((x + dx, y) for x, y in obj.points), "#ff0000", obj.width)


def test_an_operator_replaces_anyones_objects_in_one_batch_and_they_stay_their_authors(tmp_path) -> None:
    with (
        running_server(tmp_path / "b.sqlite3") as server,
        RawClient(server.address) as op,
        RawClient(server.address) as bob,
    ):
        op.join("alice")  # the first to join: operator
        op.catch_up()
        bob.join("bob")
        bob.catch_up()
        objs = [line(bob.obj_id(f"b{i}"), 10 * i) for i in range(3)]
        for i, obj in enumerate(objs):
            bob.send(Add(f"a{i}", obj))
            bob.recv_until(Add)
        op.send(Batch("mv", removed=tuple(o.id for o in objs), put=tuple(moved(o, 7) for o in objs)))
        echo = op.recv_until((Batch, Error))
        assert isinstance(echo, Batch), echo
        assert bob.recv_until(Batch) == echo
        room = server.rooms.get(ROOM)
        for obj in objs:
            now = room.board.get(obj.id)
            assert now.points == moved(obj, 7).points and now.color == "#ff0000"
            assert now.author != echo.author  # still bob's, not the operator's
        assert {o.author for o in echo.put} == {room.board.get(objs[0].id).author}
        op.send(Undo("u"))  # one undo puts all three back where they were
        op.recv_until(Undo)
        assert [room.board.get(o.id).points for o in objs] == [o.points for o in objs]


@pytest.mark.reliability
def test_a_replacement_may_not_change_what_an_object_is(tmp_path) -> None:
    with running_server(tmp_path / "b.sqlite3") as server, RawClient(server.address) as a:
        a.join("alice")
        a.catch_up()
        a.send(Add("t", BoardObject(a.obj_id("t"), "text", ((10, 10),), text="hello")))
        a.recv_until(Add)
        tid = a.obj_id("t")
        for i, forged in enumerate(
            (
                BoardObject(tid, "text", ((10, 10),), text="goodbye"),  # other words
                BoardObject(tid, "line", ((10, 10), (20, 20))),  # another kind
            )
        ):
            a.send(Batch(f"f{i}", removed=(tid,), put=(forged,)))
            err = a.recv_until((Error, Batch))
            assert isinstance(err, Error) and err.code == "bad_field" and tid in err.detail
        a.send(
            Batch("ok", removed=(tid,), put=(BoardObject(tid, "text", ((30, 40),), text="hello", size=48),))
        )
        echo = a.recv_until((Error, Batch))
        assert isinstance(echo, Batch) and echo.put[0].size == 48  # moved and resized: allowed


@pytest.mark.reliability
def test_a_member_cannot_replace_anothers_object_even_keeping_its_id(tmp_path) -> None:
    with (
        running_server(tmp_path / "b.sqlite3") as server,
        RawClient(server.address) as op,
        RawClient(server.address) as mallory,
    ):
        op.join("alice")
        op.catch_up()
        mallory.join("mallory")
        mallory.catch_up()
        obj = line(op.obj_id("x"), 5)
        op.send(Add("a", obj))
        op.recv_until(Add)
        mallory.send(Batch("steal", removed=(obj.id,), put=(moved(obj, 50),)))
        err = mallory.recv_until((Error, Batch))
        assert isinstance(err, Error) and err.code == "not_allowed"
        # a put of another's id without removing it is still refused by the id scope
        mallory.send(Batch("squat", put=(moved(obj, 60),)))
        err = mallory.recv_until((Error, Batch))
        assert isinstance(err, Error) and err.code == "bad_id"
        assert server.rooms.get(ROOM).board.get(obj.id).points == obj.points
