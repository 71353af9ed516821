"""Others' presence in the real App against a real server: cursors fade when idle (the sleeping frame
loop is told when) and go when the link drops, the People panel marks who is drawing now, a refused
erase or drag says whose object it is, and the erase-all dialog says what the server's clear does."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from pgboard_server.limits import NO_RATE_LIMITS
from support import CutProxy, RawClient, running_server
from test_app import drag, joined, key, run_until
from test_server_spec import long_id
from uikit import colors_in

from pgboard import ids
from pgboard.app import App
from pgboard.clearing import clearable, fewest_per_clear
from pgboard.idle import IDLE_AFTER
from pgboard.presence import CURSOR_FADE, CURSOR_IDLE, DRAWING_RECENT, shown_cursors
from pgboard.protocol import Add, BoardObject, Clear, Cursor, Error, RoomState, Say, UserJoined, encode
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets import theme

ROOM = "r"
CAROLS = ids.scoped(ids.device_id("secret-carol"), "carols")


def clocked_app(screen: pygame.Surface, tmp_path: Path) -> tuple[App, ManualClock]:  # noqa: F811
    clock = ManualClock(100.0)
    app = App(
        screen,
        scheduler=Scheduler(now=clock.now),
        settings_path=tmp_path / "settings.json",
        export_dir=tmp_path,
    )
    return app, clock


def raw(server, nick: str) -> RawClient:  # noqa: F811
    c = RawClient(server.address)
    c.join(nick, room=ROOM, client=f"secret-{nick}")
    c.catch_up()
    return c


def carols_rect(carol: RawClient) -> BoardObject:
    obj = BoardObject(CAROLS, "rect", ((1200, 400), (1500, 600)), "#ff0000", 4)
    carol.send(Add("c1", obj))
    carol.recv_until(lambda m: isinstance(m, Add) and m.oid == "c1")
    return obj


def screen_of(app: App, x: int, y: int) -> tuple[int, int]:
    sx, sy = app.viewport.to_screen((x, y))
    return int(sx), int(sy)


def cursor_seen(app: App, x: int, y: int, uid: str) -> bool:
    """Whether the arrow of ``uid``'s cursor is on the screen at board point (x, y), as drawn."""
    sx, sy = screen_of(app, x, y)
    return theme.user_color(uid) in colors_in(app.screen, pygame.Rect(sx + 1, sy + 4, 3, 4))


def carols_cursor_shown(screen, server, tmp_path: Path):  # noqa: ANN201, F811 - (App, clock, carol, uid)
    """Alice's window with carol in the room, her cursor at (2000, 1000) drawn."""
    app, clock = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    carol = raw(server, "carol")
    uid = carol.welcome.user
    run_until(app, lambda: uid in app.room.users)
    carol.send(Cursor(x=2000, y=1000))
    run_until(app, lambda: cursor_seen(app, 2000, 1000, uid))
    return app, clock, carol, uid


def test_an_idle_cursor_fades_away_and_the_sleeping_loop_is_told_when(screen, server, tmp_path: Path):  # noqa: F811
    app, clock, carol, uid = carols_cursor_shown(screen, server, tmp_path)
    wait = app.ui.next_change(clock.now())
    assert wait is not None and 0 < wait <= CURSOR_IDLE, "the sleeping loop must wake for the fade"
    clock.advance(CURSOR_IDLE + CURSOR_FADE / 2)
    app.frame([])
    pygame.image.save(app.screen, str(tmp_path / "fading.png"))
    assert app.ui.next_change(clock.now()) is not None  # still fading: the loop keeps drawing it
    clock.advance(CURSOR_FADE)
    app.frame([])
    assert not cursor_seen(app, 2000, 1000, uid), "an idle cursor is gone after its fade"
    wait = app.ui.next_change(clock.now())  # nothing to animate: asleep until carol's idle mark is due
    assert wait is not None and wait > IDLE_AFTER - CURSOR_IDLE - 2 * CURSOR_FADE
    carol.send(Cursor(x=2100, y=1000))  # it moves again: shown again
    run_until(app, lambda: cursor_seen(app, 2100, 1000, uid))
    app.shutdown()


