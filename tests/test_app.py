"""The client as a user drives it: real window (dummy driver), real server on loopback, synthetic events.

Each test posts the events a person would make and asserts what another user, the server's board or the
screen shows. Frames run until a condition holds, bounded by a deadline: never a sleep.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from pathlib import Path

import pygame
import pytest
from pgboard_server.server import BoardServer
from support import RawClient, running_server, wait_for_fds
from test_net import HandServer, hand  # noqa: F401 - fixture

from pgboard import boardfile
from pgboard.app import App
from pgboard.catchup_gc import NO_FULL_COLLECTION
from pgboard.protocol import (
    BOARD_W,
    Add,
    BoardObject,
    CatchUp,
    Chat,
    Extend,
    Hello,
    Join,
    Obj,
    Say,
    Undo,
    UserInfo,
    Welcome,
)
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets.statusbar import connection_text

WAIT = 15.0  # generous: a bound on a condition, never a pause
FRAME_GAP = 0.005  # the most one idle gap between two frames lasts (the real loop's tick is ~15 ms)


def ev(kind: int, **fields: object) -> pygame.event.Event:
    fields.setdefault("mod", 0)
    return pygame.event.Event(kind, **fields)


def key(k: int, mod: int = 0, unicode: str = "") -> pygame.event.Event:
    return ev(pygame.KEYDOWN, key=k, mod=mod, unicode=unicode, scancode=0)


def drag(points: list[tuple[int, int]]) -> list[pygame.event.Event]:
    out = [ev(pygame.MOUSEBUTTONDOWN, pos=points[0], button=1)]
    out += [ev(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0)) for p in points[1:]]
    out.append(ev(pygame.MOUSEBUTTONUP, pos=points[-1], button=1))
    return out


def make_app(screen: pygame.Surface, tmp_path: Path) -> App:
    return App(screen, settings_path=tmp_path / "settings.json", export_dir=tmp_path)


def run_until(app: App, condition: Callable[[], object], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout} s (state {app.conn and app.conn.state})"
            )
        app.frame([])
        between_frames(app)


def between_frames(app: App) -> None:
    """The idle gap the real loop spends in clock.tick, cut short as soon as the server speaks.

    Frames run back to back with no gap starve the in-process server's threads: each blit drops the GIL
    and takes it back sooner than a waiting thread wakes up, so a join could wait many seconds."""
    fd = app.conn.fileno() if app.conn is not None else -1
    wait_for_fds([fd] if fd >= 0 else [], [], FRAME_GAP)


def joined(app: App, server, nick: str = "alice", room: str = "r") -> App:
    app.connect("127.0.0.1", server.address[1], nick, room)
    run_until(app, lambda: app.conn is not None and app.conn.state == "online")
    return app


def board_point(app: App, fx: float, fy: float) -> tuple[int, int]:
    r = app.ui.board_rect
    return (int(r.x + r.w * fx), int(r.y + r.h * fy))


def test_a_rectangle_drawn_here_reaches_another_user_with_my_name_on_it(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    app.frame([key(pygame.K_r, unicode="r")])
    app.frame(drag([board_point(app, 0.2, 0.2), board_point(app, 0.3, 0.25), board_point(app, 0.4, 0.4)]))
    got = bob.recv_until(Add)
    assert got.obj.kind == "rect" and got.author == app.room.me
    run_until(app, lambda: not app.conn.pending_ops)  # echoed: acknowledged and kept once
    assert list(app.board.objects) == [got.obj.id]
    bob.close()


def test_a_pencil_stroke_grows_on_the_other_screen_while_it_is_drawn(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    start = board_point(app, 0.5, 0.5)
    app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=start, button=1)])
    bob.recv_until(Add)
    app.frame([ev(pygame.MOUSEMOTION, pos=(start[0] + 40, start[1] + 10), rel=(0, 0), buttons=(1, 0, 0))])
    grown = bob.recv_until(Extend)  # the mouse button is still down
    assert grown.points
    app.frame([ev(pygame.MOUSEBUTTONUP, pos=(start[0] + 40, start[1] + 10), button=1)])
    bob.close()


def test_shortcuts_do_nothing_while_typing_in_chat_and_the_line_arrives_intact(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    app.frame([key(pygame.K_RETURN, unicode="\r")])
    assert app.ui.is_typing
    app.frame([key(pygame.K_r, unicode="r"), ev(pygame.TEXTINPUT, text="r 中文 Ø 😀")])
    assert app.tool_name == "pencil"
    app.frame([key(pygame.K_RETURN, unicode="\r")])
    line = bob.recv_until(Chat)
    assert line.text == "r 中文 Ø 😀" and line.nick == "alice"
    app.frame([key(pygame.K_ESCAPE, unicode="\x1b")])
    app.frame([key(pygame.K_r, unicode="r")])
    assert app.tool_name == "rect"
    bob.close()


def test_text_tool_types_unicode_in_place_and_shortcuts_wait(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    app.frame([key(pygame.K_t, unicode="t")])
    app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=board_point(app, 0.3, 0.3), button=1)])
    app.frame([ev(pygame.MOUSEBUTTONUP, pos=board_point(app, 0.3, 0.3), button=1)])
    app.frame(
        [key(pygame.K_e, unicode="e"), ev(pygame.TEXTINPUT, text="e"), ev(pygame.TEXTINPUT, text="中文 Ø")]
    )
    assert app.tool_name == "text"
    app.frame([key(pygame.K_RETURN, unicode="\r")])
    run_until(app, lambda: not app.conn.pending_ops)
    (obj,) = server.rooms.get("r").board.objects.values()
    assert obj.kind == "text" and obj.text == "e中文 Ø"


def test_a_long_line_of_text_wraps_at_the_boards_edge_instead_of_running_off_it(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    app.frame([key(pygame.K_t, unicode="t")])
    app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=board_point(app, 0.3, 0.3), button=1)])
    app.frame([ev(pygame.MOUSEBUTTONUP, pos=board_point(app, 0.3, 0.3), button=1)])
    typed = "This is a very long student answer that goes on and on to see whether the text wraps " * 2
    typed += "Antidisestablishmentarianism" * 4  # one word longer than a line
    app.frame([ev(pygame.TEXTINPUT, text=ch) for ch in typed])
    app.frame([key(pygame.K_RETURN, unicode="\r")])
    run_until(app, lambda: not app.conn.pending_ops)
    (obj,) = server.rooms.get("r").board.objects.values()
    assert obj.text.count("\n") >= 2, obj.text  # broken at spaces, and inside the word too long for a line
    assert "".join(obj.text.split()) == "".join(typed.split()), "every character typed, in order"
    assert app.texts.box(obj)[2] <= BOARD_W, "nothing of it past the board's right edge"


def test_undo_takes_back_my_last_shape_for_everyone(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    app.frame([key(pygame.K_o, unicode="o")])
    app.frame(drag([board_point(app, 0.1, 0.1), board_point(app, 0.3, 0.3)]))
    added = bob.recv_until(Add)
    app.frame([key(pygame.K_z, mod=pygame.KMOD_LCTRL)])
    undone = bob.recv_until(Undo)
    assert undone.removed == (added.obj.id,)
    run_until(app, lambda: added.obj.id not in app.board.objects)
    bob.close()


def test_ctrl_s_saves_a_png_showing_the_stroke(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    app.frame([key(pygame.K_3, unicode="3")])  # red
    app.frame([key(pygame.K_l, unicode="l")])
    a, b = board_point(app, 0.2, 0.5), board_point(app, 0.6, 0.5)
    app.frame(drag([a, b]))
    app.frame([key(pygame.K_s, mod=pygame.KMOD_LCTRL)])
    (png,) = tmp_path.glob("*.png")
    image = pygame.image.load(str(png))
    (obj,) = app.board.objects.values()
    x = (obj.points[0][0] + obj.points[1][0]) // 2
    y = obj.points[0][1]
    r, g, bl = image.get_at((x, y))[:3]
    assert r > 180 and g < 100 and bl < 100, "the middle of the red line is red in the saved PNG"
    assert image.get_at((x, y - 40))[:3] == (255, 255, 255)


def test_a_taken_nickname_comes_back_to_the_connect_screen_with_a_suggestion(screen, server, tmp_path):
    bob = RawClient(server.address)
    bob.join("alice", room="r")
    app = make_app(screen, tmp_path)
    app.connect("127.0.0.1", server.address[1], "alice", "r")
    run_until(app, lambda: app.ui.connect_visible)
    assert app.conn.state == "refused"
    assert app.ui.connect_screen.suggestion == "alice2"
    assert "alice" in app.ui.connect_screen.error
    bob.close()


def test_an_unreachable_server_is_reported_on_the_connect_screen(screen, tmp_path):
    with running_server() as srv:
        port = srv.address[1]
    app = make_app(screen, tmp_path)
    app.connect("127.0.0.1", port, "alice", "r")
    run_until(app, lambda: app.ui.connect_visible)
    assert f"cannot reach 127.0.0.1:{port}" in app.ui.connect_screen.error.casefold()
    assert app.conn is None, "no retries behind the connect screen's back"


def test_drawing_offline_reaches_the_board_once_after_the_server_comes_back(screen, tmp_path):
    db = tmp_path / "board.sqlite3"
    with running_server(db_path=db) as srv:
        port = srv.address[1]
        app = joined(make_app(screen, tmp_path), srv)
        app.frame([key(pygame.K_r, unicode="r")])
        app.frame(drag([board_point(app, 0.1, 0.1), board_point(app, 0.2, 0.2)]))
        run_until(app, lambda: not app.conn.pending_ops)
    run_until(app, lambda: app.conn.state == "offline")
    app.frame(drag([board_point(app, 0.5, 0.5), board_point(app, 0.7, 0.7)]))  # drawn while offline
    assert len(app.board.objects) == 2, "the offline shape shows at once"
    srv = BoardServer("127.0.0.1", port, db)  # back on the same address, with the same board file
    srv.start()
    try:
        app.conn.retry_now()
        run_until(app, lambda: app.conn.state == "online" and not app.conn.pending_ops)
        watcher = RawClient(srv.address)
        watcher.join("watcher", room="r")
        _, objs, _ = watcher.catch_up()
        assert sorted(o.obj.id for o in objs) == sorted(app.board.objects)
        assert len(objs) == 2
        watcher.close()
    finally:
        app.shutdown()
        srv.stop()


def test_the_chat_replayed_after_a_reconnect_is_not_shown_twice(screen, tmp_path):
    db = tmp_path / "board.sqlite3"
    with running_server(db_path=db) as srv:
        port = srv.address[1]
        app = joined(make_app(screen, tmp_path), srv)
        bob = RawClient(srv.address)
        bob.join("bob", room="r")
        for text in ("ok", "ok", "see the top left"):  # two equal lines: both must stay
            bob.send(Say(text))
        run_until(app, lambda: sum(e.prefix == "bob: " for e in app.ui.chat.entries) == 3)
        bob.close()
    run_until(app, lambda: app.conn.state == "offline")
    srv = BoardServer("127.0.0.1", port, db)  # back with the same log: the join replays the chat
    srv.start()
    try:
        app.conn.retry_now()
        run_until(app, lambda: app.conn.state == "online")
        carol = RawClient(srv.address)
        carol.join("carol", room="r")
        carol.send(Say("hello"))  # after the replay: once this shows, the replay has been shown too
        run_until(app, lambda: any(e.body == "hello" for e in app.ui.chat.entries))
        said = [e.body for e in app.ui.chat.entries if e.kind == "say"]
        assert said == ["ok", "ok", "see the top left", "hello"]
        carol.close()
    finally:
        app.shutdown()
        srv.stop()


def test_when_the_server_is_gone_a_long_while_the_board_is_kept_in_a_file(screen, tmp_path):
    clock = ManualClock()
    app = App(
        screen,
        scheduler=Scheduler(now=clock.now),
        settings_path=tmp_path / "settings.json",
        export_dir=tmp_path,
    )
    with running_server() as srv:
        joined(app, srv)
        app.frame([key(pygame.K_c, unicode="c")])
        app.frame(drag([board_point(app, 0.4, 0.4), board_point(app, 0.5, 0.5)]))
        run_until(app, lambda: not app.conn.pending_ops)
    run_until(app, lambda: app.conn.state == "offline")
    app.frame(drag([board_point(app, 0.1, 0.6), board_point(app, 0.2, 0.7)]))  # drawn with nobody there

    def give_up_soon() -> bool:
        clock.advance(31)  # past the longest back-off: the next try is due
        return app.conn.long_outage and any(tmp_path.glob("pgboard-recovered-*.pgboard"))

    run_until(app, give_up_soon, timeout=20)
    (kept,) = tmp_path.glob("pgboard-recovered-*.pgboard")
    assert sorted(o.kind for o in boardfile.load(kept)) == ["circle", "circle"]
    assert app.conn.state in ("offline", "connecting"), "still retrying"
    assert "Server down" in connection_text(app.conn)
    said = [e.body for e in app.ui.chat.entries if e.kind == "notice"]  # where the work is, not "Ctrl+S"
    assert any(f"your work is kept in {kept}" in line for line in said), said
    assert not any("Ctrl+S" in line for line in said)


def test_a_saved_board_opens_in_another_room_as_my_own_copies(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server, room="first")
    app.frame([key(pygame.K_s, unicode="s")])
    app.frame(drag([board_point(app, 0.4, 0.4), board_point(app, 0.5, 0.5)]))
    app.frame([key(pygame.K_s, mod=pygame.KMOD_LCTRL | pygame.KMOD_LSHIFT)])
    assert len(list(tmp_path.glob("*.pgboard"))) == 1
    app.connect("127.0.0.1", server.address[1], "alice", "second")
    run_until(app, lambda: app.conn.state == "online")
    app.frame([key(pygame.K_o, mod=pygame.KMOD_LCTRL)])
    assert app.ui.picklist.open and app.ui.picklist.items[0][0].endswith(".pgboard")
    app.frame([key(pygame.K_1, unicode="1")])  # the newest file, by its number
    assert app.ui.picklist.items[0][0] == "Add to the board", "then: add it, or replace the board"
    app.frame([key(pygame.K_1, unicode="1")])
    assert not app.ui.picklist.open and app.tool_name == "square", "the digit picked a file, not a colour"
    run_until(app, lambda: not app.conn.pending_ops)
    (copy,) = server.rooms.get("second").board.objects.values()
    (original,) = server.rooms.get("first").board.objects.values()
    assert copy.kind == "square" and copy.points == original.points and copy.id != original.id
    assert copy.author == app.room.me


def test_zoom_and_pan_change_the_view_but_shapes_land_in_board_coordinates(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    centre = board_point(app, 0.5, 0.5)
    app.frame([ev(pygame.MOUSEMOTION, pos=centre, rel=(0, 0), buttons=(0, 0, 0))])
    under_cursor = app.viewport.to_board(centre)
    app.frame([ev(pygame.MOUSEWHEEL, x=0, y=3, mod=pygame.KMOD_LCTRL)])  # Ctrl+wheel: zoom in there
    assert app.viewport.zoom > 1.2
    assert app.viewport.to_board(centre) == pytest.approx(under_cursor, abs=2), (
        "the point under the cursor stays"
    )
    before = app.viewport.to_board(centre)
    app.frame(  # middle mouse drags the view
        [
            ev(pygame.MOUSEBUTTONDOWN, pos=centre, button=2),
            ev(pygame.MOUSEMOTION, pos=(centre[0] + 100, centre[1]), rel=(100, 0), buttons=(0, 1, 0)),
            ev(pygame.MOUSEBUTTONUP, pos=(centre[0] + 100, centre[1]), button=2),
        ]
    )
    after = app.viewport.to_board(centre)
    assert after[0] < before[0] and after[1] == before[1], "dragging right shows what lies to the left"
    assert not app.board.objects, "panning drew nothing"
    app.frame([key(pygame.K_l, unicode="l")])
    a, b = (centre[0] - 50, centre[1]), (centre[0] + 50, centre[1])
    app.frame(drag([a, b]))
    run_until(app, lambda: not app.conn.pending_ops)
    (line,) = server.rooms.get("r").board.objects.values()
    assert line.points == (app.viewport.to_board(a), app.viewport.to_board(b))
    assert line.points[1][0] - line.points[0][0] < 100 / app.viewport.fit_scale, "zoomed in: a shorter line"


def test_a_second_window_on_the_same_machine_is_a_second_person_and_nobody_is_thrown_out(
    screen, server, tmp_path
):
    first = joined(make_app(screen, tmp_path), server, "alice")
    second = joined(make_app(screen, tmp_path), server, "bob")  # the same settings file: one machine
    run_until(first, lambda: len(first.room.users) == 2)
    assert first.conn.state == "online" and second.conn.state == "online"
    assert first.room.me != second.room.me  # bob's strokes are bob's, not alice's
    assert first.client_secret == first.ui.settings.client  # the first window keeps the saved identity
    first.shutdown()
    third = make_app(screen, tmp_path)  # the next window opened gets it back
    assert third.client_secret == first.client_secret
    second.shutdown()
    third.shutdown()


def test_leaving_a_room_during_its_catch_up_gives_the_garbage_collector_back(
    screen: pygame.Surface,
    tmp_path: Path,
    hand: HandServer,  # noqa: F811 - fixture
) -> None:
    """The collector waits while a board comes in (pgboard/catchup_gc.py); a room left before its
    caught_up used to leave it so for the rest of the process: no full collection ever again."""
    normal = gc.get_threshold()
    app = make_app(screen, tmp_path)
    app.connect("127.0.0.1", hand.port, "alice", "lobby")
    hand.accept()
    run_until(app, lambda: app.conn is not None and app.conn.state == "joining")
    hand.send(Hello(2, "hand"))
    run_until(app, hand.readable)
    assert isinstance(hand.recv(), Join)
    hand.send(Welcome("u1", "alice", "lobby", (UserInfo("u1", "alice"),), 3), CatchUp(3, "board"))
    hand.send(Obj(BoardObject("a", "line", ((1, 1), (9, 9)))))
    run_until(app, lambda: gc.get_threshold()[2] == NO_FULL_COLLECTION)  # the board comes in
    app.connect("127.0.0.1", hand.port, "alice", "elsewhere")  # the user leaves before caught_up
    assert gc.get_threshold() == normal
    app.shutdown()
