"""The ``history`` request (issue 14, the time-lapse) against a real server and its SQLite file: pages
of the log, typed errors for bad ranges, pacing like joins, and a compacted log's answer (its base
board, then the operations after it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import WAIT, RawClient, running_server

from pgboard.board import Board
from pgboard.protocol import Add, BoardObject, Delete, Message, Ping, Pong
from pgboard.protocol_history import (
    History,
    HistoryEnd,
    HistoryError,
    HistoryObj,
    HistoryOp,
    HistoryPage,
)


def draw(c: RawClient, n: int, start: int = 0) -> None:
    """``n`` two-point lines, each echoed before the next is sent (so every one is logged)."""
    for i in range(start, start + n):
        c.send(Add(f"o{i}", BoardObject(c.obj_id(f"s{i}"), "line", ((i % 3000, 10), (i % 3000, 40)))))
        c.recv_until(lambda m, i=i: isinstance(m, Add) and m.oid == f"o{i}")


def sync(c: RawClient) -> None:
    """The server's reader handled everything sent before, and what it does after an input."""
    for n in (7, 8):
        c.send(Ping(n))
        c.recv_until(lambda m, n=n: isinstance(m, Pong) and m.n == n, WAIT * 4)


def page(c: RawClient, start: int, limit: int = 5000) -> tuple[HistoryPage, list[Message], HistoryEnd]:
    c.send(History(start=start, limit=limit))
    head = c.recv_until((HistoryPage, HistoryError))
    assert isinstance(head, HistoryPage), head
    frames = c.recv_all_until(HistoryEnd)
    end = frames.pop()
    assert isinstance(end, HistoryEnd)
    return head, frames, end


def test_history_pages_replay_the_log_in_order_and_say_where_they_end() -> None:
    with running_server() as server, RawClient(server.address) as c:
        c.join("a")
        c.catch_up()
        draw(c, 12)
        c.send(Delete("d1", c.obj_id("s3")))
        c.recv_until(lambda m: isinstance(m, Delete))
        head, frames, end = page(c, 0, limit=5)
        assert (head.start, head.base, head.head, end.end) == (1, 0, 13, 5)
        assert [m.op.seq for m in frames if isinstance(m, HistoryOp)] == [1, 2, 3, 4, 5]
        head, frames2, end = page(c, 6)
        assert (head.start, end.end) == (6, 13)
        ops = [m.op for m in frames + frames2 if isinstance(m, HistoryOp)]
        board = Board()
        for op in ops:
            board.apply_echo(op)
        assert set(board.objects) == set(server.rooms.all()[0].board.objects)
        assert isinstance(ops[-1], Delete)
        head, frames, end = page(c, 14)  # the next seq: nothing yet, not an error
        assert frames == [] and end.end == 13


def test_history_refuses_a_start_after_the_next_seq_and_a_limit_over_the_page() -> None:
    with running_server() as server, RawClient(server.address) as c:
        c.join("a")
        c.catch_up()
        draw(c, 3)
        c.send(History(start=99))
        err = c.recv_until(HistoryError)
        assert isinstance(err, HistoryError) and err.code == "bad_range" and "4" in err.detail
        c.send_bytes(b'{"t":"history","start":1,"limit":5001}\xc3\x98')
        bad = c.recv_until(lambda m: getattr(m, "code", "") == "bad_field")
        assert "limit" in bad.detail  # type: ignore[attr-defined]
        sync(c)  # still connected, still served
        _, frames, _ = page(c, 1)
        assert len(frames) == 3


def test_history_before_joining_is_refused() -> None:
    with running_server() as server, RawClient(server.address) as c:
        c.send(History(start=0))
        err = c.recv_until(lambda m: getattr(m, "code", "") == "not_joined")
        assert err is not None


@pytest.mark.reliability
def test_history_pages_are_paced_like_joins() -> None:
    with running_server(join_rate=1.0, join_burst=2) as server, RawClient(server.address) as c:
        c.join("a")  # takes one join token
        c.catch_up()
        draw(c, 2)
        page(c, 1)  # the second token
        c.send(History(start=1))
        err = c.recv_until((HistoryPage, HistoryError))
        assert isinstance(err, HistoryError) and err.code == "rate_limited" and err.retry > 0


def test_a_compacted_log_answers_with_its_base_board_then_the_operations_after_it(tmp_path: Path) -> None:
    knobs = {"compact_min_bytes": 300, "compact_factor": 1.0}  # compact once the log passes 300 bytes
    with running_server(tmp_path / "b.sqlite3", **knobs) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        for i in range(6):
            draw(c, 1, start=i)
            sync(c)  # each input may compact
        room = server.rooms.all()[0]
        floor = room.compaction.floor
        assert floor > 0, "no compaction"
        head, frames, end = page(c, 0)
        objs = [m.obj for m in frames if isinstance(m, HistoryObj)]
        ops = [m.op for m in frames if isinstance(m, HistoryOp)]
        assert head.base >= floor and head.start == head.base + 1 and end.end == room.board.seq
        assert len(objs) == head.base  # one line per logged add up to the base
        assert [op.seq for op in ops] == list(range(head.base + 1, end.end + 1))
        board = Board()
        board.load(objs, head.base)
        for op in ops:
            board.apply_echo(op)
        assert set(board.objects) == set(room.board.objects)
        # a start inside the deleted log gets the base again (it can replay from there only)
        head2, frames2, _ = page(c, 1)
        assert head2.base == head.base and len(frames2) == len(frames)
