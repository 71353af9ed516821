"""Private messages to registered users who are offline: kept in SQLite, delivered at their next login
in order, marked as sent while away, removed only once the client acknowledges them (mail_ack) and
otherwise delivered again; bounded per mailbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from support import RawClient, running_server
from test_server_accounts import FAST, account, join, settle

from pgboard.protocol import Chat, Error, Join, Login, MailAck, Notice, Say, Signup, Welcome

NOW = 1_700_000_000


def sign_up(address: tuple[str, int], nick: str, password: str = "password1") -> None:
    with RawClient(address) as c:
        account(c, Signup(nick, password))


def test_messages_wait_for_an_offline_account_and_arrive_once_in_order(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db, **FAST, wall_clock=lambda: NOW) as server:
        sign_up(server.address, "Bob")
        with RawClient(server.address) as a:
            join(a, "alice", client="alice-secret")
            a.catch_up()
            for text in ("one", "two", "three"):
                a.send(Say(f"/msg bob {text}"))
            got = settle(a)
            mine = [m for m in got if isinstance(m, Chat)]
            assert [m.text for m in mine] == ["one", "two", "three"]
            assert all(m.away and m.to == "Bob" and m.kind == "private" for m in mine)
            assert any(isinstance(m, Notice) and "Bob is away" in m.text for m in got)
            a.send(Say("/msg nobody hello"))
            assert a.recv_until(Error).code == "no_such_user"  # not an account: as before
    with running_server(db, **FAST, wall_clock=lambda: NOW + 60) as server:  # kept across a restart
        with RawClient(server.address) as b:
            account(b, Login("bob", "password1"))
            join(b, "bob", "elsewhere")
            b.catch_up()
            kept = [m for m in settle(b) if isinstance(m, Chat)]
            assert [(m.text, m.nick, m.away, m.time, m.again) for m in kept] == [
                ("one", "alice", True, NOW, False),
                ("two", "alice", True, NOW, False),
                ("three", "alice", True, NOW, False),
            ]
            assert kept[0].mail < kept[1].mail < kept[2].mail
            b.send(MailAck(kept[-1].mail))  # shown: the server may forget them
            settle(b)
        with RawClient(server.address) as b:  # exactly once
            account(b, Login("bob", "password1"))
            join(b, "bob")
            b.catch_up()
            assert [m for m in settle(b) if isinstance(m, Chat)] == []


def test_an_account_online_in_another_room_gets_the_line_at_once() -> None:
    with running_server(**FAST, wall_clock=lambda: NOW) as server:
        sign_up(server.address, "bob")
        with RawClient(server.address) as b, RawClient(server.address) as a:
            account(b, Login("bob", "password1"))
            assert isinstance(join(b, "bob", "attic"), Welcome)
            b.catch_up()
            join(a, "alice")
            a.catch_up()
            a.send(Say("@bob up here?"))
            line = b.recv_until(Chat)
            assert (line.text, line.to, line.away) == ("up here?", "bob", False)
            assert a.recv_until(Chat) == line


def test_a_full_mailbox_refuses_more() -> None:
    with running_server(**FAST, mailbox_limit=2) as server:
        sign_up(server.address, "bob")
        with RawClient(server.address) as a:
            join(a, "alice")
            a.catch_up()
            a.send(Say("/msg bob 1"))
            a.send(Say("/msg bob 2"))
            a.send(Say("/msg bob 3"))
            err = a.recv_until(Error)
            assert err.code == "mailbox_full" and "2 messages" in err.detail
        with RawClient(server.address) as b:
            account(b, Login("bob", "password1"))
            join(b, "bob")
            b.catch_up()
            assert [m.text for m in settle(b) if isinstance(m, Chat)] == ["1", "2"]


def test_a_connection_that_drops_right_after_joining_loses_no_kept_message(tmp_path: Path) -> None:
    """Issue 11, 4: three lines for offline bob; bob's connection drops right after its join, before
    it acknowledges anything. The next login delivers all three (marked again); after its mail_ack
    they are gone, and a restart does not bring them back."""
    db = tmp_path / "board.sqlite3"
    with running_server(db, **FAST, wall_clock=lambda: NOW, mailbox_limit=3) as server:
        sign_up(server.address, "bob")
        with RawClient(server.address) as a:
            join(a, "alice")
            a.catch_up()
            for text in ("one", "two", "three"):
                a.send(Say(f"/msg bob {text}"))
            assert [m.text for m in settle(a) if isinstance(m, Chat)] == ["one", "two", "three"]
        with RawClient(server.address) as b:  # joins, and is gone before reading anything after welcome
            account(b, Login("bob", "password1"))
            b.send(Join(nick="bob", room="lobby"))
            b.recv_until(Welcome)
        with RawClient(server.address) as a:  # still counted in the mailbox until acknowledged
            join(a, "alice2")
            a.catch_up()
            a.send(Say("/msg bob four"))
            assert a.recv_until(Error).code == "mailbox_full"
        with RawClient(server.address) as b:
            account(b, Login("bob", "password1"))
            join(b, "bob", "lobby")
            b.catch_up()
            again = [m for m in settle(b) if isinstance(m, Chat)]
            assert [(m.text, m.away, m.again) for m in again] == [
                ("one", True, True),
                ("two", True, True),
                ("three", True, True),
            ]
            b.send(MailAck(again[1].mail))  # the first two shown; the connection drops before the third
        with RawClient(server.address) as b:
            account(b, Login("bob", "password1"))
            join(b, "bob", "lobby")
            b.catch_up()
            last = [m for m in settle(b) if isinstance(m, Chat)]
            assert [(m.text, m.again) for m in last] == [("three", True)]
            b.send(MailAck(last[0].mail))
            settle(b)
    with running_server(db, **FAST) as server, RawClient(server.address) as b:
        account(b, Login("bob", "password1"))
        join(b, "bob", "lobby")
        b.catch_up()
        assert [m for m in settle(b) if isinstance(m, Chat)] == []
        with RawClient(server.address) as guest:
            join(guest, "carol")
            guest.catch_up()
            guest.send(MailAck(1_000))
            assert guest.recv_until(Error).code == "not_logged_in"


def test_a_mailbox_from_before_mail_ack_is_upgraded_and_delivered(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db, **FAST) as server:
        sign_up(server.address, "bob")
        with RawClient(server.address) as a:
            join(a, "alice")
            a.catch_up()
            a.send(Say("/msg bob kept in an old file"))
            settle(a)
    old = sqlite3.connect(db)  # the table as it was: no delivered column
    old.executescript(
        "CREATE TABLE old AS SELECT id, recipient, line FROM mail; DROP TABLE mail;"
        "CREATE TABLE mail (id INTEGER PRIMARY KEY, recipient TEXT NOT NULL, line TEXT NOT NULL);"
        "INSERT INTO mail SELECT * FROM old; DROP TABLE old;"
    )
    old.close()
    with running_server(db, **FAST) as server, RawClient(server.address) as b:
        account(b, Login("bob", "password1"))
        join(b, "bob")
        b.catch_up()
        (line,) = [m for m in settle(b) if isinstance(m, Chat)]
        assert (line.text, line.again) == ("kept in an old file", False) and line.mail > 0
