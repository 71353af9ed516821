"""Following keeps going when my window changes (issue 13): a resize or Tab (the panels shown or
hidden) changes where my board is drawn, not whom I follow; their view is fitted again into the new
rect. Only my own pan or zoom stops it. Two real Apps on a real server; bob's window is the display
(resized for real), alice draws offscreen."""

from __future__ import annotations

from pathlib import Path

import pygame
from test_app import joined, key
from test_app_rooms import say
from test_follow import centre, close, run_both, zoom_in_at

from pgboard.app import App


def visible_area(app: App) -> int:
    x0, y0, x1, y1 = app.viewport.visible_box()
    return (x1 - x0) * (y1 - y0)


def test_following_goes_on_through_tab_and_a_resize_and_refits(screen, server, tmp_path: Path) -> None:
    alice = joined(
        App(pygame.Surface((1280, 800)), settings_path=tmp_path / "a.json", export_dir=tmp_path),
        server,
        "alice",
    )
    bob = joined(App(screen, settings_path=tmp_path / "b.json", export_dir=tmp_path), server, "bob")
    run_both([alice, bob], lambda: len(alice.room.users) == 2 and len(bob.room.users) == 2)
    say(bob, "/follow alice")
    zoom_in_at(alice, (2400, 500))
    run_both([alice, bob], lambda: close(centre(bob), centre(alice)) and bob.viewport.zoom > 1.5)
    shown = alice.viewport.visible_box()

    def shows_hers() -> bool:  # her whole view fits in mine, centred where hers is
        x0, y0, x1, y1 = bob.viewport.visible_box()
        return (
            close(centre(bob), centre(alice))
            and x0 <= shown[0] + 2
            and x1 >= shown[2] - 2
            and y0 <= shown[1] + 2
            and y1 >= shown[3] - 2
        )

    bob.frame([key(pygame.K_TAB)])  # the panels hide: a wider board
    bob.frame([])
    assert not bob.ui.panels_visible and bob.viewport.rect == bob.ui.board_rect
    assert bob.follow.target, "Tab is not a move of mine"
    assert shows_hers()
    bob.frame([key(pygame.K_TAB)])
    bob.frame([])
    assert bob.follow.target and shows_hers()
    small = pygame.display.set_mode((640, 480))  # the window made smaller by its edge
    bob.frame([pygame.event.Event(pygame.VIDEORESIZE, size=small.get_size(), w=640, h=480)])
    bob.frame([])
    assert bob.viewport.rect == bob.ui.board_rect and bob.viewport.rect.w < 640
    assert bob.follow.target and "Following alice" in bob.ui.status.extra, "a resize is not a move of mine"
    assert shows_hers(), "her view fitted again into the smaller window"
    alice.viewport.pan(300, 0)  # and it goes on following
    run_both([alice, bob], lambda: close(centre(bob), centre(alice)))
    bob.viewport.pan(-200, 80)  # only my own move stops it
    bob.frame([])
    assert not bob.follow.target
    alice.shutdown()
    bob.shutdown()
