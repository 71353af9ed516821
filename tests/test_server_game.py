"""A whole drawing game on a real server, four players and a fifth who comes late, on a clock the test
moves (the heartbeat ticks the game): only the drawer gets the word and the three choices, the others
blanks; only the drawer draws; a right guess is never shown to the others, a close one only to its
guesser, a wrong one is chat; the turn ends on time, the word is said and the board cleared for the
next drawer; a drawer who leaves ends the turn; a reconnect mid-turn gets the game back; the end
names the winners and the game is gone."""

from __future__ import annotations

from pgboard_server import game as rules
from pgboard_server.limits import NO_RATE_LIMITS
from support import FakeClock, RawClient, running_server
from test_server_rights import line, member, obj_id, settle

from pgboard.protocol import Add, Chat, Clear, Error, Notice, RoomState, Say, Undo, UserLeft
from pgboard.protocol_game import GameState

ROOM = "class"


def game_of(c: RawClient, phase: str) -> GameState:
    """The next game state ``c`` is sent in ``phase``."""
    got = c.recv_until(lambda m: isinstance(m, GameState) and m.phase == phase)
    assert isinstance(got, GameState)
    return got


def said(c: RawClient) -> list:
    return settle(c)


def test_a_game_of_three_turns_with_right_close_and_wrong_guesses_a_late_joiner_and_a_drawer_who_leaves():
    clock = FakeClock()
    with running_server(clock=clock, timeout=3600) as server:  # the clock jumps: nobody times out
        a, b, c, d = (member(server, n) for n in ("alice", "bob", "carol", "dave"))
        a.send(Say("/game start 3 60 en"))
        first = [game_of(x, "choosing") for x in (a, b, c, d)]
        assert all(s.drawer == a.welcome.user and s.round == 1 and s.rounds == 3 for s in first)
        assert len(first[0].choices) == 3 and all(not s.choices for s in first[1:]), "the words: hers only"
        a.send(Say("/game choose 2"))
        word = first[0].choices[1]
        drawing = [game_of(x, "drawing") for x in (a, b, c, d)]
        assert drawing[0].hint == word
        assert all(s.hint == rules.hint_of(word, frozenset()) for s in drawing[1:]), "blanks"
        assert all(s.left == 60 for s in drawing)

        b.send(Add("b1", line(obj_id("bob-1"))))
        assert b.recv_until(lambda m: isinstance(m, Error) and m.oid == "b1").code == "not_your_turn"
        a.send(Add("a1", line(obj_id("alice-1"))))
        b.recv_until(lambda m: isinstance(m, Add) and m.oid == "a1")

        c.send(Say("surely not this"))  # wrong: a chat line like any
        assert d.recv_until(Chat).text == "surely not this"
        close = word[:-1] + ("x" if word[-1] != "x" else "y")
        b.send(Say(close))
        assert b.recv_until(Notice).text.endswith("is close!")
        d.send(Say(word.upper()))
        assert d.recv_until(Notice).text.startswith(f"You guessed it: {word} (+")  # the word, not blanks
        for x in (a, b, c):
            assert x.recv_until(lambda m: isinstance(m, Notice) and "guessed it" in m.text).text == (
                "dave guessed it!"
            )
            assert not any(
                isinstance(m, Chat) and rules.fold(m.text) in (rules.fold(word), rules.fold(close))
                for m in x.seen
            ), "neither guess reached anyone as chat"

        with member(server, "erin") as e:  # late: the game now, and a turn of her own later
            late = game_of(e, "drawing")
            assert late.hint == rules.hint_of(word, frozenset()) and not late.choices

            clock.advance(61)  # the time is up
            server.heartbeat()
            b.recv_until(lambda m: isinstance(m, Notice) and m.text == f"The word was: {word}")
            assert game_of(b, "reveal").hint == word
            clock.advance(rules.REVEAL_SECONDS)
            server.heartbeat()
            second = game_of(b, "choosing")
            assert second.drawer == b.welcome.user and second.round == 2
            cleared = c.recv_until(Clear)
            assert obj_id("alice-1") in cleared.removed, "a clean board for the next drawer"
            assert server.rooms.get(ROOM).board.objects == {}
            scores = {s.user: s.points for s in second.scores}
            assert scores[d.welcome.user] > 0 and scores[a.welcome.user] == rules.DRAWER_POINTS
            assert scores[b.welcome.user] == 0 and e.welcome.user in scores

            b.close()  # the drawer leaves: the turn ends, no points for it
            c.recv_until(lambda m: isinstance(m, Notice) and "The drawer left" in m.text)
            until_reveal = c.recv_all_until(lambda m: isinstance(m, GameState) and m.phase == "reveal")
            assert not any(isinstance(m, Notice) and "The word was" in m.text for m in until_reveal), "once"

            c.close()  # carol's connection drops and she comes back: the game comes with her
            with member(server, "carol") as c2:
                clock.advance(rules.REVEAL_SECONDS)
                server.heartbeat()
                third = game_of(c2, "choosing")
                assert third.round == 3 and third.drawer == c2.welcome.user, "her turn, after bob's"
                c2.send(Say("/game choose 1"))
                game_of(c2, "drawing")
                clock.advance(61)
                server.heartbeat()
                clock.advance(rules.REVEAL_SECONDS)
                server.heartbeat()
                podium = a.recv_until(lambda m: isinstance(m, Notice) and m.text.startswith("Game over"))
                assert "Game over! 1. dave" in podium.text
                over = game_of(a, "over")
                assert over.scores[0].user == d.welcome.user, "dave guessed fastest: he leads"
                assert server.rooms.get(ROOM).game is None
                a.send(Add("a2", line(obj_id("alice-2"))))
                e.send(Add("e1", line(obj_id("erin-1"))))
                e.recv_until(lambda m: isinstance(m, Add) and m.oid == "e1")  # everyone draws again
        a.close()
        d.close()


