"""Fair commands through a real server (issue 15): /roll and /flip are decided by the server and shown to
the whole room naming who rolled; /vote kick passes with a majority of those present within the time,
never against an operator, one at a time, with a cooldown per starter; hostile guests stay bounded."""

from __future__ import annotations

import re

import pytest
import reliability
from pgboard_server.dice import parse
from pgboard_server.limits import ROLL_MAX_DICE, ROLL_MAX_SIDES, VOTE_TIMEOUT
from support import FakeClock, RawClient, running_server
from test_server_moderation import fatal_error, try_join
from test_server_rights import ROOM, clients, member, settle

from pgboard.protocol import Chat, Error, Notice, Say, UserLeft

SLOW_HEART = {"timeout": 3600.0, "ping_interval": 1800.0}  # the fake clock jumps: nobody times out
ROLLED = re.compile(r"(\w+) rolled (\d+)d(\d+): (.+)")


def notices(c: RawClient) -> list[str]:
    return [m.text for m in settle(c) if isinstance(m, Notice)]


def command_error(c: RawClient, line: str) -> Error:
    c.send(Say(line))
    err = c.recv_until(Error)
    assert isinstance(err, Error)
    return err


def dice_of(text: str) -> tuple[str, int, int, list[int]]:
    found = ROLLED.fullmatch(text)
    assert found, text
    nick, n, m, rest = found.group(1), int(found.group(2)), int(found.group(3)), found.group(4)
    values = [int(v) for v in rest.split(" = ")[0].split(" + ")]
    if len(values) > 1:
        assert int(rest.split(" = ")[1]) == sum(values)
    return nick, n, m, values


# -- /roll and /flip


def test_a_roll_is_made_by_the_server_and_every_member_sees_who_rolled_what() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        a.send(Say("/roll 3d6"))
        shown = [notices(x) for x in (a, b, c)]
        assert shown[0] == shown[1] == shown[2] and len(shown[0]) == 1, shown
        nick, n, m, values = dice_of(shown[0][0])
        assert (nick, n, m, len(values)) == ("alice", 3, 6, 3)
        assert all(1 <= v <= 6 for v in values)
        b.send(Say("/roll"))  # 1d6 by default
        shown_b = notices(b)  # the roller's answer first: then the notice is out to everyone
        assert shown_b == notices(c) == notices(a)
        nick, n, m, values = dice_of(shown_b[0])
        assert (nick, n, m) == ("bob", 1, 6) and 1 <= values[0] <= 6
        c.send(Say("/roll d20"))
        settle(c)
        nick, n, m, values = dice_of(notices(a)[0])
        assert (nick, n, m) == ("carol", 1, 20) and 1 <= values[0] <= 20


def test_many_rolls_stay_in_range_and_reach_every_face() -> None:
    with (
        running_server(chat_rate=0, address_chat_rate=0) as server,
        clients(server, "alice", "bob") as (a, b),
    ):
        for _ in range(60):
            a.send(Say("/roll 10d4"))
        settle(a)
        seen = [v for t in notices(b) for v in dice_of(t)[3]]
        assert len(seen) == 600 and set(seen) == {1, 2, 3, 4}  # 600 dice: every face shows


def test_a_flip_is_heads_or_tails_for_the_whole_room() -> None:
    with (
        running_server(chat_rate=0, address_chat_rate=0) as server,
        clients(server, "alice", "bob") as (a, b),
    ):
        for _ in range(40):
            a.send(Say("/flip"))
        settle(a)
        got = notices(b)
        assert len(got) == 40 and {t.removeprefix("alice flipped a coin: ") for t in got} == {
            "heads",
            "tails",
        }


@pytest.mark.parametrize(
    "spec",
    ["0d6", "2d1", "2d0", "abc", "2d", "-1d6", "1.5d6", f"{ROLL_MAX_DICE + 1}d6", f"1d{ROLL_MAX_SIDES + 1}"],
)
def test_a_bad_roll_gets_a_clear_error_and_nobody_sees_a_thing(spec: str) -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        err = command_error(a, f"/roll {spec}")
        assert err.code == "bad_command" and "/roll" in err.detail
        assert notices(b) == []


