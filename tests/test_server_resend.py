"""Resends are recognised per device (client secret) and oid, through a real server and a real
SQLite file: two machines of one account with the same oid counter both draw, and each one's resend
after a reconnect (or a restart of the server) is still answered ``ack``, never applied twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import RawClient, running_server

from pgboard import ids
from pgboard.protocol import AccountOk, Ack, Add, BoardObject, Error, Extend, Login, Obj, Ping, Pong, Signup

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
    reply = c.recv_until((Add, Ack, Error))
    assert isinstance(reply, (Add, Ack)), reply  # applied twice: duplicate_id
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


def test_the_resends_of_two_machines_are_told_apart_behind_a_snapshot_after_a_restart(tmp_path: Path) -> None:
    """The snapshot keeps the devices and oids of its last RESEND_WINDOW seqs (the log before it is
    deleted): after a restart each machine's resend of k-1 still gets its own seq."""
    db = tmp_path / "board.sqlite3"
    knobs = {**FAST, "compact_min_bytes": 300, "compact_factor": 1.0}  # compact past 300 bytes of log
    with running_server(db, **knobs) as server:
        with machine(server, LAPTOP, signup=True) as laptop:
            assert draw(laptop, LAPTOP).seq == 1
        with machine(server, DESKTOP) as desktop:
            assert draw(desktop, DESKTOP).seq == 2
            stroke = BoardObject(ids.scoped(ids.device_id(DESKTOP), "2"), "pencil", ((1, 1),))
            desktop.send(Add("k-2", stroke))
            desktop.recv_until(Add)
            desktop.send(Extend("k-3", stroke.id, tuple((30 + i, 30) for i in range(40))))
            desktop.recv_until(Extend)
            desktop.send(Ping(1))
            desktop.recv_until(Pong)
        assert server.rooms.all()[0].compaction.floor >= 2  # both k-1 are behind the snapshot now
    with running_server(db, **knobs) as server:
        for secret, seq in ((LAPTOP, 1), (DESKTOP, 2)):
            with machine(server, secret, since=1) as c:
                assert draw(c, secret) == Ack("k-1", seq)


def test_a_device_a_client_writes_in_its_operation_is_replaced_by_the_server() -> None:
    with running_server() as server, RawClient(server.address) as c:
        c.join("guest", client="g-secret")
        c.catch_up()
        c.send(Add("k-1", BoardObject(c.obj_id("1"), "line", ((1, 1), (2, 2))), device="someone-else"))
        echo = c.recv_until(Add)
        assert echo.device == "" and echo.author == ids.device_id("g-secret")  # type: ignore[attr-defined]
