"""The drawing game in two real windows' Apps on a real server, as players see it: the drawer is
offered three words (keys 1-3 pick, the palette waits), then sees the word while the guesser sees
only blanks; a right guess typed in chat says "You guessed it" and puts the points in People; the
timer wakes the sleeping loop; a game that does not come back after a reconnect is said to be over."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pygame
from pgboard_server.server import BoardServer
from support import running_server
from test_app import WAIT, between_frames, board_point, drag, joined, key, make_app
from test_app_rooms import notices, say

from pgboard.app import App


def drawn(app: App) -> list[str]:
    app.ui.fonts.trace = []
    app.draw()
    return app.ui.fonts.trace


def run_both(apps: list[App], condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the windows never showed it"
        for app in apps:
            app.frame([])
            between_frames(app)


def test_the_drawer_sees_the_word_the_guesser_blanks_and_a_right_guess_scores(screen, server, tmp_path: Path):
    alice = joined(make_app(screen, tmp_path / "a"), server, "alice")
    bob = joined(make_app(screen, tmp_path / "b"), server, "bob")
    run_both([alice, bob], lambda: len(alice.room.users) == 2 == len(bob.room.users))
    say(alice, "/game start 1 60 en")
    run_both([alice, bob], lambda: alice.game.choosing and bob.game.state.phase == "choosing")
    choices = alice.game.state.choices
    labels = [f"{i}  {c}" for i, c in enumerate(choices, 1)]  # the three buttons
    assert "Choose a word to draw:" in drawn(alice) and set(labels) <= set(drawn(alice))
    assert not set(labels) & set(drawn(bob)), "the words are the drawer's only"
    assert "The drawer is choosing a word..." in drawn(bob)
    colour = alice.ctx.color
    alice.frame([key(pygame.K_2, unicode="2")])  # picks the second word, not the palette's blue
    assert alice.ctx.color == colour
    word = choices[1]
    run_both([alice, bob], lambda: bob.game.state.phase == "drawing" and alice.game.state.phase == "drawing")
    assert f"Draw: {word}" in drawn(alice)
    guess_line = next(t for t in drawn(bob) if t.startswith("Guess:"))
    assert word not in guess_line and "_" in guess_line
    assert alice.ui.next_change(alice.scheduler.now()) is not None, "the timer wakes the loop"
    say(bob, word)
    run_both([alice, bob], lambda: any("You guessed it" in n for n in notices(bob)))
    run_both([alice, bob], lambda: bob.room.me in alice.game.state.guessed)
    assert any(word in n for n in notices(bob)) and not any(word in n for n in notices(alice)[:-1])
    assert alice.ui.user_list.marks[bob.room.me].split()[0] != "0", "his points in People"
    assert "got it" in alice.ui.user_list.marks[bob.room.me]
    over = dataclasses.replace(alice.game.state, phase="over")  # the last state a game sends
    alice.game.received(alice, over)
    assert alice.ui.user_list.marks[bob.room.me].isdigit(), "the final points alone, no 'got it' left"
    alice.shutdown()
    bob.shutdown()


def test_a_game_lost_with_a_restarted_server_is_said_to_be_over(screen, tmp_path: Path):
    db = tmp_path / "b.sqlite3"
    with running_server(db_path=db) as server:
        alice = joined(make_app(screen, tmp_path / "a"), server, "alice")
        bob = joined(make_app(screen, tmp_path / "b"), server, "bob")
        run_both([alice, bob], lambda: len(alice.room.users) == 2)
        say(alice, "/game start 2 60 en")
        run_both([alice, bob], lambda: bob.game.running)
        port = server.address[1]
    again = BoardServer("127.0.0.1", port, str(db))  # back on the same address, no game in memory
    again.start()
    try:
        run_both([bob], lambda: not bob.game.running and any("game ended" in n for n in notices(bob)))
    finally:
        again.stop()
    alice.shutdown()
    bob.shutdown()


def test_a_late_joiner_sees_the_games_banner_not_the_replay_offer_over_it(screen, server, tmp_path: Path):
    alice = joined(make_app(screen, tmp_path / "a"), server, "alice")
    bob = joined(make_app(screen, tmp_path / "b"), server, "bob")
    run_both([alice, bob], lambda: len(alice.room.users) == 2)
    alice.frame([key(pygame.K_r, unicode="r")])
    alice.frame(drag([board_point(alice, 0.2, 0.2), board_point(alice, 0.4, 0.4)]))  # the lesson
    run_both([alice], lambda: not alice.conn.pending_ops)
    say(alice, "/game start 2 60 en")  # the lesson cleared: a board drawn in 2 operations
    run_both([alice, bob], lambda: alice.game.choosing)
    carol = joined(make_app(screen, tmp_path / "c"), server, "carol")
    run_both([alice, bob, carol], lambda: carol.game.running and carol.room.caught_up)
    for _ in range(3):
        carol.frame([])
    assert not carol.timeline.offer.visible, "the game's banner takes the board's top"
    for app in (alice, bob, carol):
        app.shutdown()
