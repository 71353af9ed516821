"""Rooms inside the app, as a user drives it (real App under the dummy driver, real server): /join moves
the window to another room and back with each room's drawings where they belong, /rooms lists the open
rooms, /leave goes back to the connect screen, /quit ends the run loop, the server's greeting shows."""

# ruff: noqa: F811 - the fixtures screen and server, imported from test_app, are named as parameters
from __future__ import annotations

import pygame
from support import RawClient, running_server
from test_app import board_point, drag, ev, joined, key, make_app, run_until

from pgboard.app import App
from pgboard.frameloop import FrameLoop
from pgboard.protocol import Add, Join, Say, UserLeft, Welcome

MAX_PASSES = 200  # passes of the run loop /quit may take (it takes 3: one a posted event)


def say(app: App, text: str) -> None:
    """Type a line in the chat box and send it, as a person does (Enter, the text, Enter)."""
    app.frame([key(pygame.K_RETURN, unicode="\r")])
    app.frame([ev(pygame.TEXTINPUT, text=text)])
    app.frame([key(pygame.K_RETURN, unicode="\r")])


def notices(app: App) -> list[str]:
    return [e.body for e in app.ui.chat.entries if e.kind == "notice"]


def online_in(app: App, room: str) -> bool:
    return (
        app.conn is not None and app.conn.state == "online" and app.conn.room == room and app.room.caught_up
    )


def draw_rect(app: App, fx: float) -> str:
    app.frame([key(pygame.K_r, unicode="r")])
    app.frame(
        drag([board_point(app, fx, 0.2), board_point(app, fx + 0.05, 0.3), board_point(app, fx + 0.1, 0.4)])
    )
    run_until(app, lambda: not app.conn.pending_ops)
    return next(iter(app.board.objects))


