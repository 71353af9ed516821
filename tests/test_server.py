"""The server's core: greeting, joining, drawing with the author stamped, leaving (real sockets)."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading

from pgboard_server.limits import NO_RATE_LIMITS
from support import WAIT, RawClient, running_server

from pgboard.board import Board
from pgboard.protocol import (
    TERMINATOR,
    Ack,
    Add,
    BoardObject,
    CatchUp,
    CaughtUp,
    Codec,
    Delete,
    Error,
    Hello,
    Join,
    JoinError,
    Move,
    Obj,
    Ping,
    Pong,
    Undo,
    UserInfo,
    UserJoined,
    UserLeft,
    Welcome,
    decode_frame,
)
from pgboard.protocol_presence import Leave


def line(oid: str, x: int = 10) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


def test_two_clients_see_each_other_draw_with_the_author_stamped() -> None:
    with running_server() as server, RawClient(server.address) as a, RawClient(server.address) as b:
        assert isinstance(a.recv(), Hello)
        wa = a.join("alice", client="secret-a")
        a.catch_up()
        wb = b.join("bob", client="secret-b")
        b.catch_up()
        assert isinstance(wb, Welcome)
        assert [u.nick for u in wb.users] == ["alice", "bob"]
        assert a.recv_until(UserJoined) == UserJoined(wb.user, "bob")
        # bob pretends to be alice: the server stamps the real author anyway
        b.send(Add("op1", line(b.obj_id("l1")), author=wa.user))
        echo_b = b.recv_until(Add)
        echo_a = a.recv_until(Add)
        assert echo_a == echo_b
        assert echo_a.author == wb.user and echo_a.obj.author == wb.user and echo_a.seq == 1
        b.close()
        left = a.recv_until(UserLeft)
        assert left.user == wb.user and left.nick == "bob"


def drawn(c: RawClient, n: int, prefix: str) -> list[Add]:
    """Draw n lines one after the other, each acknowledged by its echo; returns the echoes."""
    echoes = []
    for i in range(n):
        c.send(Add(f"{prefix}-op{i}", line(c.obj_id(f"{prefix}-{i}"), 10 + i)))
        echo = c.recv_until(lambda m, i=i: isinstance(m, Add) and m.oid == f"{prefix}-op{i}")
        echoes.append(echo)
    return echoes


def test_late_joiner_gets_the_compacted_board_then_live_operations_while_another_draws() -> None:
    with running_server() as server:
        a, d = RawClient(server.address), RawClient(server.address)
        a.join("alice", client="a")
        a.catch_up()
        echoes = drawn(a, 300, "a")
        # history that compaction must fold away: a deleted line, a moved one, an undone one
        a.send(Delete("del1", echoes[0].obj.id))
        a.send(Move("mv1", echoes[1].obj.id, 5, 7))
        a.send(Add("add-undone", line(a.obj_id("undone"))))
        a.send(Undo("undo1"))
        a.recv_until(lambda m: isinstance(m, Undo))
        d.join("dora", client="d")
        d.catch_up()
        started, caught_up, stop = threading.Event(), threading.Event(), threading.Event()
        sent_after: list[int] = []

        def keep_drawing() -> None:
            i = 0
            while not stop.is_set() and i < 5000:
                after = caught_up.is_set()  # sent after the catch-up ended: carol must get it live
                d.send(Add(f"d-op{i}", line(d.obj_id(f"d-{i}"), i % 3000)))
                d.recv_until(lambda m, i=i: isinstance(m, Add) and m.oid == f"d-op{i}")
                started.set()
                if after:
                    sent_after.append(i)
                    if len(sent_after) >= 30:
                        return
                i += 1

        drawer = threading.Thread(target=keep_drawing)
        drawer.start()
        try:
            assert started.wait(WAIT)
            c = RawClient(server.address)
            welcome = c.join("carol")
            head, objs, done = c.catch_up()
            caught_up.set()
            drawer.join(WAIT)
            assert not drawer.is_alive()
        finally:
            stop.set()
            drawer.join(WAIT)
        assert head.mode == "board" and head.count == len(objs)
        assert all(isinstance(m, Obj) for m in objs)
        ids = [m.obj.id for m in objs]
        assert len(ids) == len(set(ids))  # each object once
        assert (
            a.obj_id("a-0") not in ids and a.obj_id("undone") not in ids
        )  # deleted and undone objects are not replayed
        moved = next(m.obj for m in objs if m.obj.id == a.obj_id("a-1"))
        assert moved.points[0] == (11 + 5, 10 + 7)
        assert any(i.startswith(d.obj_id("d-")) for i in ids)  # the drawer was drawing before the snapshot
        assert done.seq >= welcome.seq
        # then live operations, with no gap and no duplicate, up to the drawer's last echo
        last = d.seen[-1]
        assert isinstance(last, Add)
        live = c.recv_all_until(lambda m: isinstance(m, Add) and m.seq == last.seq)
        seqs = [m.seq for m in live if isinstance(m, Add)]
        assert seqs == list(range(done.seq + 1, last.seq + 1))
        assert len(seqs) >= 30  # the drawer kept drawing after the catch-up
        board = Board()
        board.load([m.obj for m in objs], done.seq)
        for m in live:
            if isinstance(m, Add):
                board.apply_echo(m)
        truth = server.rooms.get("lobby").board
        assert board.snapshot() == truth.snapshot()
        for cl in (a, c, d):
            cl.close()


def test_a_joiner_that_asks_for_packed_points_gets_the_same_board_in_fewer_bytes() -> None:
    with running_server() as server, RawClient(server.address) as a:
        a.join("alice", client="a")
        a.catch_up()
        for i in range(20):
            a.send(
                Add(
                    f"s{i}",
                    BoardObject(a.obj_id(f"s{i}"), "pencil", tuple((10 * i + k, 500 + k) for k in range(60))),
                )
            )
        drawn(a, 5, "a")  # lines, after the strokes: every echo is in
        boards, sizes = [], []
        for packed in (False, True):
            with RawClient(server.address) as c:
                c.join(f"late{int(packed)}", packed=packed)
                c.recv_until(CatchUp)
                frames = []
                while not (frame := c.recv_frame()).startswith(b'{"t":"caught_up"'):
                    frames.append(frame)
                assert all(f.startswith(b'{"t":"obj"') for f in frames)
                assert all((b'"points":"' in f) == packed for f in frames)  # a string: the packed form
                boards.append([decode_frame(f[: -len(TERMINATOR)]) for f in frames])
                sizes.append(sum(map(len, frames)))
        assert boards[0] == boards[1] and len(boards[0]) == 25
        assert sizes[1] < 0.7 * sizes[0], sizes  # the points alone: about half


def test_reconnect_with_last_seq_receives_only_what_was_missed() -> None:
    with running_server() as server, RawClient(server.address) as b:
        a = RawClient(server.address)
        a.join("alice", room="art", client="alice-secret")
        a.catch_up()
        b.join("bob", room="art")
        b.catch_up()
        mine = drawn(a, 3, "a")
        a.close()
        b.recv_until(UserLeft)
        missed = drawn(b, 5, "b")
        a = RawClient(server.address)
        welcome = a.join("alice", room="art", since=mine[-1].seq, client="alice-secret")
        assert welcome.seq == missed[-1].seq
        head, ops, done = a.catch_up()
        assert head == CatchUp(5, "ops")
        assert ops == missed
        assert done == CaughtUp(missed[-1].seq)
        a.close()


def test_a_resent_operation_is_applied_once_and_acknowledged() -> None:
    with running_server() as server, RawClient(server.address) as b:
        a = RawClient(server.address)
        a.join("alice", client="alice-secret")
        a.catch_up()
        b.join("bob")
        b.catch_up()
        (first,) = drawn(a, 1, "a")
        assert b.recv_until(Add) == first
        a.close()
        a = RawClient(server.address)
        a.join("alice", since=0, client="alice-secret")
        a.catch_up()
        a.send(Add("a-op0", line(a.obj_id("a-0"))))  # the outbox resends what it never saw acknowledged
        assert a.recv_until(Ack) == Ack("a-op0", first.seq)
        a.send(Add("a-op1", line(a.obj_id("a-1"))))
        nxt = b.recv_until(Add)
        assert nxt.oid == "a-op1" and nxt.seq == first.seq + 1  # bob never saw a second a-0
        assert len(server.rooms.get("lobby").board) == 2
        a.close()


def test_a_reconnect_replaces_the_ghost_session_instead_of_taking_the_nick() -> None:
    with running_server() as server, RawClient(server.address) as b:
        ghost = RawClient(server.address)
        ghost.join("Alice", client="alice-secret")
        b.join("bob")
        again = RawClient(server.address)
        welcome = again.join("alice", client="alice-secret")  # same secret: same author, not "taken"
        assert welcome.user == ghost.welcome.user
        assert [u.nick for u in welcome.users] == ["bob", "alice"]
        bye = ghost.wait_closed()
        assert any(isinstance(m, Error) and m.code == "replaced" and m.fatal for m in bye)
        left = b.recv_until(UserLeft)
        assert left.user == welcome.user and left.reason == "reconnected"
        assert b.recv_until(UserJoined) == UserJoined(welcome.user, "alice")
        ghost.close()
        again.close()


def test_a_member_who_says_leave_is_gone_as_left_and_its_connection_closed() -> None:
    with running_server() as server, RawClient(server.address) as b, RawClient(server.address) as a:
        a.join("alice")
        b.join("bob")
        a.send(Leave())  # off to another board: its last frame
        assert not [m for m in a.wait_closed() if isinstance(m, Error)]  # closed by the server, no error
        left = b.recv_until(UserLeft)
        assert (left.nick, left.reason) == ("alice", "left")
        with RawClient(server.address) as stranger:  # before any join: not a member of anything
            stranger.send(Leave())
            assert stranger.recv_until(Error).code == "not_joined"


def test_nickname_rules_and_suggestions() -> None:
    with running_server() as server, RawClient(server.address) as a, RawClient(server.address) as b:
        a.join("Alice")
        for nick, reason in (("   ", "empty"), ("bad nick!", "invalid"), ("x" * 25, "too_long")):
            b.send(Join(nick=nick))
            err = b.recv_until(JoinError)
            assert err.reason == reason and err.detail
        b.send(Join(nick="ALICE"))  # case-insensitively the same name
        err = b.recv_until(JoinError)
        assert err.reason == "taken" and err.suggestion == "ALICE2"
        b.send(Join(nick="alice", room="elsewhere"))  # another room: free
        assert b.recv_until((Welcome, JoinError)) == Welcome(
            b.seen[-1].user, "alice", "elsewhere", (UserInfo(b.seen[-1].user, "alice"),), 0
        )
        c = RawClient(server.address)
        c.send(Join(nick="  Zoë  ", room="bad room"))
        assert c.recv_until(JoinError).reason == "invalid"
        w = c.join("  Zoë  ")  # trimmed; any script
        assert w.nick == "Zoë" and w.room == "lobby"
        c.close()


def test_a_catch_up_larger_than_the_send_queue_bound_is_not_a_slow_reader() -> None:
    limit = 64 * 1024
    with running_server(send_queue_limit=limit, **NO_RATE_LIMITS) as server, RawClient(server.address) as a:
        a.join("alice")
        a.catch_up()
        count = 3000  # about 100 bytes each: 300 KB of catch-up, several times the bound
        for first in range(0, count, 100):
            a.send_bytes(
                b"".join(
                    Codec.send(Add(f"op{i}", line(a.obj_id(f"l{i}"), i % 3000)))
                    for i in range(first, first + 100)
                )
            )
            a.recv_until(lambda m, last=f"op{first + 99}": isinstance(m, Add) and m.oid == last)
        with RawClient(server.address) as late:
            late.join("late")
            head, objs, done = late.catch_up()
            assert head.count == count == len(objs) and done.seq == count
            assert sum(len(Codec.send(m)) for m in objs) > 4 * limit
            a.send(Add("after", line(a.obj_id("after"))))
            assert late.recv_until(Add).seq == count + 1  # still connected, still live


def test_a_join_with_a_seq_from_the_future_gets_the_board() -> None:
    with running_server() as server, RawClient(server.address) as a, RawClient(server.address) as b:
        a.join("alice")
        drawn(a, 2, "a")
        b.join("bob", since=99)  # e.g. the server's store was reset since the client's last visit
        head, objs, done = b.catch_up()
        assert head == CatchUp(2, "board") and [m.obj.id for m in objs] == [a.obj_id("a-0"), a.obj_id("a-1")]
        assert done == CaughtUp(2)


def test_a_full_room_and_a_full_server_refuse_clearly() -> None:
    with running_server(max_room_members=2, max_connections=3) as server:
        a, b, c = (RawClient(server.address) for _ in range(3))
        a.join("a")
        b.join("b")
        c.send(Join(nick="c"))
        err = c.recv_until(JoinError)
        assert err.reason == "room_full" and "2" in err.detail
        assert c.join("c", room="other").room == "other"  # the connection stays usable
        d = RawClient(server.address)
        got = d.wait_closed()
        assert got == [Error("server_full", "too many connections; try later", fatal=True)]
        for cl in (a, b, c, d):
            cl.close()


def test_many_clients_connecting_at_once_all_get_in() -> None:
    count = 150
    # all from one loopback address, far more than a school behind a NAT
    with running_server(max_room_members=count, max_connections_per_address=0) as server:
        clients = [RawClient(server.address) for _ in range(count)]  # all wait in the backlog at once
        try:
            for i, c in enumerate(clients):
                c.send(Join(nick=f"user{i}", room="crowd"))
            welcomes = [c.recv_until((Welcome, JoinError)) for c in clients]
            assert all(isinstance(w, Welcome) for w in welcomes)
            assert len({w.user for w in welcomes}) == count
            assert len(server.rooms.get("crowd").members) == count
        finally:
            for c in clients:
                c.close()


def test_the_board_and_each_authors_undo_history_survive_a_restart(tmp_path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db) as server, RawClient(server.address) as a:
        a.join("alice", room="keep", client="alice-secret")
        a.catch_up()
        first, second = drawn(a, 2, "a")
        a.send(Move("mv", a.obj_id("a-0"), 100, 0))
        a.recv_until(Move)
    with running_server(db) as server, RawClient(server.address) as a, RawClient(server.address) as b:
        b.join("bob", room="keep")
        _, objs, done = b.catch_up()
        assert done.seq == 3 and [m.obj for m in objs] == [
            dataclasses.replace(first.obj, points=((110, 10), (160, 60))),
            second.obj,
        ]
        a.join("alice", room="keep", client="alice-secret", since=done.seq)
        a.catch_up()
        a.send(Undo("u1"))  # undoes the move made before the restart
        undo = b.recv_until(Undo)
        assert undo.target == 3 and undo.put == (first.obj,)
        a.send(Undo("u2"))
        assert b.recv_until(Undo).removed == (a.obj_id("a-1"),)


def test_an_operation_the_store_fails_to_save_is_refused_and_forgotten(tmp_path) -> None:
    with running_server(tmp_path / "b.sqlite3") as server, RawClient(server.address) as a:
        a.join("alice", client="alice-secret")
        a.catch_up()
        (first,) = drawn(a, 1, "a")
        store = server.store
        real = store.append_ops

        def disk_full(room: str, echoes: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        store.append_ops = disk_full  # type: ignore[method-assign]
        a.send(Delete("d1", a.obj_id("a-0")))
        err = a.recv_until(Error)
        assert err.code == "store_failed" and err.oid == "d1" and not err.fatal
        store.append_ops = real  # type: ignore[method-assign]
        a.send(Delete("d1", a.obj_id("a-0")))  # the retry is a new operation, not a duplicate
        echo = a.recv_until(Delete)
        assert echo.seq == first.seq + 1  # no hole in the log
        a.send(Undo("u1"))
        assert a.recv_until(Undo).put == (first.obj,)  # the undo history is intact


def test_joiners_in_both_modes_stay_exact_while_three_others_draw_move_and_undo() -> None:
    with running_server() as server:
        drawers = [RawClient(server.address) for _ in range(3)]
        for n, d in enumerate(drawers):
            d.join(f"drawer{n}", client=f"drawer-{n}")
            d.catch_up()
        drawn(drawers[0], 50, "seed")
        stop = threading.Event()
        errors: list[BaseException] = []

        def draw(n: int, d: RawClient) -> None:
            try:
                i = 0
                while not stop.is_set():
                    d.send(Add(f"{n}-a{i}", line(d.obj_id(f"{n}-{i}"), (i * 7) % 3000)))
                    d.send(Move(f"{n}-m{i}", d.obj_id(f"{n}-{i}"), 1, 1))
                    if i % 3 == 2:
                        d.send(Undo(f"{n}-u{i}"))
                    d.recv_until(lambda m, i=i: isinstance(m, Move) and m.oid == f"{n}-m{i}")
                    i += 1
            except BaseException as exc:  # reported by the test below
                errors.append(exc)

        threads = [threading.Thread(target=draw, args=(n, d)) for n, d in enumerate(drawers)]
        for t in threads:
            t.start()
        joiners = []
        try:
            for k in range(4):
                c = RawClient(server.address)
                since = None if k % 2 == 0 else 25  # board mode, then ops mode from seq 25
                c.join(f"late{k}", since=since)
                joiners.append((c, since, c.catch_up()))
        finally:
            stop.set()
            for t in threads:
                t.join(WAIT)
        assert not errors
        for d in drawers:  # a round trip: the server has handled everything each drawer sent
            d.send(Ping(1))
            d.recv_until(Pong)
        truth = server.rooms.get("lobby").board
        for c, since, (head, frames, done) in joiners:
            board = Board()
            if since is None:
                board.load([m.obj for m in frames], done.seq)
            else:
                assert head.mode == "ops" and [m.seq for m in frames] == list(range(since + 1, done.seq + 1))
                seed = RawClient(server.address)  # the state at `since`, from a log replay
                seed.join("seed-reader", since=0)
                _, log, _ = seed.catch_up()
                seed.close()
                for m in log[:since]:
                    board.apply_echo(m)
                for m in frames:
                    board.apply_echo(m)
            live = c.recv_all_until(lambda m: getattr(m, "seq", 0) == truth.seq and hasattr(m, "oid"))
            ops = [m for m in live if hasattr(m, "oid") and hasattr(m, "seq")]
            assert [m.seq for m in ops] == list(range(done.seq + 1, truth.seq + 1))
            for m in ops:
                board.apply_echo(m)
            assert board.snapshot() == truth.snapshot()
            c.close()
        for d in drawers:
            d.close()
