"""Nicknames as identity, through a real server (issue 11, point 8): a guest keeps its name while it
is in a room (a sign-up cannot take it), and look-alikes of a registered or present name (TR39
skeletons: Cyrillic letters, fullwidth forms, invisible joiners) are refused with a typed error."""

from __future__ import annotations

from typing import Any

import pytest
from pgboard_server import confusables
from support import RawClient, running_server

from pgboard.protocol import (
    AccountError,
    AccountOk,
    Error,
    Hello,
    Join,
    JoinError,
    Say,
    Signup,
    UserLeft,
    Welcome,
)

FAST: dict[str, Any] = {"accounts": True, "scrypt_n": 16, "scrypt_r": 1}
LOOK_ALIKES = (
    "\u0430lice",  # Cyrillic а
    "\uff41\uff4c\uff49\uff43\uff45",  # fullwidth ａｌｉｃｅ
    "al\u034fice",  # a combining grapheme joiner: invisible, and a mark names.check_nick lets through
    "a\u217cice",  # ⅼ SMALL ROMAN NUMERAL FIFTY
    "\u0251lice",  # ɑ LATIN SMALL LETTER ALPHA
    "aIice",  # capital I for l
)


def joined(server: Any, nick: str, client: str, room: str = "", source: str | None = None) -> RawClient:
    c = RawClient(server.address, source=source)
    assert isinstance(c.recv(), Hello)
    c.join(nick, room, client=client)
    c.catch_up()
    return c


def join_reply(server: Any, nick: str, client: str, room: str = "") -> Welcome | JoinError:
    with RawClient(server.address) as c:
        c.send(Join(nick=nick, room=room, client=client))
        reply = c.recv_until((Welcome, JoinError))
        assert isinstance(reply, Welcome | JoinError)
        return reply


def signup(server: Any, nick: str, password: str = "wonderland") -> AccountOk | AccountError:
    with RawClient(server.address) as c:
        c.send(Signup(nick, password))
        reply = c.recv_until((AccountOk, AccountError))
        assert isinstance(reply, AccountOk | AccountError)
        return reply


def test_skeletons_are_tr39s() -> None:
    table = confusables.table()
    assert len(table) > 6000  # the whole of Unicode's confusables.txt, not a hand-made table
    assert confusables.skeleton("\u0430") == "a"
    assert confusables.skeleton("rn") == confusables.skeleton("m") == "rn"
    for fake in LOOK_ALIKES:
        assert confusables.confusable("alice", fake), fake
    assert confusables.confusable("Iris", "lris")
    assert confusables.confusable("Alice", "ALICE")  # the fold is a key too
    for a, b in (("alice", "alicia"), ("Zoë", "Zoe"), ("Алиса", "Alice"), ("李雷", "李蕾"), ("bob", "b0b2")):
        assert not confusables.confusable(a, b), (a, b)


@pytest.mark.reliability
def test_a_sign_up_cannot_take_the_name_of_a_guest_in_a_room() -> None:
    with running_server(**FAST) as server, joined(server, "bob", "bob-secret") as bob:
        guest = joined(server, "alice", "alice-laptop")
        refused = signup(server, "alice")  # on main: created, and the guest's reconnect got "registered"
        assert isinstance(refused, AccountError) and refused.reason == "in_use"
        refused = signup(server, "\u0430lice")  # nor a look-alike of it
        assert isinstance(refused, AccountError) and refused.reason in ("in_use", "confusable")
        # the guest's reconnect (its old connection still a member) keeps the name
        again = join_reply(server, "alice", "alice-laptop")
        assert isinstance(again, Welcome) and again.nick == "alice"
        guest.close()  # (replaced by the reconnect, which join_reply closed after its welcome)
        bob.recv_until(lambda m: isinstance(m, UserLeft) and m.nick == "alice" and m.reason != "reconnected")
        # once the guest has left every room the name is free to register
        assert isinstance(signup(server, "alice"), AccountOk)


@pytest.mark.reliability
@pytest.mark.parametrize("fake", LOOK_ALIKES)
def test_look_alikes_of_a_registered_name_are_refused(fake: str) -> None:
    with running_server(**FAST) as server:
        assert isinstance(signup(server, "alice"), AccountOk)
        refused = join_reply(server, fake, "impostor")  # on main: joined next to the real alice
        # (fullwidth and ⅼ fold to "alice" under NFKC already: they are the registered name itself)
        assert isinstance(refused, JoinError) and refused.reason in ("confusable", "registered"), refused
        again = signup(server, fake)
        assert isinstance(again, AccountError) and again.reason in ("confusable", "registered")
        exact = join_reply(server, "ALICE", "impostor")
        assert isinstance(exact, JoinError) and exact.reason == "registered"
        with joined(server, "mallory", "impostor") as m:
            m.send(Say(f"/nick {fake}"))
            err = m.recv_until(Error)
            assert err.code == "nick_taken" and "registered" in err.detail


@pytest.mark.reliability
@pytest.mark.parametrize("accounts", [False, True])
def test_look_alikes_of_a_member_are_refused(accounts: bool) -> None:
    kw = FAST if accounts else {}
    with running_server(**kw) as server, joined(server, "alice", "real-alice") as alice:
        refused = join_reply(server, "\u0430lice", "impostor")
        assert isinstance(refused, JoinError) and refused.reason == "confusable"
        assert "alice" in refused.detail
        assert isinstance(join_reply(server, "\u0430lice", "impostor", room="elsewhere"), Welcome)
        with joined(server, "mallory", "impostor") as m:
            m.send(Say("/nick aIice"))  # I for l
            err = m.recv_until(Error)
            assert err.code == "nick_taken" and "looks like" in err.detail
        alice.send(Say("/nick Alice"))  # one's own name in another case is no look-alike of anyone
        assert alice.recv_until(lambda msg: type(msg).__name__ == "Renamed").nick == "Alice"


@pytest.mark.reliability
def test_a_nickname_that_shows_nothing_is_refused() -> None:
    blank = "\u3164"  # HANGUL FILLER: a letter (Lo) that draws as a blank; joined on main
    with running_server(**FAST) as server:
        refused = join_reply(server, blank, "ghost")
        assert isinstance(refused, JoinError) and refused.reason == "invalid"
        again = signup(server, blank + blank)
        assert isinstance(again, AccountError) and again.reason == "invalid"
        with joined(server, "casper", "ghost") as c:
            c.send(Say(f"/nick {blank}"))
            assert c.recv_until(Error).code == "bad_nick"
        assert isinstance(join_reply(server, "\uffa0x", "ghost2"), Welcome)  # it shows an x: a name
