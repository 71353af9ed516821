"""Room passwords through a real server: set by the room's creation, checked on every join, limited
like logins, kept in SQLite across a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support import FakeClock, RawClient, running_server
from test_server_accounts import join

from pgboard.protocol import Error, JoinError, Notice, Say, Welcome

FAST = {"scrypt_n": 16, "scrypt_r": 1}


def test_a_room_created_with_a_password_keeps_it(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db, **FAST) as server:
        with RawClient(server.address) as a:
            assert isinstance(join(a, "alice", "secret-club", password="open sesame"), Welcome)
            with RawClient(server.address) as b:
                missing = join(b, "bob", "SECRET-club")
                assert isinstance(missing, JoinError) and missing.reason == "bad_password"
                assert "needs a password" in missing.detail
                wrong = join(b, "bob", "secret-club", password="open barley")
                assert isinstance(wrong, JoinError) and wrong.reason == "bad_password"
                assert isinstance(join(b, "bob", "secret-club", password="open sesame"), Welcome)
        with RawClient(server.address) as c, RawClient(server.address) as d:
            assert isinstance(join(c, "carol", "public"), Welcome)
            # a room without one ignores the field (an empty room with nothing in it is forgotten,
            # though: whoever creates it again may give it a password)
            assert isinstance(join(d, "dave", "public", password="whatever"), Welcome)
            with RawClient(server.address) as e:  # ... so a later join cannot add one
                assert isinstance(join(e, "eve", "public"), Welcome)
    stored = sqlite3.connect(db).execute("SELECT hash FROM room_passwords").fetchall()
    assert len(stored) == 1 and "sesame" not in stored[0][0]
    with running_server(db, **FAST) as server, RawClient(server.address) as b:
        assert join(b, "bob", "secret-club").reason == "bad_password"
        assert isinstance(join(b, "bob", "secret-club", password="open sesame"), Welcome)


def test_wrong_room_passwords_are_limited_on_the_servers_clock() -> None:
    clock = FakeClock()
    with running_server(**FAST, clock=clock, login_failures=2, login_window=30) as server:
        with RawClient(server.address) as a:
            join(a, "alice", "vault", password="right one")
            with RawClient(server.address) as b:
                for _ in range(2):
                    assert join(b, "bob", "vault", password="guess").reason == "bad_password"
                locked = join(b, "bob", "vault", password="right one")
                assert isinstance(locked, JoinError) and locked.reason == "too_many_attempts"
                assert locked.retry == 30
                clock.advance(30)
                assert isinstance(join(b, "bob", "vault", password="right one"), Welcome)


def test_an_operator_sets_and_removes_the_password() -> None:
    with running_server(**FAST) as server:
        with RawClient(server.address) as op, RawClient(server.address) as b:
            assert isinstance(join(op, "alice", "studio"), Welcome)  # the creator: its operator
            op.catch_up()
            assert isinstance(join(b, "bob", "studio"), Welcome)
            b.catch_up()
            b.send(Say("/password mine now"))
            assert b.recv_until(Error).code == "not_operator"
            op.send(Say("/password let me in"))
            assert "set a password" in b.recv_until(Notice).text  # members already in stay
            with RawClient(server.address) as c:
                assert join(c, "carol", "studio").reason == "bad_password"
                assert isinstance(join(c, "carol", "studio", password="let me in"), Welcome)
            op.send(Say("/password"))
            assert "removed" in b.recv_until(Notice).text
            with RawClient(server.address) as d:
                assert isinstance(join(d, "dave", "studio"), Welcome)


def test_one_address_guessing_never_locks_the_others_out_of_the_room() -> None:
    """Issue 11, 6: 20 wrong room passwords from 127.0.0.2; a member who knows it, from 127.0.0.1, gets
    in at once; the guesser stays limited even with the right password."""
    clock = FakeClock()
    joins_unpaced = {"join_rate": 0.0, "address_join_rate": 0.0}  # the password limit alone is tried
    with running_server(**FAST, **joins_unpaced, clock=clock) as server:
        with RawClient(server.address) as a:
            assert isinstance(join(a, "alice", "vault", password="right one"), Welcome)
        reasons = []
        with RawClient(server.address, source="127.0.0.2") as guesser:
            for i in range(20):
                reasons.append(join(guesser, f"mallory{i}", "vault", password="guess").reason)
            assert reasons.count("bad_password") == 5 and reasons[-1] == "too_many_attempts"
            assert join(guesser, "mallory", "vault", password="right one").reason == "too_many_attempts"
        with RawClient(server.address, source="127.0.0.1") as b:
            assert isinstance(join(b, "bob", "vault", password="right one"), Welcome)
