"""Members who watch only, on a real server: an operator's /readonly NICK refuses NICK's every
operation with watch_only (chat and the laser still work) until /readwrite NICK; /watchonly on makes
people new to the room watch only (members from before still draw), kept across a restart; never an
operator, never by a non-operator. And the App: a watcher's click says why, the laser still shines."""

from __future__ import annotations

from pathlib import Path

import pygame
from support import running_server
from test_app import drag, joined, key, make_app, run_until
from test_server_rights import clients, draw, line, member, obj_id, refused, settle, state_of

from pgboard.protocol import Add, Chat, Cursor, Error, Notice, RoomState, Say
from pgboard.room import WATCHING_TEXT


def test_readonly_refuses_every_operation_until_readwrite_and_chat_goes_on() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        a.send(Say("/readonly bob"))
        a.recv_until(lambda m: isinstance(m, Notice) and "watch only" in m.text)
        b.recv_until(lambda m: isinstance(m, RoomState) and m.watching)
        assert not state_of(a).watching
        b.send(Add("b1", line(obj_id("bob-1"))))
        err = refused(b, "b1")
        assert err.code == "watch_only" and "/readwrite" in err.detail
        b.send(Say("may I draw?"))
        assert a.recv_until(Chat).text == "may I draw?"
        b.send(Cursor(x=5, y=5, laser=True))
        assert a.recv_until(Cursor).laser, "a watcher still points"
        a.send(Say("/readwrite bob"))
        b.recv_until(lambda m: isinstance(m, RoomState) and not m.watching)
        draw(b, "b2", line(obj_id("bob-2")))
        assert server.rooms.get("class").board.seq == 1


def test_readonly_is_for_operators_and_never_makes_an_operator_watch() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        b.send(Say("/readonly alice"))
        assert b.recv_until(Error).code == "not_operator"
        a.send(Say("/op bob"))
        settle(a)
        a.send(Say("/readonly bob"))
        assert a.recv_until(Error).code == "not_allowed"
        a.send(Say("/readonly alice"))
        assert a.recv_until(Error).code == "bad_command"


def test_new_joiners_watch_only_kept_across_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "b.sqlite3"
    with running_server(db_path=db) as server, clients(server, "alice", "bob") as (a, b):
        a.send(Say("/watchonly on"))
        b.recv_until(lambda m: isinstance(m, RoomState) and m.watch_only)
        assert state_of(b).watch_only and not state_of(b).watching, "bob was here before: he draws"
        draw(b, "b1", line(obj_id("bob-1")))
        with member(server, "carol") as c:
            assert state_of(c).watching
            c.send(Add("c1", line(obj_id("carol-1"))))
            assert refused(c, "c1").code == "watch_only"
    with running_server(db_path=db) as server, clients(server, "alice", "carol", "dave") as (a, c, d):
        assert state_of(c).watching and state_of(d).watching, "kept in the store"
        a.send(Say("/watchonly off"))
        a.send(Say("/readwrite carol"))
        c.recv_until(lambda m: isinstance(m, RoomState) and not m.watching)
        draw(c, "c2", line(obj_id("carol-2")))
        with member(server, "erin") as e:
            assert not state_of(e).watching, "new joiners draw again"


def test_a_watcher_in_the_app_is_told_why_and_may_still_point(screen, server, tmp_path: Path) -> None:
    with member(server, "olga", room="r") as olga:
        app = joined(make_app(screen, tmp_path), server, "bob", room="r")
        olga.send(Say("/readonly bob"))
        run_until(app, lambda: app.room.read_only)
        assert app.ui.status.lock == "Watch only"
        app.frame([key(pygame.K_r, unicode="r")])
        app.frame(drag([(300, 300), (400, 400)]))
        assert not app.board.objects and not app.conn.pending_ops
        assert WATCHING_TEXT in app.ui.toast_line.text
        app.frame([key(pygame.K_k, unicode="k")])
        app.frame(drag([(300, 300), (340, 320), (380, 340)]))
        app.frame([])  # the next frame's pump writes it
        assert olga.recv_until(lambda m: isinstance(m, Cursor) and m.laser).user == app.room.me
