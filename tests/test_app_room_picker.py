"""The connect screen lists the server's open rooms before joining (issue 13, rooms inside the app):
each with how many are in it, password rooms marked; a click puts the room in the Room field (a
password room asks its password next) and Connect goes there. Real App under the dummy driver, a real
server asked over a connection of the picker's own (the server answers `rooms` before any `join`)."""

# ruff: noqa: F811 - the fixtures screen and server, imported from test_app, are named as parameters
from __future__ import annotations

import select

import pygame
from support import RawClient, running_server
from test_app import WAIT, ev, key, make_app, run_until
from test_app_people import drawn
from test_app_rooms import online_in

from pgboard.frameloop import wake_sockets
from pgboard.protocol import Join, Welcome
from pgboard.widgets.room_picker import NO_ROOMS


def click(app, pos: tuple[int, int]) -> None:
    app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=pos, button=1), ev(pygame.MOUSEBUTTONUP, pos=pos, button=1)])


def test_the_connect_screen_lists_the_open_rooms_and_a_click_takes_me_there(screen, tmp_path) -> None:
    with running_server() as srv, RawClient(srv.address) as bob, RawClient(srv.address) as carol:
        with RawClient(srv.address) as dave:
            for c, nick, room, pw in (
                (bob, "bob", "maths", ""),
                (carol, "carol", "maths", ""),
                (dave, "dave", "club", "pw"),
            ):
                c.send(Join(nick, room, password=pw))
                c.recv_until(Welcome)
            app = make_app(screen, tmp_path)
            assert app.ui.connect_visible
            screen_ = app.ui.connect_screen
            screen_.fill("127.0.0.1", srv.address[1], "alice", "lobby")
            run_until(app, lambda: "maths" in drawn(app))  # asked with nothing typed: the saved server
            shown = drawn(app)
            assert "2 people" in shown and "1 person · password" in shown, shown
            assert shown.index("maths") < shown.index("club"), "the busiest first"
            pygame.image.save(app.screen, str(tmp_path / "picker.png"))
            rect = next(r for r, name, _ in screen_.rooms.row_rects if name == "club")
            click(app, rect.center)
            assert screen_.room.text == "club" and screen_.room_password.focused, "its password next"
            app.frame([ev(pygame.TEXTINPUT, text="pw")])
            app.frame([key(pygame.K_RETURN, unicode="\r")])
            run_until(app, lambda: online_in(app, "club"))
            assert {"alice", "dave"} <= set(app.room.users.values())
            app.shutdown()


def test_the_list_is_asked_again_for_another_server_and_the_loop_wakes_for_its_answer(
    screen, tmp_path
) -> None:
    with running_server() as empty, running_server() as busy, RawClient(busy.address) as bob:
        bob.send(Join("bob", "art"))
        bob.recv_until(Welcome)
        app = make_app(screen, tmp_path)
        picker = app.ui.connect_screen.rooms
        app.ui.connect_screen.fill("127.0.0.1", empty.address[1], "alice", "lobby")
        run_until(app, lambda: NO_ROOMS in drawn(app))
        assert wake_sockets(app) == ([], []) and app.ui.next_change(app.scheduler.now()) is None, "asleep"
        field = app.ui.connect_screen.port
        click(app, field.rect.center)  # the user edits the port: not asked at each keystroke
        app.ui.connect_screen.port.set_text(str(busy.address[1]))
        app.frame([])
        assert picker.probe is None and "art" not in drawn(app)
        app.frame([key(pygame.K_TAB)])  # leaves the field: asked
        readable, _ = wake_sockets(app)
        assert readable, "the sleeping loop selects on the look's descriptor"
        assert app.ui.next_change(app.scheduler.now()) is None, "no polling while it is out"
        ready, _, _ = select.select(readable, [], [], WAIT)
        assert ready, "the answer wakes the loop"
        app.frame([])  # the frame the loop runs when woken: the answer shown
        assert "art" in drawn(app) and wake_sockets(app) == ([], [])
        app.shutdown()


def test_an_unreachable_server_says_so_in_the_list(screen, tmp_path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = make_app(screen, tmp_path)
    app.ui.connect_screen.fill("127.0.0.1", port, "alice", "lobby")
    run_until(app, lambda: any("Nothing answers at" in t for t in drawn(app)))
    app.shutdown()
