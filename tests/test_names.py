"""Nickname and room rules as a user meets them at the join screen: any script's letters, clear reasons
when a name is refused, names that differ only in case are the same, and a free suggestion."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pgboard.names import (
    DEFAULT_ROOM,
    MAX_NICK,
    MAX_ROOM,
    NameError_,
    check_nick,
    check_room,
    fold,
    suggest,
)
from pgboard.protocol import JOIN_ERRORS


@pytest.mark.parametrize(
    "nick",
    [
        "alice",
        "李雷",
        "Zoë",
        "Алиса",
        "アリス",
        "김민준",
        "محمد",
        "Δημήτρης",
        "bob_2",
        "a.b-c",
        "7up",
        "ñandú",
    ],
)
def test_letters_and_digits_of_any_script_are_accepted(nick: str) -> None:
    assert check_nick(nick) == nick


def test_spaces_around_are_trimmed_and_the_name_normalised() -> None:
    assert check_nick("  alice \t") == "alice"
    assert check_nick("Zoe\u0308") == "Zoë"  # e + combining diaeresis is shown as one letter


@pytest.mark.parametrize(
    ("nick", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a" * (MAX_NICK + 1), "too_long"),
        ("李" * (MAX_NICK + 1), "too_long"),
        ("alice bob", "invalid"),
        ("_alice", "invalid"),
        ("-x", "invalid"),
        ("alice!", "invalid"),
        ("😀", "invalid"),
        ("a\u200bb", "invalid"),  # a zero-width space would make two names look alike
        ("a\u202eb", "invalid"),  # a right-to-left override would scramble the user list
        ("\u0301a", "invalid"),  # starts with a combining mark
        ("Z" + "\u0301" * 6 + "algo", "invalid"),  # stacked accents draw over the lines around them
        ("a\nb", "invalid"),
    ],
)
def test_refused_names_say_why(nick: str, reason: str) -> None:
    with pytest.raises(NameError_) as info:
        check_nick(nick)
    assert info.value.reason == reason
    assert info.value.reason in JOIN_ERRORS  # the reason is what a join_error frame carries
    assert info.value.detail


def test_exactly_max_nick_characters_is_fine() -> None:
    assert check_nick("a" * MAX_NICK) == "a" * MAX_NICK
    assert check_nick("e\u0301" * MAX_NICK) == "é" * MAX_NICK  # counted after composing


def test_everyday_accents_are_not_limited() -> None:
    assert check_nick("Nguyễn") == "Nguyễn"
    assert check_nick("क्षत्रिय") == "क्षत्रिय"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alice", "ALICE"),
        ("alice", "aLiCe"),
        ("Straße", "STRASSE"),
        ("Ａｌｉｃｅ", "alice"),
        ("ÉMILE", "émile"),
    ],
)
def test_names_that_differ_only_in_case_or_width_fold_alike(a: str, b: str) -> None:
    assert fold(check_nick(a)) == fold(check_nick(b))


def test_different_names_fold_differently() -> None:
    assert fold("alice") != fold("alicia")
    assert fold("李雷") != fold("李雪")


def test_suggest_counts_up_from_two() -> None:
    taken = {fold("alice")}
    assert suggest("alice", taken) == "alice2"
    taken.add(fold("alice2"))
    assert suggest("alice", taken) == "alice3"
    assert suggest("alice2", taken) == "alice3"  # not alice22
    assert suggest("ALICE", {fold("alice"), fold("Alice2")}) == "ALICE3"
    assert suggest("李雷", {fold("李雷")}) == "李雷2"


def test_suggest_respects_max_nick() -> None:
    long = "a" * MAX_NICK
    taken = {fold(long)} | {fold("a" * (MAX_NICK - 1) + str(n)) for n in range(2, 10)}
    got = suggest(long, taken)
    assert got == "a" * (MAX_NICK - 2) + "10"
    assert check_nick(got) == got


@given(
    st.text(st.characters(categories=("Lu", "Ll", "Lo", "Nd")), min_size=1, max_size=MAX_NICK),
    st.integers(0, 30),
)
def test_a_suggestion_is_always_a_valid_free_name(nick: str, used: int) -> None:
    nick = check_nick(nick)
    taken = {fold(nick)}
    for _ in range(used):
        taken.add(fold(suggest(nick, taken)))
    got = suggest(nick, taken)
    assert fold(got) not in taken
    assert check_nick(got) == got and len(got) <= MAX_NICK


def test_rooms() -> None:
    assert check_room("") == DEFAULT_ROOM
    assert check_room("  ") == DEFAULT_ROOM
    assert check_room(" 教室 ") == "教室"
    assert check_room("r" * MAX_ROOM) == "r" * MAX_ROOM
    with pytest.raises(NameError_) as info:
        check_room("r" * (MAX_ROOM + 1))
    assert info.value.reason == "too_long"
    with pytest.raises(NameError_) as info:
        check_room("my room")
    assert info.value.reason == "invalid"


@given(st.text(max_size=40))
def test_any_input_is_accepted_or_refused_with_a_join_reason(name: str) -> None:
    try:
        shown = check_nick(name)
    except NameError_ as exc:
        assert exc.reason in ("empty", "too_long", "invalid")
        return
    assert 1 <= len(shown) <= MAX_NICK
    assert check_nick(shown) == shown  # checking is idempotent: the shown name is accepted as is
