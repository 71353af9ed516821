"""The People panel marks who is idle (issue 13): no operation, cursor move or chat line for
IDLE_AFTER seconds. The mark comes without any input (the sleeping loop is told when), goes with the
member's next sign of life, and sits beside the game's score through the panel's one ``marks`` hook."""

from __future__ import annotations

from pathlib import Path

import pygame
from support import running_server
from test_app import between_frames, joined, run_until
from test_app_people import drawn
from test_app_presence import ROOM, carols_rect, clocked_app, raw

from pgboard.idle import IDLE_AFTER, IDLE_WORD, IdleWatch
from pgboard.protocol import Cursor, Say
from pgboard.session_types import PING_INTERVAL


def pass_time(app, clock, seconds: float) -> None:
    """``seconds`` on the app's clock, a ping's interval at a time with its pong read (the server's
    clock is real: one jump past the client's silence timeout would drop the link)."""
    while seconds > 0:
        step = min(seconds, PING_INTERVAL)
        clock.advance(step)
        seconds -= step
        for _ in range(3):
            app.frame([])
            between_frames(app)


def marks_of(app, uid: str) -> str:
    return app.ui.user_list.marks.get(uid, "")


def test_an_idle_member_is_marked_without_input_and_unmarked_by_their_next_move(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    with running_server() as server:
        app, clock = clocked_app(screen, tmp_path)
        joined(app, server, "alice", ROOM)
        carol, bob = raw(server, "carol"), raw(server, "bob")
        uids = {carol.welcome.user, bob.welcome.user}
        run_until(app, lambda: uids <= set(app.room.users))
        app.frame([])
        assert IDLE_WORD not in drawn(app)
        wait = app.ui.next_change(clock.now())
        assert wait is not None and 0 < wait <= IDLE_AFTER, "the sleeping loop must wake for the mark"
        pass_time(app, clock, IDLE_AFTER / 2)
        carol.send(Cursor(x=2000, y=1000))  # carol moves her pointer half way: only bob turns idle
        run_until(app, lambda: app.room.presence.last_seen(carol.welcome.user) is not None)
        pass_time(app, clock, IDLE_AFTER / 2 - 1)
        assert IDLE_WORD not in drawn(app)
        clock.advance(1)
        app.frame([])  # no event: the frame the loop runs when it wakes
        assert IDLE_WORD in drawn(app)
        assert marks_of(app, bob.welcome.user) == IDLE_WORD and not marks_of(app, carol.welcome.user)
        assert marks_of(app, app.room.me) == "", "I am never marked idle to myself"
        wait = app.ui.next_change(clock.now())
        assert wait is not None and 0 < wait <= IDLE_AFTER / 2, "carol's turn comes later"
        pass_time(app, clock, IDLE_AFTER / 2)
        assert marks_of(app, carol.welcome.user) == IDLE_WORD
        bob.send(Say("back"))  # a chat line is a sign of life
        carols_rect(carol)  # and so is an operation
        run_until(
            app,
            lambda: not marks_of(app, bob.welcome.user) and not marks_of(app, carol.welcome.user),
        )
        pygame.image.save(app.screen, str(tmp_path / "idle.png"))
        app.shutdown()


def test_the_idle_word_goes_after_the_games_mark_and_comes_off_it() -> None:
    """The game's scores and the idle word share the hook: neither wipes the other."""
    now = [0.0]
    watch = IdleWatch(lambda: now[0])
    watch.update({"a", "b"}, lambda u: None)
    now[0] = IDLE_AFTER
    assert watch.update({"a", "b"}, lambda u: IDLE_AFTER if u == "a" else None) == {"b"}
    assert watch.next_change(now[0]) == IDLE_AFTER
    assert watch.update({"a"}, lambda u: None) == set(), "b left: forgotten"
