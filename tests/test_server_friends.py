"""Friends through a real server (issue 14): a stored list per account; mutual friends see each other's
online state and room across the server, pushed when it changes; a private line to a friend reaches
them in any room, or their mailbox; guests get a typed error; the list is bounded."""

from __future__ import annotations

from pathlib import Path

import pytest
import reliability
from support import FakeClock, RawClient, running_server
from test_abuse_handshake import wait_until
from test_server_accounts import FAST, account, join, settle

from pgboard.protocol import Chat, Error, Login, Notice, Say, Signup
from pgboard.protocol_friends import FriendInfo, Friends, FriendUpdate

NOW = 1_700_000_000
NOW_GRACE = {**FAST, "friend_offline_grace": 0.0, "wall_clock": lambda: NOW}


def sign_up(server, *nicks: str) -> None:  # type: ignore[no-untyped-def]
    for nick in nicks:
        with RawClient(server.address) as c:
            account(c, Signup(nick, "password1"))


def online(server, nick: str, room: str = "lobby") -> RawClient:  # type: ignore[no-untyped-def]
    """A connection logged in as ``nick``, joined to ``room`` and caught up, its friend list read."""
    c = RawClient(server.address)
    account(c, Login(nick, "password1"))
    join(c, nick, room, client=f"secret-{nick}-{room}")
    c.catch_up()
    c.recv_until(Friends)
    return c


def updates(c: RawClient) -> list[FriendUpdate]:
    return [m for m in settle(c) if isinstance(m, FriendUpdate)]


def befriend(a: RawClient, b: RawClient, a_nick: str, b_nick: str) -> None:
    a.send(Say(f"/friend {b_nick}"))
    settle(a)
    b.send(Say(f"/friend {a_nick}"))
    settle(b)
    settle(a)


def listing(c: RawClient) -> tuple[FriendInfo, ...]:
    c.send(Say("/friends"))
    got = c.recv_until(Friends)
    assert isinstance(got, Friends) and got.asked
    return got.friends


def test_mutual_friends_see_each_other_come_online_change_room_and_go_offline() -> None:
    with running_server(**NOW_GRACE) as server:
        sign_up(server, "alice", "bob")
        a = online(server, "alice", "attic")
        b = online(server, "bob", "cellar")
        a.send(Say("/friend bob"))
        got = settle(a)
        assert [u for u in got if isinstance(u, FriendUpdate)] == [FriendUpdate("bob", False, False, "")]
        assert any(isinstance(m, Notice) and "once they add you too" in m.text for m in got)
        assert any(isinstance(m, Notice) and "alice added you as a friend" in m.text for m in settle(b))
        b.send(Say("/friend alice"))
        assert FriendUpdate("alice", True, True, "attic") in updates(b)
        assert updates(a) == [FriendUpdate("bob", True, True, "cellar")]
        assert listing(a) == (FriendInfo("bob", True, True, "cellar"),)
        b.close()  # bob goes offline
        assert a.recv_until(FriendUpdate) == FriendUpdate("bob", True, False, "")
        b = online(server, "bob", "garden")  # back, elsewhere
        assert a.recv_until(FriendUpdate) == FriendUpdate("bob", True, True, "garden")
        b2 = online(server, "bob", "kitchen")  # a second window: the latest room is where bob is
        assert a.recv_until(FriendUpdate) == FriendUpdate("bob", True, True, "kitchen")
        b2.close()
        assert a.recv_until(FriendUpdate) == FriendUpdate("bob", True, True, "garden")
        for c in (a, b):
            c.close()


def test_a_room_change_within_the_grace_is_a_move_not_offline_then_online() -> None:
    clock = FakeClock()
    with running_server(**FAST, clock=clock, timeout=3600.0, ping_interval=1800.0) as server:
        sign_up(server, "alice", "bob")
        a, b = online(server, "alice", "attic"), online(server, "bob", "cellar")
        befriend(a, b, "alice", "bob")
        b.close()  # what the client's /join does: the old connection goes, a new one joins
        server.heartbeat()
        b = online(server, "bob", "garden")
        assert updates(a) == [FriendUpdate("bob", True, True, "garden")]
        b.close()
        wait_until(lambda: "bob" in server.friends._leaving)  # noqa: SLF001 - the close is read
        clock.advance(server.limits.friend_offline_grace - 1)
        server.heartbeat()
        assert updates(a) == []  # still within the grace
        clock.advance(2)
        server.heartbeat()
        assert updates(a) == [FriendUpdate("bob", True, False, "")]
        a.close()


def test_adding_someone_alone_tells_nothing_of_where_they_are() -> None:
    with running_server(**NOW_GRACE) as server:
        sign_up(server, "alice", "bob")
        a, b = online(server, "alice", "attic"), online(server, "bob", "cellar")
        a.send(Say("/friend bob"))
        settle(a)
        assert listing(a) == (FriendInfo("bob", False, False, ""),)
        b.close()
        b = online(server, "bob", "garden")
        assert updates(a) == []
        # and bob, who did not add alice back, hears nothing of alice either
        assert [m for m in settle(b) if isinstance(m, FriendUpdate)] == []
        for c in (a, b):
            c.close()


