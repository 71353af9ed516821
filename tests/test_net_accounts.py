"""The pump with an account: it logs in (or signs up) before joining, and after every drop it logs in
again by itself, with the password it holds in memory; refusals stop it, with the server's reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pgboard_server.server import BoardServer
from support import RawClient
from test_net import FAST_CLOSE, Client, line

from pgboard import ids
from pgboard.net import Credentials
from pgboard.protocol import AccountError, AccountOk, Add, Join, JoinError, Obj
from pgboard.widgets.statusbar import connection_text

ACCOUNTS: dict[str, Any] = {"accounts": True, "scrypt_n": 16, "scrypt_r": 1, **FAST_CLOSE}


def client(port: int, credentials: Credentials | None, room: str = "", password: str = "") -> Client:
    c = Client(port, nick="Zoë", secret="this-machine", room=room)
    c.conn.credentials = credentials
    c.conn.password = password
    return c


def test_after_a_restart_the_pump_logs_in_again_by_itself(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    first = BoardServer("127.0.0.1", 0, db, **ACCOUNTS)
    first.start()
    port = first.address[1]
    c = client(port, Credentials("signup", "correct horse"), room="club", password="club pass")
    conn = c.conn

    def mine(local: str) -> str:  # an object id in this machine's scope (its secret's, not the account's)
        return ids.scoped(ids.device_id(conn.client_secret), local)

    try:
        c.online()
        account = c.received(AccountOk)
        assert [m.action for m in account] == ["signup"] and conn.user_id == account[0].user
        assert "correct horse" not in repr(conn.credentials) and "club pass" not in repr(conn.credentials)
        conn.send_op(Add("op-1", line(mine("one"))))
        c.pump_until(lambda: not conn.pending_ops)
    finally:
        first.stop()
    c.pump_until(lambda: conn.state == "offline")
    conn.send_op(Add("op-2", line(mine("two"), 200)))  # drawn while the server is down
    second = BoardServer("127.0.0.1", port, db, **ACCOUNTS)
    second.start()
    try:
        with RawClient(second.address) as guest:  # the name is registered: only a login gets it
            guest.send(Join("zoë", "other", client="x"))
            assert guest.recv_until(JoinError).reason == "registered"
        c.skip_to_retry()
        c.pump_until(lambda: conn.state == "online" and not conn.pending_ops)
        assert [m.action for m in c.received(AccountOk)] == ["signup", "login"]
        assert conn.user_id == account[0].user  # the account's id, not the hash of the secret
        with RawClient(second.address) as bob:  # the room kept its password across the restart too
            bob.send(Join("bob", "club", password="club pass"))
            _, objs, _ = bob.catch_up()
        authors = {m.obj.id: m.obj.author for m in objs if isinstance(m, Obj)}
        assert authors == {mine("one"): conn.user_id, mine("two"): conn.user_id}
    finally:
        c.close()
        second.stop()


def test_a_wrong_password_is_refused_without_retrying(tmp_path: Path) -> None:
    with BoardServer("127.0.0.1", 0, tmp_path / "db.sqlite3", **ACCOUNTS) as server:
        port = server.address[1]
        c = client(port, Credentials("signup", "correct horse"))
        c.online()
        c.close()
        c = client(port, Credentials("login", "wrong horse"))
        c.conn.start()
        c.pump_until(lambda: c.conn.state == "refused")
        assert c.conn.account_error is not None and c.conn.account_error.reason == "bad_login"
        assert connection_text(c.conn) == "Refused: wrong nickname or password"
        assert c.sched.time_until_next() is None  # no reconnect scheduled


def test_a_changed_password_is_the_one_used_after_a_drop(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    with BoardServer("127.0.0.1", 0, db, **ACCOUNTS) as server:
        port = server.address[1]
        c = client(port, Credentials("signup", "old password"))
        c.online()
        c.close()
        c = client(port, Credentials("passwd", "old password", "new password"))
        c.online()
        assert c.conn.credentials == Credentials("login", "new password")
        server.stop()
        c.pump_until(lambda: c.conn.state == "offline")
    with BoardServer("127.0.0.1", port, db, **ACCOUNTS):
        c.skip_to_retry()
        c.pump_until(lambda: c.conn.state == "online")
        assert [m.action for m in c.received(AccountOk)] == ["passwd", "login"]
        assert c.received(AccountError) == []
        c.close()
