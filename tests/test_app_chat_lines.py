"""Chat lines a person can read (issue 13, 5 and the grouping): a header with a long name wraps and is
never cut, the connect screen's error is said once and whole, and many joins or leaves close together
make one line ("user00, user01 and 9 others left") instead of a flood."""

from __future__ import annotations

import re
from pathlib import Path

import pygame
from support import RawClient, running_server
from test_app import make_app, run_until
from test_server_accounts import join, settle

from pgboard.app import App
from pgboard.protocol import Say
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets.presence import PRESENCE_WINDOW_S


def notices(app: App) -> list[str]:
    app.ui.chat.catch_up()
    return [e.body for e in app.ui.chat.entries if e.kind == "notice"]


def online(app: App, port: int, *others: str) -> None:
    app.connect("127.0.0.1", port, "bob", "r")
    run_until(app, lambda: app.conn is not None and app.conn.state == "online")
    run_until(app, lambda: app.room is not None and set(others) <= set(app.room.users.values()))


def test_a_crowd_joining_and_leaving_makes_one_line_each_way(screen: pygame.Surface, tmp_path: Path) -> None:
    clock = ManualClock(1000.0)
    app = App(
        screen, scheduler=Scheduler(now=clock.now), settings_path=tmp_path / "s.json", export_dir=tmp_path
    )
    with running_server() as server:
        online(app, server.address[1])
        crowd = [RawClient(server.address) for _ in range(11)]
        for i, c in enumerate(crowd):
            join(c, f"user{i:02}", room="r")
        run_until(app, lambda: len(app.room.users) == 12)
        for c in crowd:
            c.close()
        run_until(app, lambda: len(app.room.users) == 1)
        shown = notices(app)
        assert [t for t in shown if "joined" in t] == ["user00, user01 and 9 others joined"]
        left, *more = [t for t in shown if " left" in t]
        assert not more, shown  # one line, with the server's reason
        assert re.match(r"user\d\d, user\d\d and 9 others left", left), left  # they close in any order
        # later, and after a chat line: a line of its own again
        with RawClient(server.address) as late:
            join(late, "late", room="r")
            run_until(app, lambda: "late" in app.room.users.values())
            clock.advance(PRESENCE_WINDOW_S + 1)
            late.send(Say("hi"))
            settle(late)
        run_until(app, lambda: "late" not in app.room.users.values())
        assert notices(app)[-2] == "late joined" and notices(app)[-1].startswith("late left")
    app.shutdown()


def test_a_long_name_in_a_private_header_wraps_and_is_never_cut(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    long = "Maximilian_Longname_XIV"
    with running_server() as server, RawClient(server.address) as m:
        join(m, long, room="r")
        app = make_app(screen, tmp_path)
        online(app, server.address[1], long)
        m.send(Say(f"/msg bob {'word ' * 30}"))
        chat = app.ui.chat
        run_until(app, lambda: any(e.kind == "private" for e in chat.entries))
        app.ui.fonts.trace = []
        app.draw()
        rows = [r for r in chat.visible_rows() if r.strip()]
        header = "".join(rows).replace(" ", "")
        assert f"[private]{long}→you:" in header, rows  # the whole name is on screen
        for row in rows:  # and no row is wider than the panel (a wider one is cut at its edge)
            assert chat.fonts.width(row, chat.size, bold=True) <= chat._wrap_w, row
        app.shutdown()


def test_the_connect_screen_says_an_unreachable_server_once_and_whole(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    with running_server() as srv:
        port = srv.address[1]
    app = make_app(screen, tmp_path)
    app.connect("127.0.0.1", port, "alice", "r")
    run_until(app, lambda: app.ui.connect_visible and app.ui.connect_screen.error)
    error = app.ui.connect_screen.error
    assert error.casefold().count(f"127.0.0.1:{port}") == 1, error
    app.ui.fonts.trace = []
    app.draw()
    drawn = " ".join(app.ui.fonts.trace)
    assert " ".join(error.split()) in " ".join(drawn.split()), (error, app.ui.fonts.trace)
    app.shutdown()


def test_the_chat_panel_paints_every_pixel_of_its_rect_at_every_size(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    """Each part of the panel is filled once (no fill of the whole panel under them): nothing of what
    was on the screen before may show through, at any window height, the smallest included."""
    app = App(screen, settings_path=tmp_path / "s.json", export_dir=tmp_path)
    chat = app.ui.chat
    stale = (255, 0, 255)  # a colour the theme never uses
    for height in (chat.rect.h, 600, 300, 120):
        rect = pygame.Rect(chat.rect.x, chat.rect.y, chat.rect.w, height)
        chat.layout(rect)
        screen.fill(stale)
        chat.draw(screen)
        left = [
            (x, y)
            for x in range(rect.x, rect.right)
            for y in range(rect.y, rect.bottom)
            if screen.get_at((x, y))[:3] == stale
        ]
        assert not left, f"height {height}: {len(left)} pixels not painted, e.g. {left[:3]}"
