"""The laser pointer (K), as members see it: held and moved in one window, its points reach the others
as cursors marked laser and draw a fading trail in the pointer's colour there (and at once here); the
trail is gone LASER_FADE_S later, bounded in points whatever a sender does, never logged, and the
sleeping frame loop is woken while it fades. Real server, real App under the dummy driver."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from support import RawClient
from test_app import drag, joined, key, run_until
from uikit import colors_in

from pgboard.app import App
from pgboard.presence import FADE_FRAME, LASER_FADE_S, LASER_POINTS, Presence
from pgboard.protocol import Cursor, Say, encode
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets import theme

ROOM = "r"


def clocked_app(screen: pygame.Surface, tmp_path: Path) -> tuple[App, ManualClock]:
    clock = ManualClock(100.0)
    app = App(
        screen, scheduler=Scheduler(now=clock.now), settings_path=tmp_path / "s.json", export_dir=tmp_path
    )
    return app, clock


def raw(server, nick: str) -> RawClient:
    c = RawClient(server.address)
    c.join(nick, room=ROOM)
    c.catch_up()
    return c


def shows(app: App, uid: str, board_point: tuple[int, int]) -> bool:
    """Whether ``uid``'s colour is on the screen around ``board_point`` (drawn as the user sees it)."""
    app.draw()
    sx, sy = app.viewport.to_screen(board_point)
    return theme.user_color(uid) in colors_in(app.screen, pygame.Rect(int(sx) - 3, int(sy) - 3, 7, 7))


def test_a_trail_is_bounded_and_fades_point_by_point() -> None:
    clock = ManualClock(0.0)
    seen = Presence(clock.now)
    for i in range(LASER_POINTS * 10):  # a sender far past any pace
        seen.shine("u", (i, i))
    ((user, points),) = seen.trails(clock.now())
    assert user == "u" and len(points) == LASER_POINTS and points[-1][0] == (LASER_POINTS * 10 - 1,) * 2
    assert seen.next_change(clock.now()) is not None, "the loop must wake while it fades"
    clock.advance(LASER_FADE_S / 2)
    seen.shine("u", (5, 5))
    clock.advance(LASER_FADE_S / 2)
    ((_, points),) = seen.trails(clock.now())
    assert [p for p, _ in points] == [(5, 5)], "the older points faded, the newest is still there"
    clock.advance(LASER_FADE_S)
    assert seen.trails(clock.now()) == []
    assert seen.next_change(clock.now()) > FADE_FRAME, "only the resting cursor's idle timer is left"


def test_the_laser_reaches_the_others_as_a_fading_trail_and_is_never_logged(screen, server, tmp_path):
    app, clock = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    bob = raw(server, "bob")
    run_until(app, lambda: bob.welcome.user in app.room.users)
    app.frame([key(pygame.K_k, unicode="k")])
    assert app.tool_name == "laser"
    start = app.viewport.to_screen((1000, 900))
    path = [(int(start[0]) + 12 * i, int(start[1])) for i in range(8)]
    events = drag(path)
    for event in events:  # one frame each, the clock moving as a hand would (the app paces its sends)
        app.frame([event])
        clock.advance(0.05)
    got = [bob.recv_until(lambda m: isinstance(m, Cursor) and m.laser) for _ in range(3)]
    assert all(c.user == app.room.me for c in got) and len({(c.x, c.y) for c in got}) == 3
    assert not app.board.objects and not app.conn.pending_ops, "nothing drawn, no operation"
    mine = app.viewport.to_board(path[-1])
    assert shows(app, app.room.me, mine), "my own trail shows here at once"

    for x in range(1500, 1700, 20):  # bob points: alice sees his trail in his colour
        bob.send(Cursor(x=x, y=600, laser=True))
    uid = bob.welcome.user

    def whole() -> bool:  # every point of his trail came (the last one at 1680)
        return any(p == (1680, 600) for _, points in app.room.presence.trails(clock.now()) for p, _ in points)

    run_until(app, whole)
    assert shows(app, uid, (1600, 600))  # along the trail (his cursor is at its head)
    clock.advance(LASER_FADE_S + FADE_FRAME)
    app.frame([])
    assert not shows(app, uid, (1600, 600)) and app.room.presence.trails(clock.now()) == []

    with RawClient(server.address) as late:  # a late joiner: a laser is never part of the board
        late.join("carol", room=ROOM)
        _, frames, _ = late.catch_up()
        assert not any(isinstance(m, Cursor) for m in frames)
    assert server.rooms.get(ROOM).board.objects == {}


@pytest.mark.reliability
def test_a_laser_flood_costs_every_member_a_bounded_trail(screen, server, tmp_path):
    app, clock = clocked_app(screen, tmp_path)
    joined(app, server, "alice", ROOM)
    bob = raw(server, "bob")
    run_until(app, lambda: bob.welcome.user in app.room.users)
    flood = b"".join(encode(Cursor(x=i % 3200, y=700, laser=True)) for i in range(5000))
    bob.send_bytes(flood)  # 5,000 laser points at once: the server relays its cursor burst at most
    bob.send(Say("done"))
    run_until(app, lambda: any(e.body == "done" for e in app.ui.chat.entries))
    ((_, points),) = app.room.presence.trails(clock.now())
    assert len(points) <= LASER_POINTS