def test_join_moves_the_window_to_another_room_and_back_with_each_rooms_drawings(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    mine = draw_rect(app, 0.2)
    with RawClient(server.address) as bob:
        bob.join("bob", room="art")
        say(app, "/join art")
        run_until(app, lambda: online_in(app, "art"))
        assert mine not in app.board.objects  # the maths board stayed in maths
        assert app.ui.connect_visible is False and app.conn.nick == "alice"
        assert any("Leaving maths for art" in n for n in notices(app))
        drawn_here = draw_rect(app, 0.6)
        assert isinstance(bob.recv_until(Add), Add)  # bob, in art, sees what alice draws there
        say(app, "/join maths")
        run_until(app, lambda: online_in(app, "maths") and mine in app.board.objects)
        assert drawn_here not in app.board.objects
        assert set(server.rooms.get("maths").board.objects) == {mine}
        assert set(server.rooms.get("art").board.objects) == {drawn_here}
        gone = bob.recv_until(UserLeft)  # alice left art: one connection at a time
        assert (gone.nick, gone.reason) == ("alice", "left")  # she went elsewhere: not "quit"


def test_those_who_stay_read_left_for_a_board_left_and_quit_for_a_window_closed(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    with RawClient(server.address) as bob:
        bob.join("bob", room="maths")
        say(app, "/leave")  # to the connect screen
        assert (bob.recv_until(UserLeft).reason, app.ui.connect_visible) == ("left", True)
        app.connect("127.0.0.1", server.address[1], "alice", "maths")
        run_until(app, lambda: online_in(app, "maths"))
        app.shutdown()  # the window closed: gone from the server
        assert bob.recv_until(UserLeft).reason == "quit"


def test_coming_back_to_a_room_does_not_show_its_recent_chat_a_second_time(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    with RawClient(server.address) as carol:
        carol.join("carol", room="maths")
        carol.send(Say("the answer is 42"))
        said = lambda: [e for e in app.ui.chat.entries if e.body == "the answer is 42"]  # noqa: E731
        run_until(app, lambda: len(said()) == 1)
        say(app, "/join art")
        run_until(app, lambda: online_in(app, "art"))
        say(app, "/join maths")  # the server replays maths' recent chat to whoever joins
        run_until(app, lambda: online_in(app, "maths"))
        for _ in range(5):
            app.frame([])
        assert len(said()) == 1, "a line shown once, minutes ago, is not shown again"
    fresh = joined(make_app(screen, tmp_path), server, nick="dan", room="maths")  # another window: shown
    run_until(fresh, lambda: any(e.body == "the answer is 42" for e in fresh.ui.chat.entries))
    fresh.shutdown()


def test_join_waits_while_my_last_drawing_is_on_its_way(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    app.frame([key(pygame.K_r, unicode="r")])
    for event in drag([board_point(app, 0.2, 0.2), board_point(app, 0.3, 0.4)]):
        app.handle_event(event)  # drawn, not sent yet: /join in the same frame, before the pump
    assert app.conn.pending_ops
    app.send_chat("/join art")  # closing the connection now could lose the rectangle
    assert app.conn.room == "maths" and any("still on their way" in n for n in notices(app))
    run_until(app, lambda: not app.conn.pending_ops)
    app.send_chat("/join art")
    run_until(app, lambda: online_in(app, "art"))
    assert len(server.rooms.get("maths").board.objects) == 1  # the rectangle stayed in maths


def test_a_refused_join_comes_back_to_the_connect_screen_with_the_reason(screen, tmp_path):
    with running_server(scrypt_n=16, scrypt_r=1) as srv, RawClient(srv.address) as bob:
        bob.send(Join("bob", "club", password="sesame"))
        bob.recv_until(Welcome)
        app = joined(make_app(screen, tmp_path), srv, room="maths")
        say(app, "/join club sesame")
        run_until(app, lambda: online_in(app, "club"))
        say(app, "/join maths")
        run_until(app, lambda: online_in(app, "maths"))
        say(app, "/join " + "x" * 40)  # too long a name: said in chat, nothing moves
        assert app.conn.room == "maths" and any("Cannot join" in n for n in notices(app))
        say(app, "/join club wrong one")
        run_until(app, lambda: app.ui.connect_visible)
        assert "needs its password" in app.ui.connect_screen.error


def test_rooms_lists_the_open_rooms_in_chat(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    with RawClient(server.address) as bob, RawClient(server.address) as carol:
        bob.join("bob", room="maths")
        carol.join("carol", room="art")
        say(app, "/rooms")
        run_until(app, lambda: "maths: 2 people" in notices(app))
        assert "art: 1 person" in notices(app)


def test_the_rooms_answer_is_a_picker_that_takes_me_to_the_room_picked(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    with RawClient(server.address) as bob, RawClient(server.address) as carol:
        bob.join("bob", room="art")
        carol.send(Join(nick="carol", room="club", password="pw"))
        carol.recv_until(Welcome)
        say(app, "/rooms")
        run_until(app, lambda: app.ui.picklist.open)
        rows = dict(app.ui.picklist.items)
        assert rows == {"maths": "1 person, you are here", "art": "1 person", "club": "1 person, password"}
        labels = [label for label, _ in app.ui.picklist.items]
        app.frame([key(pygame.K_1 + labels.index("club"), unicode="")])  # a password room: asked for it
        assert not app.ui.picklist.open and app.conn.room == "maths"
        assert app.ui.chat.input.text == "/join club " and app.ui.chat.focused
        app.frame([ev(pygame.TEXTINPUT, text="pw")])
        app.frame([key(pygame.K_RETURN, unicode="\r")])
        run_until(app, lambda: online_in(app, "club"))
        say(app, "/rooms")
        run_until(app, lambda: app.ui.picklist.open)
        labels = [label for label, _ in app.ui.picklist.items]
        app.frame([key(pygame.K_1 + labels.index("art"), unicode="")])  # an open room: straight there
        run_until(app, lambda: online_in(app, "art"))
        assert not app.ui.connect_visible


def test_leave_shows_the_connect_screen_and_the_others_see_us_go(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="maths")
    with RawClient(server.address) as bob:
        bob.join("bob", room="maths")
        say(app, "/leave")
        assert app.ui.connect_visible and app.conn is None
        assert bob.recv_until(UserLeft).nick == "alice"
    app.frame([])  # a frame on the connect screen runs without a connection


def test_quit_ends_the_run_loop(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    pygame.event.clear()
    for event in (
        key(pygame.K_RETURN, unicode="\r"),
        ev(pygame.TEXTINPUT, text="/quit"),
        key(pygame.K_RETURN, unicode="\r"),
    ):
        pygame.event.post(event)
    loop = FrameLoop(app)  # the real run loop, a bounded number of its passes
    for _ in range(MAX_PASSES):
        if not app.running:
            break
        loop.tick()
    assert app.running is False  # the loop's condition: FrameLoop.run returns and App.run shuts down
    app.shutdown()
    assert app.conn is None


def test_the_servers_greeting_shows_in_chat_on_join(screen, tmp_path):
    with running_server(motd="Welcome! Be kind; boards are kept a week.") as srv:
        app = joined(make_app(screen, tmp_path), srv)
        run_until(app, lambda: "Welcome! Be kind; boards are kept a week." in notices(app))
