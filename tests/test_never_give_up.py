"""The client never gives up (issue 11, 3): a server gone for hours on the app's ManualClock, drawing
on while it is down, then a server back on the same SQLite file and port; the offline work reaches
another user. The recovery file is still written once, as a safety net; F5 or a click on the status
bar reconnects at once."""

from __future__ import annotations

import random

import pygame
import pytest
from pgboard_server.server import BoardServer
from support import RawClient, running_server
from test_app import board_point, drag, ev, joined, key, run_until

from pgboard import boardfile, net
from pgboard.app import App
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets import statusbar
from pgboard.widgets.statusbar import connection_text

DOWN_FOR = 3 * 3600.0  # seconds the server stays down: far past the old give-up (about 5 minutes)
STEP = 600.0  # seconds of the clock between two looks: one due retry runs (and is refused) per step


def make_app(screen: pygame.Surface, tmp_path, clock: ManualClock) -> App:
    return App(
        screen,
        scheduler=Scheduler(now=clock.now),
        settings_path=tmp_path / "settings.json",
        export_dir=tmp_path,
    )


@pytest.mark.reliability
def test_a_stroke_drawn_three_hours_into_an_outage_reaches_the_board_when_the_server_returns(
    screen, tmp_path
):
    clock = ManualClock()
    db = tmp_path / "board.sqlite3"
    app = make_app(screen, tmp_path, clock)
    with running_server(db_path=db) as first:
        port = first.address[1]
        joined(app, first)
        app.frame([key(pygame.K_c, unicode="c")])
        app.frame(drag([board_point(app, 0.4, 0.4), board_point(app, 0.5, 0.5)]))
        run_until(app, lambda: not app.conn.pending_ops)
    run_until(app, lambda: app.conn.state == "offline")
    app.frame([key(pygame.K_r, unicode="r")])
    app.frame(drag([board_point(app, 0.1, 0.1), board_point(app, 0.2, 0.2)]))  # just after the drop
    tries = app.conn.attempts
    down = 0.0
    while down < DOWN_FOR:  # every due retry is refused: nothing listens on the port
        clock.advance(STEP)
        down += STEP
        app.frame([])
        run_until(app, lambda: app.conn.state != "connecting")
        assert app.conn.state == "offline", f"gave up after {down / 60:.0f} min: {connection_text(app.conn)}"
    assert app.conn.attempts - tries == DOWN_FOR / STEP, "one retry per step, for three hours"
    assert connection_text(app.conn).startswith(statusbar.DOWN_TEXT) and "F5" in connection_text(app.conn)
    (kept,) = tmp_path.glob("pgboard-recovered-*.pgboard")  # the safety net, written once
    assert sorted(o.kind for o in boardfile.load(kept)) == ["circle", "rect"]
    app.frame([key(pygame.K_s, unicode="s")])
    app.frame(drag([board_point(app, 0.6, 0.6), board_point(app, 0.7, 0.7)]))  # three hours in
    assert len(app.conn.pending_ops) == 2
    second = BoardServer("127.0.0.1", port, db)  # back on the same address, with the same board file
    second.start()
    try:
        app.frame([key(pygame.K_F5)])  # "reconnect now": no waiting for the back-off
        assert app.conn.state in ("connecting", "joining"), "on its way, the clock not advanced"
        run_until(app, lambda: app.conn.state == "online" and not app.conn.pending_ops)
        with RawClient(second.address) as bob:
            bob.join("bob", room="r")
            _, objs, _ = bob.catch_up()
        assert sorted(o.obj.kind for o in objs) == ["circle", "rect", "square"]
        assert {o.obj.author for o in objs} == {app.room.me}
        assert len(list(tmp_path.glob("pgboard-recovered-*.pgboard"))) == 1
        second.stop()  # down again at once: a flapping server is one outage, not a file per flap
        run_until(app, lambda: app.conn.state == "offline" and app.conn.long_outage)
        for _ in range(3):
            app.frame([])
        assert len(list(tmp_path.glob("pgboard-recovered-*.pgboard"))) == 1
    finally:
        app.shutdown()
        second.stop()


def test_a_click_on_the_status_bar_reconnects_at_once(screen, tmp_path):
    clock = ManualClock()
    app = make_app(screen, tmp_path, clock)
    with running_server() as srv:
        joined(app, srv)
    run_until(app, lambda: app.conn.state == "offline")
    tries = app.conn.attempts
    clock.advance(0.1)  # the retry is not due yet (at least 0.4 s)
    where = app.ui.status.rect.center
    click = [ev(pygame.MOUSEBUTTONDOWN, pos=where, button=1), ev(pygame.MOUSEBUTTONUP, pos=where, button=1)]
    app.frame(click)
    run_until(app, lambda: app.conn.state == "offline" and app.conn.attempts == tries + 1)
    app.shutdown()


def test_the_back_off_stays_capped_after_thousands_of_tries() -> None:
    rng = random.Random(1)
    delays = [net.backoff_delay(n, rng) for n in (1, 10, 1025, 100_000)]
    assert delays[0] <= net.BACKOFF_INITIAL * (1 + net.BACKOFF_JITTER)
    assert all(net.BACKOFF_MAX * 0.8 <= d <= net.BACKOFF_MAX * 1.2 for d in delays[1:])


def test_f5_held_down_tries_once_a_gap_not_once_a_frame(screen, tmp_path):
    clock = ManualClock()
    app = make_app(screen, tmp_path, clock)
    with running_server() as srv:
        joined(app, srv)
    run_until(app, lambda: app.conn.state == "offline")
    tries = app.conn.attempts
    for _ in range(30):  # a second of key repeat: 30 presses, 1/30 s apart
        app.frame([key(pygame.K_F5)])
        run_until(app, lambda: app.conn.state != "connecting")
        clock.advance(1 / 30)
    assert app.conn.attempts - tries <= 2, "at most one try per RETRY_NOW_GAP (1 s) of presses"
    app.shutdown()
