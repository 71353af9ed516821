"""Following a view, as two people at two windows see it (two real Apps on a real server): /follow
makes bob's view track alice's zoom and pan until bob moves his own; an operator's /present makes
everyone follow (a late joiner too), Esc frees one, the presenter leaving frees all; views are
relayed, never logged, paced, and their fields are checked."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from support import RawClient
from test_app import between_frames, joined, key, make_app
from test_app_rooms import notices, say

from pgboard.app import App
from pgboard.protocol import Error, Notice, Say
from pgboard.protocol_presence import Follow, View

WAIT_FRAMES = 400  # frames two windows may take to see each other's views (each waits for input)


def centre(app: App) -> tuple[float, float]:
    x0, y0, x1, y1 = app.viewport.visible_box()
    return ((x0 + x1) / 2, (y0 + y1) / 2)


def close(a: tuple[float, float], b: tuple[float, float], tolerance: float = 40) -> bool:
    return abs(a[0] - b[0]) <= tolerance and abs(a[1] - b[1]) <= tolerance


def run_both(apps: list[App], condition) -> None:
    for _ in range(WAIT_FRAMES):
        if condition():
            return
        for app in apps:
            app.frame([])
            between_frames(app)
    raise AssertionError("the windows never showed it")


def zoom_in_at(app: App, board_point: tuple[int, int], times: int = 3) -> None:
    pos = app.viewport.to_screen(board_point)
    for _ in range(times):
        app.viewport.zoom_at(pos, 1.25)  # as Ctrl+wheel does, about the pointer
    app.frame([])


@pytest.fixture
def two(screen, server, tmp_path: Path):
    alice = joined(make_app(screen, tmp_path / "a"), server, "alice")
    bob = joined(make_app(screen, tmp_path / "b"), server, "bob")
    run_both([alice, bob], lambda: len(alice.room.users) == 2 and len(bob.room.users) == 2)
    yield alice, bob
    alice.shutdown()
    bob.shutdown()


def test_follow_tracks_the_others_zoom_and_pan_until_i_move_myself(two) -> None:
    alice, bob = two
    say(bob, "/follow alice")
    zoom_in_at(alice, (2400, 500))
    run_both([alice, bob], lambda: close(centre(bob), centre(alice)) and bob.viewport.zoom > 1.5)
    assert "Following alice" in bob.ui.status.extra
    alice.viewport.pan(300, 0)  # she moves on: he goes with her
    run_both([alice, bob], lambda: close(centre(bob), centre(alice)))
    bob.viewport.pan(-200, 80)  # he looks elsewhere himself: following stops
    bob.frame([])
    assert not bob.follow.target and "Following" not in bob.ui.status.extra
    mine = centre(bob)
    zoom_in_at(alice, (600, 1400))
    run_both([alice, bob], lambda: alice.follow._sent == alice.viewport.visible_box())
    for _ in range(20):
        bob.frame([])
        between_frames(bob)
    assert centre(bob) == mine, "no longer following: his view stays his"


def test_present_makes_everyone_follow_esc_frees_one_and_the_presenter_leaving_frees_all(
    two, screen, server, tmp_path: Path
) -> None:
    alice, bob = two
    say(alice, "/present")  # alice joined first: she is the room's operator
    run_both([alice, bob], lambda: bob.follow.target == alice.room.me)
    zoom_in_at(alice, (1000, 1000))
    run_both([alice, bob], lambda: close(centre(bob), centre(alice)))
    carol = joined(make_app(screen, tmp_path / "c"), server, "carol")  # late: she follows at once
    run_both([alice, bob, carol], lambda: carol.follow.target == alice.room.me)
    run_both([alice, bob, carol], lambda: close(centre(carol), centre(alice)))
    bob.frame([key(pygame.K_ESCAPE)])  # bob looks around on his own
    assert not bob.follow.target and carol.follow.target
    alice.shutdown()
    run_both([carol], lambda: not carol.follow.target)
    assert any("presentation ended" in n for n in notices(carol))
    carol.shutdown()


def test_present_is_for_operators_and_views_are_checked_and_never_logged(server) -> None:
    with RawClient(server.address) as op, RawClient(server.address) as guest:
        op.join("olga", room="r")
        op.catch_up()
        guest.join("gus", room="r")
        guest.catch_up()
        guest.send(Say("/present"))
        refused = guest.recv_until(Error)
        assert refused.code == "not_operator"
        guest.send(View(10, 20, 300, 200))
        seen = op.recv_until(View)
        assert seen == View(10, 20, 300, 200, guest.welcome.user), "stamped with its sender"
        guest.send_bytes(b'{"t":"view","x":0,"y":0,"w":0,"h":5}\xc3\x98')  # an empty view
        bad = guest.recv_until(Error)
        assert "w" in bad.detail
        op.send(Say("/present"))
        assert guest.recv_until(Follow) == Follow(op.welcome.user, "olga")
        assert guest.recv_until(Notice).text.startswith("olga is presenting: your view follows")
        told = op.recv_until(Notice).text  # the presenter is not told to follow themselves
        assert told.startswith("You are presenting") and not any(isinstance(m, Follow) for m in op.seen)
    assert server.rooms.get("r").board.seq == 0, "nothing of it was logged"
