"""Accounts through a real server: sign-up, log-in, password change, registered names, the login rate
limit on the server's clock, and persistence in a real SQLite file across a restart."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from support import FakeClock, RawClient, ServerProcess, running_server

from pgboard.protocol import (
    AccountError,
    AccountOk,
    Error,
    Join,
    JoinError,
    Login,
    Passwd,
    Ping,
    Pong,
    Say,
    Signup,
    Welcome,
)

# cheap hashes for tests; the defaults cost about 50 ms each
FAST: dict[str, Any] = {"accounts": True, "scrypt_n": 16, "scrypt_r": 1}


def account(c: RawClient, msg: Signup | Login | Passwd) -> AccountOk | AccountError:
    c.send(msg)
    reply = c.recv_until((AccountOk, AccountError))
    assert isinstance(reply, AccountOk | AccountError)
    return reply


def join(
    c: RawClient, nick: str, room: str = "", client: str = "", password: str = ""
) -> Welcome | JoinError:
    c.send(Join(nick=nick, room=room, client=client, password=password))
    reply = c.recv_until((Welcome, JoinError))
    assert isinstance(reply, Welcome | JoinError)
    return reply


def settle(c: RawClient) -> list:
    c.send(Ping(99))
    return c.recv_all_until(Pong)[:-1]


def test_sign_up_then_log_in_from_another_machine_keeps_the_author_id() -> None:
    with running_server(**FAST) as server:
        with RawClient(server.address) as a:
            ok = account(a, Signup("Zoë", "correct horse"))
            assert isinstance(ok, AccountOk) and ok.action == "signup" and ok.nick == "Zoë"
            w = join(a, "zoë", client="laptop-secret")  # the account's own spelling wins
            assert isinstance(w, Welcome) and (w.user, w.nick) == (ok.user, "Zoë")
        with RawClient(server.address) as b:  # another machine: another client secret
            ok2 = account(b, Login("ZOË", "correct horse"))
            assert isinstance(ok2, AccountOk) and ok2.user == ok.user
            w2 = join(b, "Zoë", client="desktop-secret")
            assert isinstance(w2, Welcome) and w2.user == ok.user
        with RawClient(server.address) as guest:  # a guest's id is still sha256 of its secret
            w3 = join(guest, "carol", client="laptop-secret")
            assert isinstance(w3, Welcome) and w3.user != ok.user


def test_a_guest_cannot_take_a_registered_name() -> None:
    with running_server(**FAST) as server:
        with RawClient(server.address) as a:
            account(a, Signup("alice", "wonderland"))
        with RawClient(server.address) as g:
            refused = join(g, "ALICE", client="impostor")
            assert isinstance(refused, JoinError) and refused.reason == "registered"
            assert isinstance(join(g, "mallory", client="impostor"), Welcome)
            g.catch_up()
            g.send(Say("/nick Alice"))
            err = g.recv_until(Error)
            assert err.code == "nick_taken" and "registered" in err.detail
        with RawClient(server.address) as a2:
            account(a2, Login("alice", "wonderland"))
            assert isinstance(join(a2, "alice"), Welcome)


def test_sign_up_refusals() -> None:
    with running_server(**FAST, min_password=8) as server, RawClient(server.address) as c:
        assert account(c, Signup("bob", "short")).reason == "weak_password"
        assert account(c, Signup("-bad-", "long enough")).reason == "invalid"
        assert account(c, Signup("bob", "long enough")).action == "signup"
        with RawClient(server.address) as d:
            taken = account(d, Signup("BOB", "other password"))
            assert isinstance(taken, AccountError) and taken.reason == "registered"
            wrong = account(d, Login("bob", "not it at all"))
            assert isinstance(wrong, AccountError) and wrong.reason == "bad_login"
            nobody = account(d, Login("nobody", "not it at all"))
            assert isinstance(nobody, AccountError) and nobody.reason == "bad_login"  # same answer
        assert isinstance(join(c, "bob"), Welcome)
        late = account(c, Login("bob", "long enough"))
        assert isinstance(late, AccountError) and late.reason == "already_joined"


def test_without_accounts_everyone_is_a_guest() -> None:
    with running_server() as server, RawClient(server.address) as c:
        refused = account(c, Signup("alice", "wonderland"))
        assert isinstance(refused, AccountError) and refused.reason == "no_accounts"
        assert isinstance(join(c, "alice"), Welcome)


def test_failed_logins_are_limited_per_account_and_per_address_on_the_servers_clock() -> None:
    clock = FakeClock()
    with running_server(**FAST, clock=clock, login_failures=3, login_window=60) as server:
        with RawClient(server.address) as c:
            account(c, Signup("alice", "wonderland"))
            account(c, Signup("bob", "builder!"))
        with RawClient(server.address) as c:
            for _ in range(3):
                assert account(c, Login("alice", "guess")).reason == "bad_login"
            clock.advance(10)
            locked = account(c, Login("alice", "wonderland"))  # even the right password waits
            assert isinstance(locked, AccountError) and locked.reason == "too_many_attempts"
            assert locked.retry == 50 and "50 s" in locked.detail
            # the same address cannot turn to another account meanwhile
            assert account(c, Login("bob", "builder!")).reason == "too_many_attempts"
            clock.advance(50)
            assert isinstance(account(c, Login("alice", "wonderland")), AccountOk)


def test_change_password() -> None:
    with running_server(**FAST) as server:
        with RawClient(server.address) as c:
            account(c, Signup("alice", "wonderland"))
        with RawClient(server.address) as c:
            assert account(c, Passwd("alice", "wrong one", "looking glass")).reason == "bad_login"
            assert account(c, Passwd("alice", "wonderland", "tiny")).reason == "weak_password"
            ok = account(c, Passwd("alice", "wonderland", "looking glass"))
            assert isinstance(ok, AccountOk) and ok.action == "passwd"
            assert isinstance(join(c, "alice"), Welcome)  # passwd before join logs in too
        with RawClient(server.address) as c:
            assert account(c, Login("alice", "wonderland")).reason == "bad_login"
            assert isinstance(account(c, Login("alice", "looking glass")), AccountOk)


def test_accounts_survive_a_restart_hashed_with_their_parameters(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db, **FAST) as server, RawClient(server.address) as c:
        user = account(c, Signup("alice", "wonderland")).user
    stored = sqlite3.connect(db).execute("SELECT hash FROM accounts").fetchone()[0]
    assert stored.startswith("scrypt$16$1$1$") and "wonderland" not in stored
    raised = {**FAST, "scrypt_n": 32}
    with running_server(db, **raised) as server, RawClient(server.address) as c:
        assert account(c, Login("alice", "nope nope")).reason == "bad_login"
        ok = account(c, Login("alice", "wonderland"))
        assert isinstance(ok, AccountOk) and ok.user == user
        w = join(c, "alice")
        assert isinstance(w, Welcome) and w.user == user
    stored = sqlite3.connect(db).execute("SELECT hash FROM accounts").fetchone()[0]
    assert stored.startswith("scrypt$32$1$1$")  # raised at the first good login
    with running_server(db, **raised) as server, RawClient(server.address) as g:
        assert join(g, "alice", client="x").reason == "registered"


def test_pgboard_server_accounts_option(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "db.sqlite3", "--accounts", "--min-password", "10") as proc:
        with RawClient(proc.address) as c:
            assert account(c, Signup("alice", "nine char")).reason == "weak_password"
            assert isinstance(account(c, Signup("alice", "ten chars!")), AccountOk)
    with ServerProcess(tmp_path / "db2.sqlite3") as proc, RawClient(proc.address) as c:
        assert account(c, Signup("alice", "ten chars!")).reason == "no_accounts"  # off by default


def test_an_attacker_failing_from_one_address_never_locks_the_owner_out_from_another() -> None:
    """Issue 11, 6: twenty wrong logins from 127.0.0.2 within a minute; the owner, from 127.0.0.1 (an
    address that has not failed), logs in at once with the right password. The attacker stays limited."""
    clock = FakeClock()
    with running_server(**FAST, clock=clock) as server:
        with RawClient(server.address) as c:
            account(c, Signup("alice", "wonderland"))
        answers = []
        with RawClient(server.address, source="127.0.0.2") as attacker:
            for _ in range(20):
                attacker.send(Login("alice", "guess"))
                reply = attacker.recv_until((AccountOk, AccountError, Error))
                answers.append(getattr(reply, "reason", "") or getattr(reply, "code", ""))
                clock.advance(0.5)  # two a second: under the account requests' pace (CHAT_RATE)
            assert answers.count("bad_login") == 5 and answers.count("too_many_attempts") == 15
            assert account(attacker, Login("alice", "wonderland")).reason == "too_many_attempts"
        with RawClient(server.address, source="127.0.0.1") as owner:
            ok = account(owner, Login("alice", "wonderland"))
            assert isinstance(ok, AccountOk) and ok.nick == "alice"
            assert isinstance(join(owner, "alice"), Welcome)
        with RawClient(server.address, source="127.0.0.3") as other:  # another address: its own count
            assert account(other, Login("alice", "guess")).reason == "bad_login"
