"""Slow work paced per address (issue 11, 7): room-password checks through join (one scrypt each) and
sign-ups (an account kept forever each), on the server's fake clock. A nickname in use is refused
before any password is checked. Work is counted in scrypt calls, never timed."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from pgboard_server import limits as L
from support import FakeClock, RawClient, running_server
from test_server_accounts import FAST, account, join

from pgboard.protocol import AccountError, AccountOk, Error, Join, JoinError, Login, Signup, Welcome


@pytest.fixture
def scrypts(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many scrypt hashes the server computed (the real hashlib.scrypt, counted)."""
    calls = [0]
    real = hashlib.scrypt

    def counted(*args: Any, **kw: Any) -> bytes:
        calls[0] += 1
        return real(*args, **kw)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    yield calls


def test_joins_to_a_password_room_are_paced_per_address_and_a_taken_nick_costs_no_hash(scrypts) -> None:
    clock = FakeClock()
    # joins themselves unpaced (JOIN_RATE): the password checks' own pace is what is tried
    rooms = {"scrypt_n": 16, "scrypt_r": 1, "join_rate": 0.0, "address_join_rate": 0.0}
    with running_server(**rooms, clock=clock) as server, RawClient(server.address) as alice:
        assert isinstance(join(alice, "alice", "vault", password="right one"), Welcome)
        alice.catch_up()
        before = scrypts[0]
        with RawClient(server.address, source="127.0.0.2") as c:  # pipelined joins under a taken name
            for _ in range(40):
                c.send(Join("alice", "vault", "right one"))
            answers = [c.recv_until(JoinError).reason for _ in range(40)]
        assert answers == ["taken"] * 40
        assert scrypts[0] == before, "a taken nickname is refused before the password is hashed"
        got = []
        for i in range(30):  # a fresh connection each time, the right password: only the pace holds it
            with RawClient(server.address, source="127.0.0.2") as c:
                got.append(join(c, f"guest{i}", "vault", password="right one"))
        admitted = sum(isinstance(g, Welcome) for g in got)
        refused = [g for g in got if isinstance(g, JoinError)]
        assert admitted == L.PASSWORD_CHECK_BURST and len(refused) == 30 - admitted
        assert all(r.reason == "too_many_attempts" and r.retry == 1 for r in refused)
        assert scrypts[0] - before == L.PASSWORD_CHECK_BURST
        with RawClient(server.address, source="127.0.0.3") as bob:  # another address: at once
            assert isinstance(join(bob, "bob", "vault", password="right one"), Welcome)
        clock.advance(1 / L.PASSWORD_CHECK_RATE)
        with RawClient(server.address, source="127.0.0.2") as c:
            assert isinstance(join(c, "late", "vault", password="right one"), Welcome)


def test_sign_ups_are_paced_per_address() -> None:
    clock = FakeClock()
    with running_server(**FAST, clock=clock) as server:
        answers = []
        with RawClient(server.address, source="127.0.0.2") as c:
            for i in range(30):
                c.send(Signup(f"bot{i}", "password1"))
                reply = c.recv_until((AccountOk, Error, AccountError))
                answers.append(reply)
                clock.advance(0.5)  # under the chat pace; 15 s in all: a quarter of a sign-up's refill
        made = [a for a in answers if isinstance(a, AccountOk)]
        assert len(made) == L.SIGNUP_BURST
        refused = [a for a in answers if not isinstance(a, AccountOk)]
        assert all(a.reason == "too_many_attempts" and 0 < a.retry <= 60 for a in refused)
        with RawClient(server.address, source="127.0.0.3") as d:  # another address is not held up
            assert isinstance(account(d, Signup("carol", "password1")), AccountOk)
        clock.advance(60)
        with RawClient(server.address, source="127.0.0.2") as c:
            assert isinstance(account(c, Signup("bot-late", "password1")), AccountOk)


def test_logins_are_paced_per_address_even_with_the_right_password(scrypts) -> None:
    clock = FakeClock()
    with running_server(**FAST, clock=clock) as server:
        with RawClient(server.address) as c:
            account(c, Signup("alice", "wonderland"))
        before = scrypts[0]
        with RawClient(server.address, source="127.0.0.2") as c:  # pipelined, within the chat burst
            for _ in range(20):
                c.send(Login("alice", "wonderland"))
            answers = [c.recv_until((AccountOk, AccountError)) for _ in range(20)]
        assert sum(isinstance(a, AccountOk) for a in answers) == L.PASSWORD_CHECK_BURST
        assert all(a.reason == "too_many_attempts" for a in answers if isinstance(a, AccountError))
        assert scrypts[0] - before == L.PASSWORD_CHECK_BURST
        with RawClient(server.address, source="127.0.0.3") as d:  # the owner elsewhere: at once
            assert isinstance(account(d, Login("alice", "wonderland")), AccountOk)
