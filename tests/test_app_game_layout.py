"""The drawing game's banner in small and large windows (issue 13): at 640x480 the word buttons, the
blanks and "(N letters)" never overlap "Round x of y" (texts shorten, the buttons take a second row);
the board is drawn under the banner, not behind it, so nothing on it is out of reach; a click on the
banner starts no stroke. Two real Apps (offscreen windows of each size) on a real server."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from test_app import joined, key
from test_app_game import run_both
from test_app_rooms import say

from pgboard import game_view
from pgboard.app import App
from pgboard.game_view import BANNER_H, TITLE_SIZE
from pgboard.widgets import theme

SIZES = [(640, 480), (1280, 800)]


def window_app(size: tuple[int, int], tmp_path: Path, name: str) -> App:
    return App(pygame.Surface(size), settings_path=tmp_path / f"{name}.json", export_dir=tmp_path)


def overlaps(app: App) -> list[str]:
    """What would be drawn over something else in the banner now: each text's and button's box."""
    b = app.game.banner(app)
    fonts, right = app.ui.fonts, b.rect.right - theme.PAD * 2
    boxes = [
        (
            "text",
            pygame.Rect(
                b.rect.x + theme.PAD * 2, b.rect.y, fonts.width(b.text, TITLE_SIZE, bold=True), BANNER_H
            ),
        )
    ]
    if b.info:
        w = fonts.width(b.info, theme.FONT_SMALL)
        boxes.append(("info", pygame.Rect(right - w, b.rect.y, w, BANNER_H)))
    boxes += [(label, rect) for rect, label in b.buttons]
    bad = [
        f"{n1} over {n2}"
        for i, (n1, r1) in enumerate(boxes)
        for n2, r2 in boxes[i + 1 :]
        if r1.colliderect(r2)
    ]
    bad += [f"{n} out of the banner" for n, r in boxes if not b.rect.contains(r)]
    return bad


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_banner_fits_the_window_and_the_board_starts_under_it(
    screen, server, tmp_path: Path, size
) -> None:
    alice = joined(window_app(size, tmp_path, "a"), server, "alice")
    bob = joined(window_app(size, tmp_path, "b"), server, "bob")
    run_both([alice, bob], lambda: len(alice.room.users) == 2 == len(bob.room.users))
    board_top = alice.ui.board_rect.top
    assert alice.viewport.rect.top == board_top, "no game: the whole board area"
    say(alice, "/game start 3 60 en")
    run_both([alice, bob], lambda: alice.game.choosing and bob.game.state.phase == "choosing")
    alice.frame([])
    alice.draw()
    pygame.image.save(alice.screen, str(tmp_path / f"choosing-{size[0]}.png"))
    assert not overlaps(alice), overlaps(alice)
    banner = alice.game.banner(alice).rect
    assert [label for _, label in alice.game.banner(alice).buttons] == [
        f"{i}  {w}" for i, w in enumerate(alice.game.state.choices, 1)
    ]
    assert (
        alice.viewport.rect.top == banner.bottom and alice.viewport.rect.bottom == alice.ui.board_rect.bottom
    )
    before = len(alice.board.objects)
    alice.frame([key(pygame.K_r, unicode="r")])
    pos = (banner.centerx, banner.bottom - 3)  # on the banner, off every button
    alice.frame([pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1)])
    alice.frame(
        [
            pygame.event.Event(
                pygame.MOUSEMOTION, pos=(pos[0] + 80, pos[1] + 80), rel=(80, 80), buttons=(1, 0, 0)
            )
        ]
    )
    alice.frame([pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(pos[0] + 80, pos[1] + 80), button=1)])
    assert len(alice.board.objects) == before and alice.game.choosing, "the banner is not the board"
    alice.frame([key(pygame.K_1, unicode="1")])
    run_both([alice, bob], lambda: bob.game.state.phase == "drawing")
    bob.frame([])
    bob.draw()
    pygame.image.save(bob.screen, str(tmp_path / f"guessing-{size[0]}.png"))
    assert "_" in bob.game.banner(bob).text and not overlaps(bob), overlaps(bob)
    assert bob.viewport.rect.top == bob.game.banner(bob).rect.bottom
    bob.do_action("zoom_fit")
    bob.frame([])
    top = bob.viewport.to_screen((0, 0))[1]
    assert top >= bob.game.banner(bob).rect.bottom, "the board's top edge shows under the banner"
    say(alice, "/game stop")
    run_both([alice, bob], lambda: not bob.game.visible(bob.scheduler.now()))
    bob.frame([])
    assert bob.viewport.rect == bob.ui.board_rect, "the banner gone, the board takes its place back"
    alice.shutdown()
    bob.shutdown()


def test_a_long_word_in_a_narrow_banner_is_cut_in_its_button_not_drawn_over_the_rest(
    server, screen, tmp_path: Path
) -> None:
    alice = joined(window_app((480, 400), tmp_path, "a"), server, "alice")
    alice.game.me = alice.room.me
    from pgboard.protocol_game import GameState

    alice.game.state = GameState(
        "choosing", 1, 3, alice.room.me, "", ("abcdefghijklmnopqrstuvwxyz" * 1, "word", "x" * 30), 60
    )
    alice.game.deadline = alice.scheduler.now() + 60
    assert game_view.board_area(alice).top == alice.ui.board_rect.top + 2 * BANNER_H, (
        "two rows: the buttons below"
    )
    assert not overlaps(alice), overlaps(alice)
    alice.shutdown()
