"""The history timeline (issue 14) as a user drives it: a real server, a real App (dummy driver), the
room's log drawn by another client. H opens the replay in place of the live board; the scrubber's
middle shows the half-drawn board; the live board keeps updating underneath; Esc returns to now;
Ctrl+S exports an animated GIF; a reconnect that brought operations offers to watch them."""

from __future__ import annotations

import pygame
import pytest
from PIL import Image
from support import RawClient, running_server
from test_app import WAIT, board_point, drag, ev, joined, key, make_app, run_until

from pgboard import timelapse
from pgboard.app import App
from pgboard.protocol import Add, BoardObject
from pgboard.scheduler import ManualClock, Scheduler

LINES = 40
RED = (224, 49, 49)  # the palette's red, #e03131


def draw_lines(c: RawClient, first: int, last: int) -> None:
    """Vertical red lines, each at its own x (line i at x = 60 * i), each echoed before the next."""
    for i in range(first, last + 1):
        obj = BoardObject(c.obj_id(f"l{i}"), "line", ((60 * i, 300), (60 * i, 1500)), "#e03131", 16)
        c.send(Add(f"o{i}", obj))
        c.recv_until(lambda m, i=i: isinstance(m, Add) and m.oid == f"o{i}")


def pixel_at_line(app: App, i: int) -> tuple[int, int, int]:
    x, y = app.viewport.to_screen((60 * i, 900))
    return tuple(app.screen.get_at((round(x), round(y))))[:3]  # type: ignore[return-value]


def manual_app(screen: pygame.Surface, clock: ManualClock, tmp_path) -> App:
    return App(
        screen, scheduler=Scheduler(now=clock.now), settings_path=tmp_path / "s.json", export_dir=tmp_path
    )


def open_timeline(app: App) -> None:
    app.frame([key(pygame.K_h, unicode="h")])
    assert app.timeline.active
    run_until(app, lambda: app.timeline.timeline.fetch.complete)  # type: ignore[union-attr]