def test_a_roll_cannot_be_faked_by_saying_it() -> None:
    """The real roll is the server's notice; what a member types is a chat line of theirs, never one."""
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        a.send(Say("/roll"))
        a.send(Say("/me rolled 1d6: 6"))
        a.send(Say("alice rolled 1d6: 6"))
        settle(a)
        got = settle(b)
        real = [m.text for m in got if isinstance(m, Notice)]
        assert len(real) == 1 and real[0].startswith("alice rolled 1d6: ")
        assert [m.kind for m in got if isinstance(m, Chat)] == ["me", "say"]


@pytest.mark.reliability
def test_a_huge_roll_is_refused_in_constant_work() -> None:
    with running_server() as server, clients(server, "mallory", "bob") as (m, b):
        for spec in ("1000000d1000000", "9" * 9 + "d" + "9" * 9, "9" * 1900 + "d6"):
            err = command_error(m, f"/roll {spec}")
            assert err.code == "bad_command"
            assert f"1 to {ROLL_MAX_DICE} dice" in err.detail or "not dice" in err.detail
        assert notices(b) == []
        assert parse(f"{ROLL_MAX_DICE}d{ROLL_MAX_SIDES}", ROLL_MAX_DICE, ROLL_MAX_SIDES) == (100, 1000)
        m.send(Say(f"/roll {ROLL_MAX_DICE}d{ROLL_MAX_SIDES}"))  # the biggest valid roll: one notice
        settle(m)
        (line,) = notices(b)
        assert len(dice_of(line)[3]) == ROLL_MAX_DICE and len(line) < 6000
    reliability.record_abuse(
        reliability.Abuse(
            "/roll 1000000d1000000 (and a 1,900-digit count)",
            "ROLL_MAX_DICE (100) dice of ROLL_MAX_SIDES (1,000) sides: bad_command before any die is rolled",
            f"refused; the biggest valid roll is one notice of {len(line)} characters",
        )
    )


# -- /vote kick


def test_a_vote_kick_passes_with_a_majority_and_kicks_like_kick() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol", "dave") as (a, b, c, d):
        b.send(Say("/vote kick dave"))  # alice is the operator; bob starts it, and votes yes
        settle(b)
        assert any(
            "bob started a vote to kick dave" in t and "1 for, 0 against, 3 of 4 needed" in t
            for t in notices(c)
        )
        c.send(Say("/vote yes"))  # bob + carol = 2 of 4: not a majority yet (3 needed)
        settle(c)
        assert any("2 for, 0 against, 3 of 4 needed" in t for t in notices(a))
        a.send(Say("/vote yes"))
        assert fatal_error(d).code == "kicked"
        left = c.recv_until(UserLeft)
        assert left.nick == "dave" and "vote" in left.reason
        assert any("The room voted to kick dave (3 for" in t for t in notices(b))
        refused = try_join(server, "dave", "secret-dave")
        assert refused is not None and refused.reason == "kicked"  # out for KICK_HOLD, as /kick does


def test_a_vote_kick_fails_when_time_is_up() -> None:
    clock = FakeClock()
    with (
        running_server(clock=clock, **SLOW_HEART) as server,
        clients(server, "alice", "bob", "carol") as (a, b, c),
    ):
        b.send(Say("/vote kick carol"))
        settle(b)
        clock.advance(VOTE_TIMEOUT - 1)
        server.heartbeat()
        assert not any("failed" in t for t in notices(a))  # not yet
        clock.advance(2)
        server.heartbeat()
        assert any("The vote to kick carol failed: time is up" in t for t in notices(a))
        a.send(Say("/vote yes"))  # over: nothing to vote on, and carol stays
        assert a.recv_until(Error).code == "no_vote"
        c.send(Say("/list"))
        assert "carol" in notices(c)[-1]


def test_a_vote_fails_as_soon_as_it_cannot_pass() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        b.send(Say("/vote kick carol"))  # 2 of 3 needed
        settle(b)
        a.send(Say("/vote no"))
        settle(a)
        c.send(Say("/vote no"))
        settle(c)
        assert any("failed: too many against (1 for, 2 against" in t for t in notices(b))