def test_the_list_is_kept_across_a_restart_and_unfriend_takes_it_back(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db, **NOW_GRACE) as server:
        sign_up(server, "alice", "bob", "carol")
        a = online(server, "alice")
        for nick in ("bob", "Carol"):
            a.send(Say(f"/friend {nick}"))
        settle(a)
        a.close()
    with running_server(db, **NOW_GRACE) as server:
        a = online(server, "alice")
        assert [f.nick for f in listing(a)] == ["bob", "carol"]
        a.send(Say("/unfriend BOB"))
        assert FriendUpdate("bob", gone=True) in updates(a)
        assert [f.nick for f in listing(a)] == ["carol"]
        a.send(Say("/unfriend bob"))
        assert a.recv_until(Error).code == "no_such_user"
        a.close()


def test_unfriending_a_mutual_friend_stops_them_seeing_you() -> None:
    with running_server(**NOW_GRACE) as server:
        sign_up(server, "alice", "bob")
        a, b = online(server, "alice", "attic"), online(server, "bob", "cellar")
        befriend(a, b, "alice", "bob")
        a.send(Say("/unfriend bob"))
        settle(a)
        assert updates(b) == [FriendUpdate("alice", False, False, "")]
        a.close()
        assert updates(b) == []  # alice's going is not told to bob any more
        b.close()


def test_a_private_line_reaches_a_friend_in_another_room_live_and_offline_goes_to_mail() -> None:
    with running_server(**NOW_GRACE) as server:
        sign_up(server, "alice", "bob")
        a, b = online(server, "alice", "attic"), online(server, "bob", "cellar")
        befriend(a, b, "alice", "bob")
        a.send(Say("/msg bob up in the attic?"))
        line = b.recv_until(Chat)
        assert (line.kind, line.nick, line.to, line.text, line.away) == (
            "private",
            "alice",
            "bob",
            "up in the attic?",
            False,
        )
        b.close()
        a.recv_until(FriendUpdate)
        a.send(Say("@bob see you later"))
        got = settle(a)
        assert any(isinstance(m, Chat) and m.away for m in got)
        b = online(server, "bob", "cellar")
        kept = b.recv_until(Chat)
        assert (kept.text, kept.away) == ("see you later", True)
        for c in (a, b):
            c.close()


def test_private_lines_to_a_friend_are_not_paced_as_name_lookups() -> None:
    with running_server(
        **NOW_GRACE, name_lookup_rate=0.001, name_lookup_burst=2, chat_rate=0, address_chat_rate=0
    ) as server:
        sign_up(server, "alice", "bob")
        a, b = online(server, "alice", "attic"), online(server, "bob", "cellar")
        a.send(Say("/friend bob"))  # one lookup (the burst is 2)
        settle(a)
        for i in range(10):
            a.send(Say(f"/msg bob line {i}"))
        got = settle(a)
        assert not [m for m in got if isinstance(m, Error)]
        assert len([m for m in settle(b) if isinstance(m, Chat)]) == 10
        for c in (a, b):
            c.close()


def test_guests_and_servers_without_accounts_get_a_typed_error() -> None:
    with running_server(**FAST) as server, RawClient(server.address) as g:
        join(g, "guest")
        g.catch_up()
        for line in ("/friend bob", "/unfriend bob", "/friends"):
            g.send(Say(line))
            err = g.recv_until(Error)
            assert err.code == "not_logged_in" and "log in" in err.detail
    with running_server() as server, RawClient(server.address) as g:
        join(g, "guest")
        g.catch_up()
        g.send(Say("/friends"))
        assert g.recv_until(Error).code == "no_accounts"


def test_friend_errors_are_typed() -> None:
    with running_server(**NOW_GRACE) as server:
        sign_up(server, "alice", "bob")
        a = online(server, "alice")
        for line, code in (
            ("/friend", "bad_command"),
            ("/friend alice", "bad_command"),
            ("/friend nobody", "no_such_user"),
            ("/unfriend nobody", "no_such_user"),
        ):
            a.send(Say(line))
            assert a.recv_until(Error).code == code, line
        a.send(Say("/friend bob"))
        a.send(Say("/friend bob"))
        assert any(isinstance(m, Notice) and "already your friend" in m.text for m in settle(a))
        a.close()


@pytest.mark.reliability
def test_friend_list_spam_is_bounded_and_the_added_hears_once() -> None:
    limit = 5
    with running_server(
        **NOW_GRACE, max_friends=limit, chat_rate=0, address_chat_rate=0, name_lookup_rate=0
    ) as server:
        nicks = [f"pal{i}" for i in range(limit + 2)]
        sign_up(server, "mallory", *nicks)
        m = online(server, "mallory")
        victim = online(server, "pal0", "elsewhere")
        for nick in nicks:
            m.send(Say(f"/friend {nick}"))
        got = settle(m)
        assert [e.code for e in got if isinstance(e, Error)] == ["too_many_friends"] * 2
        assert len(listing(m)) == limit
        for _ in range(100):  # add and remove the same account again and again
            m.send(Say("/unfriend pal0"))
            m.send(Say("/friend pal0"))
        settle(m)
        heard = [n for n in settle(victim) if isinstance(n, Notice) and "added you" in n.text]
        assert len(heard) == 1, "the one added hears of it once, not 100 times"
        rows = server.store._db.execute("SELECT COUNT(*) FROM friends").fetchone()[0]  # noqa: SLF001
        assert rows == limit
        for c in (m, victim):
            c.close()
    reliability.record_abuse(
        reliability.Abuse(
            "/friend past the limit, and 100 rounds of /unfriend and /friend of one account",
            "MAX_FRIENDS (100) rows an account (too_many_friends); the added hears once a server run",
            f"{rows} rows kept at a limit of {limit}; the victim got 1 notice",
        )
    )
