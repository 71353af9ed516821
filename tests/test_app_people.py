"""The People panel (issue 13, 8): a room larger than the panel scrolls with the wheel (it said "and 6
more" and hid them); while the server is down the panel says so and greys the list."""

from __future__ import annotations

from pathlib import Path

import pygame
from support import FakeClock, RawClient, running_server
from test_app import board_point, drag, ev, key, make_app, run_until
from test_server_accounts import join

from pgboard.app import App
from pgboard.widgets.theme import TEXT_FAINT
from pgboard.widgets.userlist import HEADER_H, OFFLINE_TEXT


def darkest_name(app: App) -> int:
    """The darkest pixel (r + g + b) of the People panel's rows, below its header."""
    app.draw()
    panel = app.ui.user_list.rect
    rows = pygame.Rect(panel.x, panel.y + HEADER_H, panel.w, panel.h - HEADER_H)
    rgb = pygame.image.tobytes(app.screen.subsurface(rows), "RGB")
    return min(rgb[i] + rgb[i + 1] + rgb[i + 2] for i in range(0, len(rgb), 3))


def drawn(app: App) -> list[str]:
    app.ui.fonts.trace = []
    app.draw()
    return app.ui.fonts.trace


def test_everyone_in_a_big_room_can_be_reached_by_wheeling_the_people_panel(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    nicks = {f"guest{i:02}" for i in range(16)}
    with running_server() as server:
        crowd = [RawClient(server.address) for _ in nicks]
        for c, nick in zip(crowd, sorted(nicks), strict=True):
            join(c, nick, room="r")
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "bob", "r")
        run_until(app, lambda: app.room is not None and len(app.room.users) == 17)
        panel = app.ui.user_list.rect
        app.frame([ev(pygame.MOUSEMOTION, pos=panel.center, rel=(0, 0), buttons=(0, 0, 0))])
        first = drawn(app)
        assert not any("more" in t for t in first)
        seen = set(first)
        for _ in range(20):  # wheel down to the end of the list
            app.frame([ev(pygame.MOUSEWHEEL, x=0, y=-1, flipped=False, precise_x=0.0, precise_y=-1.0)])
            seen |= set(drawn(app))
        assert nicks <= seen, sorted(nicks - seen)
        assert "guest15" in drawn(app) and "guest00" not in drawn(app), "the end of the list shows"
        app.frame([key(pygame.K_HOME)])  # and the keyboard, the pointer over the list
        assert "guest00" in drawn(app) and "guest15" not in drawn(app)
        app.frame([key(pygame.K_PAGEDOWN)])
        assert "guest00" not in drawn(app) and len(set(drawn(app)) & nicks) > 5, "a page further"
        app.frame([key(pygame.K_END)])
        assert "guest15" in drawn(app)
        for c in crowd:
            c.close()
    app.shutdown()


def test_while_the_server_is_down_the_people_panel_says_so(screen: pygame.Surface, tmp_path: Path) -> None:
    with running_server() as server, RawClient(server.address) as ann:
        join(ann, "ann", room="r")
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "bob", "r")
        run_until(app, lambda: app.room is not None and "ann" in drawn(app))
        assert OFFLINE_TEXT not in drawn(app)
        assert darkest_name(app) < sum(TEXT_FAINT), "names in ordinary ink while online"
        server.stop()
        run_until(app, lambda: OFFLINE_TEXT in drawn(app))  # the state change, applied in order
        shown = drawn(app)
        assert "bob" in shown and "ann" in shown, f"the list stays, marked offline: {shown}"
        assert darkest_name(app) >= sum(TEXT_FAINT) - 3, "and greyed: no name drawn darker than faint"
    app.shutdown()


def test_a_member_held_by_the_rate_limit_still_sees_who_is_here(screen: pygame.Surface, tmp_path: Path):
    """Held (the server paces my operations) is online: the People panel is not greyed "offline"."""
    with running_server(clock=FakeClock(), op_rate=1, op_burst=1) as server, RawClient(server.address) as ann:
        join(ann, "ann", room="r")
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "bob", "r")
        run_until(app, lambda: app.conn is not None and app.conn.state == "online")
        app.frame([key(pygame.K_r, unicode="r")])
        for i in range(3):  # three rectangles: the second is refused rate_limited (the clock stands still)
            app.frame(drag([board_point(app, 0.1 + 0.2 * i, 0.3), board_point(app, 0.2 + 0.2 * i, 0.5)]))
        run_until(app, lambda: app.conn.held)
        shown = drawn(app)
        assert OFFLINE_TEXT not in shown and "ann" in shown
    app.shutdown()


def test_the_teacher_is_at_the_top_of_a_students_people_list(screen: pygame.Surface, tmp_path: Path) -> None:
    with running_server() as server, RawClient(server.address) as zed, RawClient(server.address) as amy:
        join(zed, "zed", room="r")  # the room's creator: its operator
        join(amy, "amy", room="r")
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "kid", "r")
        run_until(app, lambda: app.room is not None and len(app.room.users) == 3 and app.room.operators)
        assert [nick for _, nick in app.ui.user_list.users] == ["kid", "zed", "amy"]  # me, operators, others
    app.shutdown()