def test_a_vote_never_kicks_an_operator() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        err = command_error(b, "/vote kick alice")  # alice made the room: its operator
        assert err.code == "not_allowed" and "operator" in err.detail
        assert notices(c) == []


def test_one_vote_at_a_time_and_a_cooldown_per_starter() -> None:
    clock = FakeClock()
    with (
        running_server(clock=clock, **SLOW_HEART) as server,
        clients(server, "alice", "bob", "carol", "dave") as (a, b, c, d),
    ):
        b.send(Say("/vote kick dave"))
        settle(b)
        assert command_error(c, "/vote kick bob").code == "vote_running"
        clock.advance(VOTE_TIMEOUT + 1)
        server.heartbeat()
        settle(b)
        err = command_error(b, "/vote kick carol")  # bob's cooldown
        assert err.code == "vote_cooldown" and err.retry > 0
        # another member of the same address (all of them are 127.0.0.1 here) is held too
        assert command_error(d, "/vote kick carol").code == "vote_cooldown"
        clock.advance(server.limits.vote_cooldown)
        server.heartbeat()
        b.send(Say("/vote kick carol"))
        settle(b)
        assert any("bob started a vote to kick carol" in t for t in notices(a))


def test_only_those_present_at_the_start_vote_and_each_once() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        b.send(Say("/vote kick carol"))
        settle(b)
        late = member(server, "erin", ROOM)
        try:
            assert command_error(late, "/vote yes").code == "not_allowed"
        finally:
            late.close()
        b.send(Say("/vote yes"))
        assert any("You voted already" in t for t in notices(b))


def test_vote_usage_errors_are_typed() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        assert command_error(b, "/vote maybe").code == "bad_command"
        assert command_error(b, "/vote kick nobody").code == "no_such_user"
        assert command_error(b, "/vote kick bob").code == "bad_command"  # yourself
        assert command_error(b, "/vote yes").code == "no_vote"
        b.send(Say("/vote"))
        assert notices(b) == ["No vote is under way"]


@pytest.mark.reliability
def test_vote_spam_costs_one_notice_each_to_the_spammer_and_nothing_to_the_room() -> None:
    with (
        running_server(chat_rate=0, address_chat_rate=0) as server,
        clients(server, "alice", "mallory", "bob") as (
            a,
            m,
            b,
        ),
    ):
        m.send(Say("/vote kick bob"))
        settle(m)
        settle(a)
        for _ in range(200):
            m.send(Say("/vote yes"))
            m.send(Say("/vote kick alice"))
            m.send(Say("/vote kick bob"))
        got = settle(m)
        errors = [e.code for e in got if isinstance(e, Error)]
        assert errors.count("not_allowed") == 200 and errors.count("vote_running") == 200
        assert notices(a) == [], "the room heard nothing of the spam"
    reliability.record_abuse(
        reliability.Abuse(
            "600 /vote yes and /vote kick lines during a vote",
            "one vote at a time per room (vote_running), one vote each, never an operator",
            "the room saw nothing; the spammer got one answer per line (paced by CHAT_RATE)",
        )
    )


def test_leaving_during_the_vote_does_not_escape_it() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol", "dave") as (a, b, c, d):
        b.send(Say("/vote kick dave"))
        settle(b)
        d.close()
        a.recv_until(UserLeft)
        c.send(Say("/vote yes"))
        settle(c)
        a.send(Say("/vote yes"))
        assert any("The room voted to kick dave" in t for t in notices(a))
        refused = try_join(server, "dave", "secret-dave")
        assert refused is not None and refused.reason == "kicked"


def test_an_operator_made_during_the_vote_is_not_kicked() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        b.send(Say("/vote kick carol"))
        settle(b)
        a.send(Say("/op carol"))  # the operator makes carol one while the room votes
        a.send(Say("/vote yes"))
        got = notices(a)
        assert any("failed: carol is an operator now" in t for t in got), got
        c.send(Say("/list"))
        assert "carol" in notices(c)[-1]  # still here
