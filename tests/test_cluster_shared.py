"""Cluster mode, what the processes share besides rooms: accounts, mailboxes, private messages, the
rooms list. A real redis-server and real server processes (each test its own, ended by PID)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_support import RedisServer, cluster_server, stop_all
from support import WAIT, RawClient
from test_cluster import pytestmark  # noqa: F401 - the skip marks (no redis-server, no redis-py)
from test_server_accounts import account, join, settle

from bench import fdselect
from pgboard.protocol import (
    AccountError,
    AccountOk,
    Chat,
    JoinError,
    Login,
    MailAck,
    Notice,
    Passwd,
    Rooms,
    Say,
    Signup,
    Welcome,
)
from pgboard.protocol_friends import Friends, FriendUpdate


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    yield server
    server.kill()


def accounts_server(tmp_path: Path, redis: RedisServer, name: str):  # noqa: ANN201 - a ServerProcess
    return cluster_server(tmp_path / f"{name}.db", redis, "--accounts")


def test_an_account_made_on_one_process_logs_in_on_another(redis_server: RedisServer, tmp_path: Path) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as c:
            made = account(c, Signup("Zoë", "correct horse"))
            assert isinstance(made, AccountOk)
        with RawClient(b.address) as c:
            ok = account(c, Login("ZOË", "correct horse"))  # folded, on the other process
            assert isinstance(ok, AccountOk) and (ok.nick, ok.user) == ("Zoë", made.user)
            assert isinstance(account(c, Passwd("Zoë", "correct horse", "battery staple")), AccountOk)
        with RawClient(a.address) as c:  # the new password holds on the first process, the old does not
            assert isinstance(account(c, Login("Zoë", "correct horse")), AccountError)
            assert isinstance(account(c, Login("Zoë", "battery staple")), AccountOk)
        with RawClient(b.address) as c:  # the name is taken cluster-wide
            assert isinstance(account(c, Signup("zoë", "another one")), AccountError)
    finally:
        stop_all(a, b)


def test_mail_sent_on_one_process_is_read_on_another_exactly_once(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as c:
            account(c, Signup("bob", "password1"))
        with RawClient(a.address) as alice:
            join(alice, "alice", "hall")
            alice.catch_up()
            for text in ("one", "two"):
                alice.send(Say(f"/msg bob {text}"))
            assert [m.away for m in settle(alice) if isinstance(m, Chat)] == [True, True]
        with RawClient(b.address) as bob:  # delivered on the other process, not acknowledged
            account(bob, Login("bob", "password1"))
            assert isinstance(join(bob, "bob", "attic"), Welcome)
            bob.catch_up()
            kept = [m for m in settle(bob) if isinstance(m, Chat)]
            assert [(m.text, m.again) for m in kept] == [("one", False), ("two", False)]
        with RawClient(a.address) as bob:  # not acknowledged: again, on the first process
            account(bob, Login("bob", "password1"))
            assert isinstance(join(bob, "bob", "cellar"), Welcome)
            bob.catch_up()
            again = [m for m in settle(bob) if isinstance(m, Chat)]
            assert [(m.text, m.again) for m in again] == [("one", True), ("two", True)]
            bob.send(MailAck(again[-1].mail))
            settle(bob)
        with RawClient(b.address) as bob:  # acknowledged once: gone everywhere
            account(bob, Login("bob", "password1"))
            join(bob, "bob", "attic")
            bob.catch_up()
            assert [m for m in settle(bob) if isinstance(m, Chat)] == []
    finally:
        stop_all(a, b)


def test_a_private_message_reaches_an_account_on_another_process(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as c:
            account(c, Signup("bob", "password1"))
        with RawClient(b.address) as bob, RawClient(a.address) as alice:
            account(bob, Login("bob", "password1"))
            assert isinstance(join(bob, "bob", "attic"), Welcome)  # b owns the attic
            bob.catch_up()
            assert isinstance(join(alice, "alice", "hall"), Welcome)  # a owns the hall
            alice.catch_up()
            alice.send(Say("@bob up here?"))
            line = bob.recv_until(Chat)
            assert (line.text, line.nick, line.to, line.away) == ("up here?", "alice", "bob", False)
            assert alice.recv_until(Chat) == line  # the sender's copy: delivered, not kept for later
        # bob gone: the line waits in his mailbox. Another name: a new connection (a new client secret)
        # asking for "alice" may find the old one not yet noticed closed and be refused nick_taken
        with RawClient(a.address) as carol:
            assert isinstance(join(carol, "carol", "hall"), Welcome)
            carol.catch_up()
            carol.send(Say("@bob later then"))
            assert [m.away for m in settle(carol) if isinstance(m, Chat)] == [True]
    finally:
        stop_all(a, b)


def test_a_private_message_reaches_every_device_of_an_account_on_every_process(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    c = accounts_server(tmp_path, redis_server, "c")
    try:
        with RawClient(a.address) as x:
            account(x, Signup("bob", "password1"))
        with RawClient(a.address) as desk, RawClient(b.address) as phone, RawClient(c.address) as tablet:
            for device, room in ((desk, "hall"), (phone, "attic"), (tablet, "cellar")):  # a room per process
                account(device, Login("bob", "password1"))
                assert isinstance(join(device, "bob", room), Welcome)
                device.catch_up()
            with RawClient(a.address) as alice:
                assert isinstance(join(alice, "alice", "lobby"), Welcome)
                alice.catch_up()
                alice.send(Say("@bob on every screen?"))
                for device in (desk, phone, tablet):  # one here, two on other processes
                    line = device.recv_until(Chat)
                    assert (line.text, line.nick, line.away) == ("on every screen?", "alice", False)
                assert not [m for m in settle(alice) if isinstance(m, Chat) and m.away]
        with RawClient(a.address) as bob:  # delivered, so nothing was kept for later
            account(bob, Login("bob", "password1"))
            assert isinstance(join(bob, "bob", "hall"), Welcome)
            assert not [m for m in settle(bob) if isinstance(m, Chat) and m.mail]
    finally:
        stop_all(a, b, c)


def test_a_room_password_holds_on_every_process_and_after_its_owner_dies(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    from pgboard_server.cluster.scripts import room_key

    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as alice:
            assert isinstance(join(alice, "alice", "vault", password="open sesame"), Welcome)  # a owns it
            alice.catch_up()
            with RawClient(b.address) as asker:
                asker.send(Rooms())
                assert [(r.name, r.password) for r in asker.recv_until(Rooms).rooms] == [("vault", True)]
            a.kill()  # SIGKILL: the room moves to b once its lease lapses
            r = redis_server.client()
            deadline = time.monotonic() + WAIT
            while r.exists(room_key("vault", "lease")) and time.monotonic() < deadline:
                fdselect.select([], [], [], 0.05)  # bounded: the lease's own expiry (1 s)
            r.close()
        with RawClient(b.address) as bob:
            refused = join(bob, "bob", "vault")
            assert isinstance(refused, JoinError) and refused.reason == "bad_password"
        with RawClient(b.address) as bob:
            assert isinstance(join(bob, "bob", "vault", password="open sesame"), Welcome)
    finally:
        stop_all(a, b)


def test_the_rooms_list_on_one_process_shows_the_rooms_of_another(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as x, RawClient(a.address) as y, RawClient(b.address) as z:
            for c, nick in ((x, "xavier"), (y, "yann")):
                assert isinstance(join(c, nick, "hall"), Welcome)
                c.catch_up()
            assert isinstance(join(z, "zoe", "attic"), Welcome)
            z.catch_up()
            with RawClient(b.address) as asker:
                asker.send(Rooms())
                listed = asker.recv_until(Rooms)
            assert isinstance(listed, Rooms)
            assert [(r.name, r.users) for r in listed.rooms] == [("hall", 2), ("attic", 1)]
    finally:
        stop_all(a, b)


@pytest.mark.reliability
def test_a_forgotten_room_leaves_no_fence_key_and_its_deposed_owner_still_cannot_write(
    redis_server: RedisServer,
) -> None:
    """Fence keys used to stay forever, one per room ever held. A forgotten room's is deleted now; a
    deposed owner's token is refused all the same, before and after the room is taken again, because
    tokens come from one counter that only grows (never reissued, to any room)."""
    import redis
    from pgboard_server.cluster.roomlog import RoomLog
    from pgboard_server.cluster.scripts import ACQUIRE, TOKENS, room_key

    r = redis_server.client()
    log = RoomLog(r)
    acquire = r.register_script(ACQUIRE)
    keys = [room_key("r", "lease"), room_key("r", "fence"), TOKENS]
    first, _ = acquire(keys=keys, args=["a:1", 60000])
    log.append("r", int(first), [(1, "one")])
    r.delete(room_key("r", "lease"))  # the first owner paused: its lease lapsed, another took the room
    second, _ = acquire(keys=keys, args=["b:2", 60000])
    log.forget("r", int(second))  # emptied there with nothing worth keeping: forgotten
    assert r.keys("pgboard:room:{r}:*") == []  # its lease and fence are gone too
    with pytest.raises(redis.ResponseError, match="FENCED"):  # no fence: nobody's token matches
        log.append("r", int(first), [(2, "from the deposed owner")])
    third, _ = acquire(keys=keys, args=["c:3", 60000])  # the room made again, elsewhere
    assert int(third) > int(second) > int(first)
    for stale in (first, second):
        with pytest.raises(redis.ResponseError, match="FENCED"):
            log.append("r", int(stale), [(1, "stale")])
    log.append("r", int(third), [(1, "fresh")])
    r.close()


def test_a_room_emptied_on_a_server_leaves_no_key_and_is_taken_afresh(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    r = redis_server.client()
    try:
        with RawClient(a.address) as c:
            assert isinstance(join(c, "ann", "brief"), Welcome)
            c.catch_up()
            assert r.exists("pgboard:room:{brief}:fence")
        # nothing drawn or said: the server forgets the room when ann leaves; a bounded wait for it
        deadline = time.monotonic() + WAIT
        while r.exists("pgboard:room:{brief}:fence") and time.monotonic() < deadline:
            fdselect.select([], [], [], 0.05)
        assert r.keys("pgboard:room:{brief}:*") == []
        with RawClient(a.address) as c:  # back at once: taken again with a new token, not fenced
            assert isinstance(join(c, "ann", "brief"), Welcome)
            c.catch_up()
            c.send(Say("again"))
            assert c.recv_until(Chat).text == "again"
    finally:
        r.close()
        stop_all(a)


@pytest.mark.reliability
def test_a_timed_ban_and_a_kick_made_on_one_process_hold_on_another_after_the_room_moves(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """The terms of bans and kick holds were kept by the process that made them: once the room moved,
    a 15-minute ban became a ban until /unban and a kicked guest walked straight back in."""
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as alice, RawClient(a.address) as bob, RawClient(a.address) as carol:
            for c, nick in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
                assert isinstance(join(c, nick, "hall", client=f"{nick}-secret"), Welcome)
                c.catch_up()
            alice.send(Say("/ban bob 15m"))
            bob.wait_closed()
            alice.send(Say("/kick carol"))
            carol.wait_closed()
            settle(alice)
        a.signal(signal.SIGTERM)  # its leases are given back: the next join anywhere takes the room
        a.wait()
        with RawClient(b.address) as alice:
            assert isinstance(join(alice, "alice", "hall", client="alice-secret"), Welcome)  # b takes it
            alice.catch_up()
            alice.send(Say("/ban"))
            assert alice.recv_until(lambda m: isinstance(m, Notice) and "Banned" in m.text).text == (
                "Banned from hall: bob (15 min left)"
            )
            with RawClient(b.address) as bob:
                refused = join(bob, "bob", "hall", client="bob-secret")
                assert isinstance(refused, JoinError) and refused.reason == "banned"
            with RawClient(b.address) as carol:
                refused = join(carol, "carol", "hall", client="carol-secret")
                assert isinstance(refused, JoinError) and refused.reason == "kicked"
    finally:
        stop_all(a, b)


def test_friends_added_on_two_processes_see_each_other_across_the_cluster(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as c:
            account(c, Signup("alice", "password1"))
            account(c, Signup("bob", "password1"))
        with RawClient(b.address) as bob, RawClient(a.address) as alice:
            account(bob, Login("bob", "password1"))
            assert isinstance(join(bob, "bob", "attic"), Welcome)  # b owns the attic
            bob.catch_up()
            bob.send(Say("/friend alice"))  # on b
            settle(bob)
            account(alice, Login("alice", "password1"))
            assert isinstance(join(alice, "alice", "hall"), Welcome)  # a owns the hall
            alice.catch_up()
            alice.send(Say("/friend bob"))  # on a: mutual now, and bob is online on b
            settle(alice)
            alice.send(Say("/friends"))
            listed = alice.recv_until(lambda m: isinstance(m, Friends) and m.asked)
            assert [(f.nick, f.mutual, f.online, f.room) for f in listed.friends] == [
                ("bob", True, True, "attic")
            ]
            told = bob.recv_until(lambda m: isinstance(m, FriendUpdate) and m.nick == "alice" and m.mutual)
            assert (told.online, told.room) == (True, "hall")  # told on b, where alice is on a
            with RawClient(a.address) as again:  # alice's second connection, in another room on a
                account(again, Login("alice", "password1"))
                assert isinstance(join(again, "alice", "cellar"), Welcome)
                again.catch_up()
                moved = bob.recv_until(lambda m: isinstance(m, FriendUpdate) and m.room == "cellar")
                assert (moved.nick, moved.online) == ("alice", True)
    finally:
        stop_all(a, b)


@pytest.mark.reliability
def test_one_name_signed_up_on_two_processes_at_once_makes_one_account(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    replies: list[object] = []
    try:
        clients = [RawClient(p.address) for p in (a, b) for _ in range(3)]
        start = threading.Barrier(len(clients))

        def sign_up(c: RawClient, i: int) -> None:
            start.wait(WAIT)
            replies.append(account(c, Signup("Mallory", f"password-{i}")))

        threads = [threading.Thread(target=sign_up, args=(c, i)) for i, c in enumerate(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT * 2)
        for c in clients:
            c.close()
        assert len(replies) == 6
        assert sum(isinstance(r, AccountOk) for r in replies) == 1  # one account, the others refused
    finally:
        stop_all(a, b)


@pytest.mark.reliability
def test_a_look_alike_of_an_account_made_on_another_process_is_refused(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Each process indexes the accounts' names by their TR39 skeleton once; the accounts other
    processes make since are read from Redis's account log, or a guest on the first process could sit
    next to the real alice as "\u0430lice" (Cyrillic a) and be treated as a guest when banned."""
    a = accounts_server(tmp_path, redis_server, "a")
    b = accounts_server(tmp_path, redis_server, "b")
    try:
        with RawClient(a.address) as early:  # a guest's join on a builds a's index of names
            assert isinstance(join(early, "early", "hall"), Welcome)
        with RawClient(b.address) as c:
            assert isinstance(account(c, Signup("alice", "password1")), AccountOk)
        with RawClient(a.address) as fake:
            refused = join(fake, "\u0430lice", "hall")
            assert isinstance(refused, JoinError) and refused.reason == "confusable", refused
    finally:
        stop_all(a, b)