def test_only_operators_start_and_bad_starts_are_typed_errors() -> None:
    with running_server() as server:
        a, b = member(server, "alice"), member(server, "bob")
        b.send(Say("/game start"))
        assert b.recv_until(Error).code == "not_operator"
        for bad in ("/game start 0", "/game start 3 5", "/game start 3 60 klingon", "/game start 99"):
            a.send(Say(bad))
            assert a.recv_until(Error).code == "bad_command", bad
        a.send(Say("/game words cat, dog"))
        assert a.recv_until(Error).code == "bad_command"
        a.send(Say("/game words " + ", ".join(f"w{i}" for i in range(rules.MAX_CUSTOM_WORDS + 1))))
        assert a.recv_until(Error).code == "bad_command"
        a.send(Say("/game words lighthouse, teapot, kite"))
        a.recv_until(lambda m: isinstance(m, Notice) and "3 words" in m.text)
        a.send(Say("/game start 1 20 custom"))
        state = game_of(a, "choosing")
        assert set(state.choices) == {"lighthouse", "teapot", "kite"}
        b.send(Say("/game choose 1"))
        assert b.recv_until(Error).code == "bad_command", "only the drawer chooses"
        a.send(Say("/game stop"))
        assert game_of(b, "").phase == ""
        a.close()
        b.close()


def test_strangers_joining_and_leaving_a_game_again_and_again_cannot_grow_what_everyone_is_sent() -> None:
    """Each join and leave sent everyone the game, with every stranger who ever came by in its
    scoreboard (up to 1,000 entries, 62 KB a member, sorted once per member under the room's lock):
    687 passers-by made a join wait 5 s. The joiner alone is told now, and the players are kept
    bounded (MAX_AWAY_KEPT scoreless absentees)."""
    with running_server(clock=FakeClock(), timeout=3600, **NO_RATE_LIMITS) as server:
        a, b = member(server, "alice"), member(server, "bob")
        a.send(Say("/game start 3 60 en"))
        game_of(b, "choosing")
        told = len([m for m in b.seen if isinstance(m, GameState)])
        passers = 3 * rules.MAX_AWAY_KEPT
        for i in range(passers):
            with member(server, f"passer{i}"):
                pass  # joins, then its connection closes
        b.recv_until(lambda m: isinstance(m, UserLeft) and m.nick == f"passer{passers - 1}")
        settle(b)  # and the game state sent after that leave
        states = [m for m in b.seen if isinstance(m, GameState)]
        assert len(states) == told, "a stranger passing by is no news to the players"
        game = server.rooms.get(ROOM).game
        assert game is not None and len(game.players) <= 2 + rules.MAX_AWAY_KEPT
        a.close()
        b.close()


def test_a_game_started_on_a_lesson_clears_it_in_the_starters_name_so_they_can_bring_it_back() -> None:
    with running_server(clock=FakeClock(), timeout=3600) as server:
        b, a = member(server, "bob"), member(server, "alice")  # bob created the room: he draws first
        b.send(Say("/op alice"))  # alice, the teacher, is an operator too
        a.recv_until(lambda m: isinstance(m, RoomState) and a.welcome.user in m.operators)
        lesson = line(obj_id("alice-lesson"))
        a.send(Add("l1", lesson))
        b.recv_until(lambda m: isinstance(m, Add) and m.oid == "l1")
        a.send(Say("/game start 3 60 en"))
        cleared = b.recv_until(Clear)
        assert cleared.author == a.welcome.user and lesson.id in cleared.removed  # hers, not the drawer's
        told = b.recv_until(lambda m: isinstance(m, Notice) and "cleared for the game" in m.text)
        assert "alice's Ctrl+Z brings it back" in told.text
        assert game_of(b, "choosing").drawer == b.welcome.user
        a.send(Say("/game stop"))
        a.recv_until(lambda m: isinstance(m, Notice) and "stopped the game" in m.text)
        a.send(Undo("u1"))
        a.recv_until(lambda m: isinstance(m, Undo) and m.oid == "u1")
        assert lesson.id in server.rooms.get(ROOM).board.objects, "the lesson is back"
        a.close()
        b.close()
