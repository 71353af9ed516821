"""Bans and kicks that hold, through a real server (issue 11, point 9): a banned guest cannot come back
with a fresh client secret from its address (while the other guests behind that address, who were
in the room before, still can), timed bans end by themselves on the server's wall clock, a kicked
user stays out for KICK_HOLD, and answers that tell whether a nickname is registered are paced per
address. Addresses: 127.0.0.1 is the operator's, 127.0.0.2 a school's NAT, 127.0.0.3 elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pgboard_server.limits import KICK_HOLD, NAME_LOOKUP_BURST
from support import FakeClock, RawClient, running_server

from pgboard.protocol import Error, Hello, Join, JoinError, Notice, Say, Signup, Welcome

ROOM = "class"
SCHOOL, ELSEWHERE = "127.0.0.2", "127.0.0.3"


def joined(server: Any, nick: str, client: str = "", source: str | None = None) -> RawClient:
    c = RawClient(server.address, source=source)
    assert isinstance(c.recv(), Hello)
    c.join(nick, ROOM, client=client or f"secret-{nick}")
    c.catch_up()
    return c


def try_join(server: Any, nick: str, client: str, source: str | None = None) -> JoinError | None:
    with RawClient(server.address, source=source) as c:
        c.send(Join(nick, ROOM, client=client))
        reply = c.recv_until((Welcome, JoinError))
        return reply if isinstance(reply, JoinError) else None


def notice(c: RawClient) -> str:
    msg = c.recv_until(Notice)
    assert isinstance(msg, Notice)
    return msg.text


@pytest.mark.reliability
def test_a_banned_guest_cannot_come_back_with_a_fresh_secret_but_its_classmates_can() -> None:
    with running_server() as server, joined(server, "teacher") as op:
        pupils = [joined(server, f"pupil{i}", source=SCHOOL) for i in range(3)]
        vandal = joined(server, "vandal", source=SCHOOL)
        op.send(Say("/ban vandal"))
        assert notice(op) == "teacher banned vandal"
        vandal.close()
        refusal = try_join(server, "v4ndal", "a-brand-new-secret", source=SCHOOL)  # joined on main
        assert refusal is not None and refusal.reason == "banned" and "new guests" in refusal.detail
        # the other pupils behind the same NAT, who were in the room before, come and go as before
        pupils[0].close()
        assert try_join(server, "pupil0", "secret-pupil0", source=SCHOOL) is None
        assert try_join(server, "visitor", "visitor-secret", source=ELSEWHERE) is None  # other addresses
        op.send(Say("/unban vandal"))
        assert notice(op) == "teacher lifted the ban on vandal"
        assert try_join(server, "newpupil", "another-new-secret", source=SCHOOL) is None
        for p in pupils[1:]:
            p.close()


@pytest.mark.reliability
def test_a_timed_ban_ends_by_itself_and_says_how_long(tmp_path: Path) -> None:
    wall = FakeClock(1_700_000_000.0)
    db = tmp_path / "board.sqlite3"
    with running_server(db, wall_clock=wall) as server, joined(server, "alice") as a:
        b = joined(server, "bob", source=SCHOOL)
        for bad in ("/ban bob 5x", "/ban bob 0m", "/ban bob 31d", "/ban bob ip 2h 3h"):
            a.send(Say(bad))
            assert a.recv_until(Error).code == "bad_command", bad
        a.send(Say("/ban bob 15m"))  # on main: bad_command
        assert notice(a) == "alice banned bob for 15 min"
        assert b.recv_until(Error).detail == "alice banned you from this room for 15 min"
        a.send(Say("/ban"))
        assert notice(a) == "Banned from class: bob (15 min left)"
        wall.advance(10 * 60)
        refusal = try_join(server, "bob", "secret-bob", source=SCHOOL)
        assert refusal is not None and refusal.reason == "banned"
    # the end is kept with the ban: a restart neither lifts it nor makes it forever
    with running_server(db, wall_clock=wall) as server, joined(server, "alice") as a:
        a.send(Say("/ban"))
        assert notice(a) == "Banned from class: bob (5 min left)"
        assert try_join(server, "bob", "secret-bob", source=SCHOOL) is not None
        wall.advance(5 * 60 + 1)
        assert try_join(server, "bob", "secret-bob", source=SCHOOL) is None
        a.send(Say("/ban"))
        assert notice(a) == "Nobody is banned"


@pytest.mark.reliability
def test_a_kicked_user_stays_out_for_kick_hold() -> None:
    wall = FakeClock(1_700_000_000.0)
    with running_server(wall_clock=wall) as server, joined(server, "alice") as a:
        b = joined(server, "bob", source=SCHOOL)
        a.send(Say("/kick bob calm down"))
        assert b.recv_until(Error).code == "kicked"
        refusal = try_join(server, "bob", "secret-bob", source=SCHOOL)  # on main: back at once
        assert refusal is not None and refusal.reason == "kicked" and refusal.retry == KICK_HOLD
        fresh = try_join(server, "bobby", "fresh-secret", source=SCHOOL)  # nor as a new guest
        assert fresh is not None and fresh.reason == "banned"
        assert try_join(server, "carol", "secret-carol", source=ELSEWHERE) is None
        wall.advance(KICK_HOLD)
        assert try_join(server, "bob", "secret-bob", source=SCHOOL) is None


@pytest.mark.reliability
def test_whether_a_name_is_registered_is_paced_per_address() -> None:
    # joins unpaced, so only the new pacing can stop the enumeration (the 27,000 a second)
    kw: dict[str, Any] = {
        "accounts": True,
        "scrypt_n": 16,
        "scrypt_r": 1,
        "join_rate": 0.0,
        "address_join_rate": 0.0,
        "max_room_members": 1,
        "clock": FakeClock(),  # no token comes back during the test
    }
    with running_server(**kw) as server, joined(server, "owner") as owner:
        with RawClient(server.address) as s:
            s.send(Signup("user7", "wonderland"))
            s.recv_until(lambda m: type(m).__name__ == "AccountOk")
        told = 0
        with RawClient(server.address, source=SCHOOL) as probe:
            for i in range(100):  # the room is full: a free name gets room_full, a registered one registered
                probe.send(Join(f"user{i}", ROOM, client="prober"))
                reply = probe.recv_until(JoinError)
                assert isinstance(reply, JoinError)
                told += reply.reason in ("room_full", "registered")
        assert told == NAME_LOOKUP_BURST  # on main: 100 (and 27,000 a second with joins unpaced)
        with RawClient(server.address, source=ELSEWHERE) as other:  # another address is not concerned
            other.send(Join("user7", ROOM, client="someone"))
            assert other.recv_until(JoinError).reason == "registered"
        owner.close()


def test_a_guest_coming_back_under_its_name_is_not_paced() -> None:
    """The school's NAT after the prober spent its address's look-ups: the pupils who were in the room
    come back (their reconnects ask nothing new); only new names wait."""
    kw: dict[str, Any] = {"accounts": True, "name_lookup_burst": 2, "clock": FakeClock()}
    with running_server(**kw) as server, joined(server, "teacher"):  # the room stays (and its members)
        joined(server, "pupil", source=SCHOOL).close()
        for nick in ("x1", "x2"):  # the last token, then none
            try_join(server, nick, f"secret-{nick}", source=SCHOOL)
        paced = try_join(server, "x3", "secret-x3", source=SCHOOL)
        assert paced is not None and paced.reason == "too_many_attempts" and paced.retry > 0
        assert try_join(server, "pupil", "secret-pupil", source=SCHOOL) is None


@pytest.mark.reliability
def test_nick_and_private_messages_share_the_addresses_look_ups() -> None:
    """/nick and /msg to someone not in the room also tell whether a name is registered: paced too."""
    kw: dict[str, Any] = {"accounts": True, "name_lookup_burst": 3, "clock": FakeClock()}
    with running_server(**kw) as server, joined(server, "guest", source=SCHOOL) as g:
        # the join took one of the 3 (a name new to the room), the /nick and the /msg the others
        g.send(Say("/nick guest2"))
        g.recv_until(lambda m: type(m).__name__ == "Renamed")
        g.send(Say("/msg someone hello"))
        assert g.recv_until(Error).code == "no_such_user"
        g.send(Say("/nick guest3"))  # on main: renamed (and /msg answered) without end
        err = g.recv_until(Error)
        assert err.code == "rate_limited" and err.retry > 0
        g.send(Say("/msg someone hello"))
        assert g.recv_until(Error).code == "rate_limited"