def test_the_scrubbers_middle_shows_the_half_drawn_board_while_the_live_board_goes_on(
    screen,
    server,
    tmp_path,
):
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    draw_lines(bob, 1, LINES)
    app = joined(make_app(screen, tmp_path), server)
    run_until(app, lambda: len(app.board) == LINES)
    open_timeline(app)
    t = app.timeline.timeline
    assert t is not None and t.total == LINES
    bar = app.timeline.bar
    app.frame([])  # lays the bar out
    middle = (bar.track.x + bar.track.w // 2, bar.track.centery)
    app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=middle, button=1)])
    app.frame([ev(pygame.MOUSEBUTTONUP, pos=middle, button=1)])
    run_until(app, lambda: not t.busy and not app.timeline.canvas.behind)  # type: ignore[union-attr]
    app.frame([])
    assert set(t.board.objects) == {bob.obj_id(f"l{i}") for i in range(1, LINES // 2 + 1)}
    assert pixel_at_line(app, 5) == RED and pixel_at_line(app, 30) != RED  # on screen: half the lines
    assert f"op {LINES // 2} of {LINES}" in bar.label
    # the live board goes on underneath: bob draws line 45, the live board has it, the replay does not
    draw_lines(bob, 45, 45)
    run_until(app, lambda: bob.obj_id("l45") in app.board.objects)
    app.frame([])
    assert app.timeline.active and bob.obj_id("l45") not in t.board.objects and pixel_at_line(app, 45) != RED
    app.frame([key(pygame.K_ESCAPE)])  # back to now
    assert not app.timeline.active
    app.frame([])
    assert pixel_at_line(app, 45) == RED and pixel_at_line(app, 30) == RED
    bob.close()


def test_playing_draws_the_board_stroke_by_stroke_and_space_pauses(
    screen,
    tmp_path,
):
    clock = ManualClock()
    app = manual_app(screen, clock, tmp_path)
    with running_server() as srv:
        bob = RawClient(srv.address)
        bob.join("bob", room="r")
        draw_lines(bob, 1, 10)
        joined(app, srv)
        run_until(app, lambda: len(app.board) == 10)
        open_timeline(app)
        t = app.timeline.timeline
        assert t is not None and t.position == 0 and len(t.board) == 0  # from the start: the empty board
        app.frame([key(pygame.K_SPACE)])
        assert t.playing
        clock.advance(0.1)  # 3 operations at 1x (30 a second)
        app.frame([])
        assert t.position == 3 and len(t.board) == 3
        app.frame([key(pygame.K_SPACE)])
        clock.advance(1.0)
        app.frame([])
        assert not t.playing and t.position == 3  # paused
        app.frame([key(pygame.K_h, unicode="h")])  # H leaves too
        assert not app.timeline.active and len(app.board) == 10
        bob.close()
        app.shutdown()


def test_ctrl_s_in_the_timeline_exports_an_animated_gif_with_bounded_frames(
    screen,
    server,
    tmp_path,
):
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    draw_lines(bob, 1, LINES)
    app = joined(make_app(screen, tmp_path), server)
    open_timeline(app)
    app.frame([key(pygame.K_s, mod=pygame.KMOD_CTRL)])
    export = app.timeline.exporting
    assert export is not None and app.timeline.bar.export_progress is not None
    frames = 0

    def done() -> bool:
        nonlocal frames
        frames += 1
        return app.timeline.exporting is None

    run_until(app, done, timeout=WAIT * 2)
    assert frames > 2  # the export took steps over frames, the window kept running
    (path,) = tmp_path.glob("*-timelapse.gif")
    with Image.open(path) as im:
        assert im.is_animated and 1 < im.n_frames <= timelapse.MAX_EXPORT_FRAMES
        assert max(im.size) <= timelapse.MAX_EXPORT_SIDE
        assert im.n_frames == LINES + 1  # one a operation and the base: fewer than the bound
        im.seek(im.n_frames - 1)
        last = im.convert("RGB")
    x = round(60 * 30 * last.width / 3200)
    assert last.getpixel((x, last.height // 2))[0] > 180  # the last frame shows line 30 (red)
    bob.close()


def test_an_export_of_a_long_log_is_sampled_to_the_bound(tmp_path):
    pygame.init()
    ops = [
        Add(f"o{i}", BoardObject(f"a:s{i}", "line", ((i % 3200, 0), (i % 3200, 1800))), seq=i, author="a")
        for i in range(1, 2001)
    ]
    export = timelapse.TimelapseExport(tmp_path / "t.webp", [], 0, ops, max_frames=30, max_side=320)
    export.run()
    with Image.open(tmp_path / "t.webp") as im:
        assert im.n_frames == 30 and max(im.size) == 320
    pygame.quit()


@pytest.mark.reliability
def test_after_a_reconnect_the_missed_operations_are_offered_and_played_from_before_the_gap(
    screen,
    tmp_path,
):
    clock = ManualClock()
    app = manual_app(screen, clock, tmp_path)
    with running_server() as srv:
        bob = RawClient(srv.address)
        bob.join("bob", room="r")
        draw_lines(bob, 1, 5)
        joined(app, srv)
        run_until(app, lambda: len(app.board) == 5)
        run_until(app, lambda: app.timeline.offer.visible)
        assert "how this board was drawn (5 ops)" in app.timeline.offer.text  # a late join's offer
        app.timeline.offer.hide()
        app.frame([key(pygame.K_r, unicode="r")])
        for i in range(3):  # my own three rectangles, confirmed before the drop: nothing I missed
            app.frame(drag([board_point(app, 0.1 + 0.2 * i, 0.6), board_point(app, 0.2 + 0.2 * i, 0.8)]))
        run_until(app, lambda: not app.conn.pending_ops)
        room = srv.rooms.all()[0]
        room.members[app.room.me].close("test: the link drops")  # type: ignore[union-attr]
        run_until(app, lambda: app.conn.state == "offline")
        draw_lines(bob, 6, 12)  # 7 operations this client misses
        app.conn.retry_now()
        run_until(app, lambda: app.conn.state == "online" and len(app.board) == 15)
        offer = app.timeline.offer
        assert offer.visible and "(7 ops)" in offer.text, offer.text  # bob's, not my 3 as well
        app.frame([])
        app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=offer.rect.center, button=1)])  # accept
        t = app.timeline.timeline
        assert t is not None and t.playing and len(t.board) == 8  # from the board before the gap
        run_until(app, lambda: t.fetch.complete)
        assert t.total == 7
        clock.advance(60)
        app.frame([])
        assert t.at_end and set(t.board.objects) == set(app.board.objects)
        bob.close()
        app.shutdown()


def test_the_timelapse_benchmark_runs_and_reports_both_formats():
    from bench import timelapse_bench

    text = timelapse_bench.run(30)
    assert "| GIF |" in text and "| WebP |" in text and "frames/s" in text


def test_pgboard_export_timelapse_writes_the_rooms_history_without_a_window(tmp_path):
    import os
    import subprocess
    import sys

    with running_server() as srv:
        bob = RawClient(srv.address)
        bob.join("bob", room="r")
        draw_lines(bob, 1, 6)
        out = tmp_path / "history.webp"
        env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
        cmd = [
            sys.executable,
            "-m",
            "pgboard.cli",
            "--export-timelapse",
            str(out),
            "--room",
            "r",
            "--nick",
            "cam",
        ]
        cmd += ["--connect", f"127.0.0.1:{srv.address[1]}"]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        assert "7 frames of 6 operations" in done.stdout
        with Image.open(out) as im:
            assert im.n_frames == 7
        bob.close()


@pytest.mark.reliability
def test_the_live_board_under_an_open_timeline_keeps_no_growing_list_of_changes(
    screen,
    server,
    tmp_path,
):
    """Hours of others drawing while someone watches the replay: the live canvas, not drawn, paints
    as it goes and lists nothing; Esc shows all of it."""
    from pgboard.boardview import REPAINT_ALL_REGIONS

    bob = RawClient(server.address)
    bob.join("bob", room="r")
    draw_lines(bob, 1, 2)
    app = joined(make_app(screen, tmp_path), server)
    open_timeline(app)
    most = 0
    for i in range(3, 203):  # lines drawn live, one by one, while the timeline is open
        obj = BoardObject(bob.obj_id(f"l{i}"), "line", ((15 * i, 300), (15 * i, 1500)), "#e03131", 16)
        bob.send(Add(f"o{i}", obj))
        if i % 10 == 0:
            run_until(app, lambda i=i: bob.obj_id(f"l{i}") in app.board.objects)
            most = max(most, len(app.canvas._pending), len(app.canvas._view.damage))
    run_until(app, lambda: len(app.board) == 202)
    assert most <= REPAINT_ALL_REGIONS + 1, f"{most} changes listed while the live board was hidden"
    app.frame([key(pygame.K_ESCAPE)])
    app.frame([])
    x, y = app.viewport.to_screen((15 * 200, 900))
    assert tuple(app.screen.get_at((round(x), round(y))))[:3] == RED
    bob.close()