def test_n_hides_the_others_cursors_and_shows_them_again(screen, server, tmp_path: Path):  # noqa: F811
    """30 students' names over the work: N hides them (kept in the settings), N shows them."""
    app, _, carol, uid = carols_cursor_shown(screen, server, tmp_path)
    app.frame([key(pygame.K_n, unicode="n")])
    carol.send(Cursor(x=2100, y=1000))  # she moves on: still not shown
    arrived = lambda: any(p == (2100, 1000) for *_, p, _ in shown_cursors(app.room, app.scheduler.now()))  # noqa: E731
    run_until(app, arrived)  # the room has it; the window does not draw it
    for _ in range(3):
        app.frame([])
    assert not cursor_seen(app, 2100, 1000, uid) and not app.ui.settings.cursors
    app.frame([key(pygame.K_n, unicode="n")])
    run_until(app, lambda: cursor_seen(app, 2100, 1000, uid))
    app.shutdown()


def test_cursors_vanish_when_the_link_drops_and_stay_gone_after_the_reconnect(screen, server, tmp_path: Path):  # noqa: F811
    app, clock = clocked_app(screen, tmp_path)
    with CutProxy(server.address) as proxy:
        app.connect(*proxy.address, "alice", ROOM)
        run_until(app, lambda: app.conn.state == "online")
        carol = raw(server, "carol")  # she stays in the room all along: no "left" comes for her
        uid = carol.welcome.user
        run_until(app, lambda: uid in app.room.users)
        carol.send(Cursor(x=2000, y=1000))
        run_until(app, lambda: cursor_seen(app, 2000, 1000, uid))
        proxy.stall()
        proxy.close_stalled()  # alice's link drops
        run_until(app, lambda: app.conn.state != "online")
        app.frame([])
        assert not cursor_seen(app, 2000, 1000, uid), "a cursor frozen where it was when the link dropped"

        def back() -> bool:
            clock.advance(1)  # through the back-off to the next try
            return app.conn.state == "online" and app.room.caught_up

        run_until(app, back)
        app.frame([])
        assert uid in app.room.users and not cursor_seen(app, 2000, 1000, uid), "frozen after the reconnect"
        carol.send(Cursor(x=2100, y=1000))  # her next move shows it again
        run_until(app, lambda: cursor_seen(app, 2100, 1000, uid))
    app.shutdown()


def test_the_people_panel_marks_who_is_drawing_now(screen, server, tmp_path: Path):  # noqa: F811
    app, clock = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    bob, carol = raw(server, "bob"), raw(server, "carol")
    run_until(app, lambda: {bob.welcome.user, carol.welcome.user} <= set(app.room.users))
    app.frame([])
    assert not app.ui.user_list.marked, "nobody draws yet"
    carols_rect(carol)
    run_until(app, lambda: app.board.get(CAROLS) is not None)
    app.frame([])
    pygame.image.save(app.screen, str(tmp_path / "drawing.png"))
    assert app.ui.user_list.marked == {carol.welcome.user}, "carol is drawing, bob is not"
    wait = app.ui.next_change(clock.now())
    assert wait is not None and wait <= DRAWING_RECENT, "the loop wakes to take the mark off"
    clock.advance(DRAWING_RECENT)
    app.frame([])
    assert not app.ui.user_list.marked, "a second or two later she is not drawing any more"
    app.shutdown()


def test_a_refused_erase_or_drag_says_whose_object_it_is(screen, server, tmp_path: Path):  # noqa: F811
    carol = raw(server, "carol")  # she made the room: alice is no operator
    app, _ = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    carols_rect(carol)
    run_until(app, lambda: app.board.get(CAROLS) is not None)
    app.frame([key(pygame.K_e, unicode="e")])
    app.frame(drag([screen_of(app, x, 500) for x in range(1100, 1600, 20)]))
    assert app.ui.toast_line.text == "That is carol's: you may only erase your own"
    app.frame([key(pygame.K_d, unicode="d")])
    assert app.tool_name == "drag"
    app.frame(drag([screen_of(app, 1200, 500), screen_of(app, 1300, 600)]))
    assert app.ui.toast_line.text == "That is carol's: you may only move your own"
    assert app.board.get(CAROLS) is not None and not app.conn.pending_ops, "nothing was sent"
    app.shutdown()


