"""Every refusal of an operation names its oid, and the client (a real App against a real server) drops
exactly that operation and takes back what it drew of it, so its board equals the server's: too many
points, off the board, a full board, an id on the board, an erase that someone else's erase beat."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pygame
from support import RawClient, running_server
from test_app import joined, make_app, run_until

from pgboard import ids
from pgboard.app import App
from pgboard.protocol import (
    BOARD_W,
    MAX_POINTS,
    Add,
    BoardObject,
    Delete,
    Error,
    Extend,
    Move,
    RoomState,
    Say,
)

ROOM = "r"


def settled(app: App) -> None:
    run_until(app, lambda: not app.conn.pending_ops and not app.conn.events)


def same_board(app: App, server) -> bool:  # type: ignore[no-untyped-def]
    key = lambda o: o.id  # noqa: E731
    return sorted(app.board.snapshot(), key=key) == sorted(server.rooms.get(ROOM).board.snapshot(), key=key)


def refusals(app: App) -> list[Error]:
    got: list[Error] = []
    app.room.on_error = got.append
    return got


def test_each_refused_operation_alone_is_dropped_and_taken_back(
    screen: pygame.Surface,  # noqa: F811
    tmp_path: Path,
) -> None:
    with running_server(max_objects=2) as server:
        app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
        room, errors = app.room, refusals(app)
        stroke = BoardObject(room.new_id(), "pencil", ((10, 10), (20, 20)))
        room.submit(Add(room.new_oid(), stroke))
        settled(app)
        too_many = Extend(room.new_oid(), stroke.id, tuple((30, 30 + i % 1000) for i in range(MAX_POINTS)))
        off = Move(room.new_oid(), stroke.id, BOARD_W, 0)
        mine = BoardObject(room.new_id(), "rect", ((100, 100), (200, 200)))
        again = Add(room.new_oid(), dataclasses.replace(mine, color="#ff0000", id=stroke.id))  # on the board
        full = [Add(room.new_oid(), BoardObject(room.new_id(), "line", ((1, 1), (2, n)))) for n in (2, 3)]
        fine = Move(room.new_oid(), full[0].obj.id, 5, 5)  # sent right behind the refused ones: it lands
        for op in (too_many, off, again, *full, fine):
            room.submit(op)
        settled(app)
        assert [(e.code, e.oid) for e in errors] == [
            ("too_many_points", too_many.oid),
            ("bad_coordinates", off.oid),
            ("duplicate_id", again.oid),  # main took the stroke it replaced here away with it
            ("board_full", full[1].oid),  # the stroke and full[0] fill a board of 2
        ], errors
        assert app.board.get(full[0].obj.id).points == ((6, 6), (7, 7))  # type: ignore[union-attr]
        assert app.board.get(full[1].obj.id) is None
        assert app.board.get(stroke.id) == dataclasses.replace(stroke, author=room.me)  # as before
        assert same_board(app, server)


def test_an_erase_refused_because_another_erase_came_first_stays_erased(
    screen: pygame.Surface,  # noqa: F811
    tmp_path: Path,
) -> None:
    with running_server() as server:
        bob = RawClient(server.address)
        bob.join("bob", room=ROOM, client="secret-bob")
        bob.catch_up()
        theirs = BoardObject(ids.scoped(ids.device_id("secret-bob"), "b"), "rect", ((300, 300), (400, 400)))
        bob.send(Add("b1", theirs))
        bob.recv_until(Add)
        app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
        room, errors = app.room, refusals(app)
        bob.send(Say("/allow alice"))
        run_until(app, lambda: room.granted_by == {bob.welcome.user} and app.board.get(theirs.id) is not None)
        bob.send(Delete("b2", theirs.id))  # bob erases it first: the server has it gone
        bob.recv_until(Delete)
        room.submit(Delete(room.new_oid(), theirs.id))  # alice has not heard yet: she erases it too
        settled(app)
        assert [e.code for e in errors] == ["no_such_object"]
        assert app.board.get(theirs.id) is None  # main put it back on alice's screen alone
        assert same_board(app, server)
        bob.close()


def test_a_drag_then_an_erase_both_refused_leave_the_object_where_it_was(
    screen: pygame.Surface,  # noqa: F811
    tmp_path: Path,
) -> None:
    with running_server() as server:
        bob = RawClient(server.address)
        bob.join("bob", room=ROOM, client="secret-bob")
        bob.catch_up()
        theirs = BoardObject(ids.scoped(ids.device_id("secret-bob"), "b"), "rect", ((300, 300), (400, 400)))
        bob.send(Add("b1", theirs))
        bob.recv_until(Add)
        app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
        room, errors = app.room, refusals(app)
        bob.send(Say("/allow alice"))
        run_until(app, lambda: room.granted_by == {bob.welcome.user} and app.board.get(theirs.id) is not None)
        bob.send(Say("/deny alice"))  # alice has not heard yet when she drags it, then erases it
        bob.recv_until(lambda m: isinstance(m, RoomState) and not m.allowed)
        room.submit(Move(room.new_oid(), theirs.id, 50, 50))
        room.submit(Delete(room.new_oid(), theirs.id))
        settled(app)
        assert [e.code for e in errors] == ["not_allowed", "not_allowed"]
        assert app.board.get(theirs.id).points == theirs.points  # type: ignore[union-attr]  # main: 50 off
        assert same_board(app, server)
        bob.close()
