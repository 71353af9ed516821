"""Resends are recognised per device (client secret) and oid, through a real server and a real
SQLite file: two machines of one account with the same oid counter both draw, and each one's resend
after a reconnect (or a restart of the server) is still answered ``ack``, never applied twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import RawClient, running_server

from pgboard import ids
from pgboard.protocol import AccountOk, Ack, Add, BoardObject, Login, Obj, Signup

FAST: dict[str, Any] = {"accounts": True, "scrypt_n": 16, "scrypt_r": 1}  # cheap hashes
LAPTOP, DESKTOP = "laptop-secret", "desktop-secret"


def machine(server: Any, secret: str, *, signup: bool = False, since: int | None = None) -> RawClient:
    """One machine of the account "alice", logged in and joined to the room "r"."""
    c = RawClient(server.address)
    c.send((Signup if signup else Login)("alice", "wonderland"))
    assert isinstance(c.recv_until(lambda m: isinstance(m, AccountOk)), AccountOk)
    c.join("alice", "r", since=since, client=secret)
    c.catch_up()
    return c


def rect(secret: str) -> BoardObject:
    return BoardObject(ids.scoped(ids.device_id(secret), "1"), "rect", ((10, 10), (50, 50)))


def draw(c: RawClient, secret: str) -> Add | Ack:
    """Send the add every machine's counter calls "k-1"; its echo (or ack) comes back."""
    c.send(Add("k-1", rect(secret)))
    reply = c.recv_until((Add, Ack))
    assert isinstance(reply, (Add, Ack))
    return reply


def board_ids(server: Any, secret: str) -> set[str]:
    with machine(server, secret) as c:  # a fresh join: the compacted board
        return {m.obj.id for m in c.seen if isinstance(m, Obj)}


def test_two_machines_of_one_account_with_the_same_oid_counter_both_draw(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db, **FAST) as server:
        laptop = machine(server, LAPTOP, signup=True)
        first = draw(laptop, LAPTOP)
        assert isinstance(first, Add) and first.seq == 1
        laptop.close()
        desktop = machine(server, DESKTOP)
        second = draw(desktop, DESKTOP)  # the same oid from another machine is a new operation
        assert isinstance(second, Add) and second.seq == 2, second
        assert second.author == first.author  # one account: one author
        assert board_ids(server, "viewer") == {rect(LAPTOP).id, rect(DESKTOP).id}
        desktop.close()

        # a genuine resend after a reconnect: the same machine, the same oid
        desktop = machine(server, DESKTOP, since=2)
        assert draw(desktop, DESKTOP) == Ack("k-1", 2)
        desktop.close()
        laptop = machine(server, LAPTOP, since=2)
        assert draw(laptop, LAPTOP) == Ack("k-1", 1)
        laptop.close()

    with running_server(db, **FAST) as server:  # restarted: the log says which machine sent what
        for secret, seq in ((LAPTOP, 1), (DESKTOP, 2)):
            with machine(server, secret, since=2) as c:
                assert draw(c, secret) == Ack("k-1", seq)
        assert board_ids(server, "viewer") == {rect(LAPTOP).id, rect(DESKTOP).id}