def test_an_erase_the_server_refuses_says_whose_object_it_was(screen, server, tmp_path: Path):  # noqa: F811
    carol = raw(server, "carol")
    app, _ = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    carols_rect(carol)
    carol.send(Say("/allow alice"))
    run_until(app, lambda: app.room.granted_by == {carol.welcome.user})
    app.frame([key(pygame.K_e, unicode="e")])
    seen: list[Error] = []
    app.room.on_error = seen.append
    carol.recv_until(lambda m: isinstance(m, RoomState) and m.allowed)
    carol.send(Say("/deny alice"))
    carol.recv_until(lambda m: isinstance(m, RoomState) and not m.allowed)  # alice's window does not know yet
    app.frame(drag([screen_of(app, x, 500) for x in range(1100, 1600, 20)]))  # erased here, sent
    told = "That is carol's: you may only erase your own"
    run_until(app, lambda: seen)
    run_until(app, lambda: told in [e.body for e in app.ui.chat.entries])
    assert [e.code for e in seen] == ["not_allowed"]
    assert app.board.get(CAROLS) is not None, "put back"
    app.shutdown()


def test_the_erase_all_question_says_what_the_server_will_do(screen, server, tmp_path: Path):  # noqa: F811
    operator, _ = clocked_app(screen, tmp_path)
    joined(operator, server, "alice", ROOM)  # she made the room: its operator
    carol = raw(server, "carol")
    carols_rect(carol)
    run_until(operator, lambda: operator.board.get(CAROLS) is not None and operator.room.is_operator)
    operator.frame([key(pygame.K_DELETE, mod=pygame.KMOD_CTRL)])
    assert operator.ui.dialog.title == "Clear the whole board, everyone's work?"
    operator.frame([key(pygame.K_y, unicode="y")])
    assert CAROLS in carol.recv_until(Clear).removed
    run_until(operator, lambda: operator.board.get(CAROLS) is None)  # as it said: carol's work went too
    operator.shutdown()


def test_a_member_is_asked_about_their_own_work_only(screen, server, tmp_path: Path):  # noqa: F811
    carol = raw(server, "carol")  # the operator
    carols_rect(carol)
    app, _ = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    run_until(app, lambda: app.board.get(CAROLS) is not None)
    app.frame([key(pygame.K_DELETE, mod=pygame.KMOD_CTRL)])
    assert app.ui.dialog.title == "Erase everything you drew?"
    assert "others' work stays" in app.ui.dialog.message
    carol.recv_until(UserJoined)
    app.shutdown()


@pytest.mark.reliability
def test_the_erase_all_question_says_when_one_clear_cannot_take_everything(screen, tmp_path: Path):  # noqa: F811
    """4,000 objects with the longest ids are more than one clear removes (MAX_CLEAR_ID_BYTES): the
    question says how many this clear takes, and the board keeps exactly the rest."""
    count = 4000
    app, _ = clocked_app(screen, tmp_path)
    with running_server(**NO_RATE_LIMITS) as srv:
        joined(app, srv, "alice", ROOM)  # the operator: her clear takes everyone's objects
        bob = raw(srv, "bob")
        adds = [
            Add(f"o{i}", BoardObject(long_id("secret-bob", i), "line", ((1, 1), (2, 2))))
            for i in range(count)
        ]
        bob.send_bytes(b"".join(encode(m) for m in adds))
        bob.recv_until(lambda m: isinstance(m, Add) and m.oid == f"o{count - 1}")
        run_until(app, lambda: len(app.board) == count)
        app.frame([key(pygame.K_DELETE, mod=pygame.KMOD_CTRL)])
        takes = len(clearable(app.board.iter_editable(app.room.me)))
        assert fewest_per_clear() <= takes < count
        assert app.ui.dialog.title == "Clear the whole board, everyone's work?"
        assert (
            f"One clear removes {takes} of {count} objects: clear again for the rest" in app.ui.dialog.message
        )
        app.frame([key(pygame.K_y, unicode="y")])
        bob.recv_until(Clear)
        run_until(app, lambda: len(app.board) == count - takes)  # as it said
        app.shutdown()
