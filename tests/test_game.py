"""The drawing game's rules as a pure state machine (server/game.py) on a hand-moved clock: turns in
join order, the three words, guesses folded (case, accents, spaces), "close" one edit away, points by
speed, letters revealed over time, the drawer leaving, late joiners, the end."""

from __future__ import annotations

import random

from pgboard_server import game as rules
from pgboard_server.game import Game, Guess, Phase, fold, hint_of, one_edit_apart

WORDS = ("ice cream", "château", "apple", "dog", "lighthouse")


def new_game(players=("a", "b", "c", "d"), rounds=3, seconds=60) -> Game:
    g = Game(WORDS, {p: p.upper() for p in players}, rounds, seconds, rng=random.Random(7))
    g.start(0.0)
    return g


def test_guesses_are_folded_and_one_edit_is_close() -> None:
    assert fold("Ice-Cream") == fold("icecream") == fold(" ICE CREAM ")
    assert fold("Château") == fold("chateau")
    assert one_edit_apart("chateau", "chateaux") and one_edit_apart("apple", "aple")
    assert (
        one_edit_apart("dog", "dig") and not one_edit_apart("dog", "cat") and not one_edit_apart("dog", "dog")
    )
    assert hint_of("ice cream", frozenset({0})) == "i__ _____"


def test_a_turn_offers_three_words_only_the_drawer_draws_and_points_go_by_speed() -> None:
    g = new_game()
    assert g.phase is Phase.CHOOSING and g.drawer == "a" and len(g.turn.choices) == 3
    assert not g.may_draw("a"), "not while choosing"
    assert not g.choose("b", 0, 1.0), "only the drawer chooses"
    assert g.choose("a", 1, 1.0)
    word = g.turn.word
    assert g.may_draw("a") and not g.may_draw("b")
    assert g.guess("a", word, 2.0) is Guess.NOT_A_GUESS, "the drawer does not guess"
    assert g.guess("b", "zzz", 2.0) is Guess.WRONG
    assert g.guess("b", word.upper(), 2.0) is Guess.RIGHT
    assert g.guess("b", word, 3.0) is Guess.NOT_A_GUESS, "once is enough"
    assert g.guess("c", word, 40.0) is Guess.RIGHT
    assert g.scores["b"] > g.scores["c"] > 0, "sooner is worth more"
    assert g.scores["a"] == 2 * rules.DRAWER_POINTS
    assert g.guess("d", word, 50.0) is Guess.RIGHT
    assert g.phase is Phase.REVEAL, "everyone has it: the turn ends"
    assert g.hint() == word
    assert g.tick(50.0 + rules.REVEAL_SECONDS)
    assert g.phase is Phase.CHOOSING and g.drawer == "b" and g.round == 2


def test_time_runs_out_letters_show_on_the_way_and_a_slow_drawer_gets_the_first_word() -> None:
    g = new_game(seconds=60)
    assert g.tick(rules.CHOOSE_SECONDS)  # the drawer never chose
    assert g.phase is Phase.DRAWING and g.turn.word == g.turn.choices[0]
    start = g.turn.started
    hidden = g.hint().count("_")
    g.tick(start + 20)
    assert g.hint().count("_") == hidden, "nothing shown in the first half"
    g.tick(start + 45)
    g.tick(start + 59)
    letters = sum(ch not in " -" for ch in g.turn.word)
    shown = hidden - g.hint().count("_")
    assert 0 < shown <= letters // 3 or letters < 3
    assert g.tick(start + 60) and g.phase is Phase.REVEAL
    assert g.scores == {p: 0 for p in "abcd"}


def test_the_drawer_leaving_ends_the_turn_with_no_points_and_the_game_goes_on() -> None:
    g = new_game()
    g.choose("a", 0, 1.0)
    g.guess("b", g.turn.word, 2.0)
    g.leave("a", 3.0)
    assert g.phase is Phase.REVEAL and g.scores["b"] == 0, "the turn counts for nobody"
    g.tick(3.0 + rules.REVEAL_SECONDS)
    assert g.drawer == "b"


def test_a_late_joiner_draws_in_turn_and_the_game_ends_after_its_rounds() -> None:
    g = new_game(players=("a", "b"), rounds=3)
    g.join("e", "E")
    now = 0.0
    drawers = []
    while g.phase is not Phase.OVER:
        drawers.append(g.drawer)
        now += rules.CHOOSE_SECONDS
        g.tick(now)
        now += 60
        g.tick(now)
        now += rules.REVEAL_SECONDS
        g.tick(now)
    assert drawers == ["a", "b", "e"]


def test_fewer_than_two_players_ends_the_game() -> None:
    g = new_game(players=("a", "b"))
    g.leave("b", 1.0)
    assert g.phase is Phase.OVER


def test_joining_and_leaving_again_and_again_keeps_the_game_bounded_and_a_comeback_its_place() -> None:
    g = new_game(players=("a", "b", "c"))
    g.leave("c", 1.0)  # a dropped link: c comes back to the same place
    for i in range(5 * rules.MAX_AWAY_KEPT):  # strangers passing through, never scoring
        g.join(f"x{i}", f"X{i}")
        g.leave(f"x{i}", 1.0)
    assert len(g.players) <= 3 + rules.MAX_AWAY_KEPT and len(g.scores) <= 3 + rules.MAX_AWAY_KEPT
    assert "c" not in g.players, "the longest gone scoreless absentee was forgotten first"
    g.join("c", "C")  # back after all: a late joiner, at the end
    assert list(g.players)[-1] == "c"
    g.leave("b", 2.0)
    g.join("b", "B")  # a comeback within the bound keeps the place
    assert list(g.players)[:2] == ["a", "b"] and g.drawer == "a"
