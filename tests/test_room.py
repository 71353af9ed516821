"""The room view (pgboard/room.py) over a real Connection and a scripted server (test_net's HandServer):
what the user's own board shows when the server's messages come in an awkward order."""

from __future__ import annotations

import dataclasses
import gc

from support import passed_on
from test_net import Client, HandServer, hand, handshake, line, rejoin, welcome_frames  # noqa: F401 - fixture

from pgboard.catchup_gc import CATCHUP_THRESHOLD, NO_FULL_COLLECTION
from pgboard.protocol import (
    MAX_POINTS,
    Add,
    BoardObject,
    CatchUp,
    CaughtUp,
    Extend,
    Move,
    Obj,
    UserInfo,
    Welcome,
)
from pgboard.room import LIVE_BUDGET, MESSAGE_WORK, RoomView

DRAWN_MEANWHILE = 257  # moves drawn while a burst waits (more than the old view's LOCAL_SLACK sweep)


def test_my_operation_confirmed_right_behind_a_board_catch_up_stays_on_my_board(hand: HandServer) -> None:  # noqa: F811
    c = Client(hand.port)
    conn = c.conn
    view = RoomView(conn)
    handshake(hand, c)
    hand.send(*welcome_frames(user="u1"))
    c.pump_until(lambda: conn.state == "online")
    view.apply_incoming()
    mine = Add(view.new_oid(), line("mine", 30))
    view.submit(mine)
    assert view.board.get("mine") is not None, "drawn at once"
    c.pump_until(hand.readable)
    assert hand.recv() == mine
    rejoin(hand, c)  # the link drops before the echo; the operation reached the server all the same
    echo = Add(mine.oid, dataclasses.replace(mine.obj, author="u1"), seq=3, author="u1")
    hand.send(  # a compacted board from before it, and its echo in the same breath
        Welcome("u1", "alice", "lobby", (UserInfo("u1", "alice"),), 3),
        CatchUp(2, "board"),
        Obj(line("a")),
        Obj(line("b")),
        CaughtUp(2),
        echo,
    )
    c.pump_until(lambda: conn.state == "online" and not conn.pending_ops)  # the pump read it all at once
    view.apply_incoming()
    assert sorted(view.board.objects) == ["a", "b", "mine"]
    c.close()


def test_the_collector_waits_longer_while_a_board_comes_in_and_is_itself_again_after(
    hand: HandServer,  # noqa: F811
) -> None:
    c = Client(hand.port)
    conn = c.conn
    view = RoomView(conn)
    handshake(hand, c)
    normal = gc.get_threshold()
    hand.send(
        Welcome("u1", "alice", "lobby", (UserInfo("u1", "alice"),), 2), CatchUp(2, "board"), Obj(line("a"))
    )
    c.pump_until(lambda: len(passed_on(conn)) >= 3)
    view.apply_incoming()
    young, _, full = gc.get_threshold()
    assert young >= CATCHUP_THRESHOLD  # a big board's points do not make it run all along
    assert full == NO_FULL_COLLECTION  # nor walk the whole heap in one frame
    frozen = gc.get_freeze_count()
    hand.send(Obj(line("b")), CaughtUp(2))
    c.pump_until(lambda: conn.state == "online")
    view.apply_incoming()
    assert sorted(view.board.objects) == ["a", "b"]
    assert gc.get_threshold() == normal
    assert gc.get_freeze_count() > frozen  # the board is in: no full collection walks it again
    c.close()


def big(oid: str, k: int = 0) -> BoardObject:
    return BoardObject(
        oid, "pencil", tuple((10 + i % 300, 10 + k + i % 7) for i in range(MAX_POINTS)), "#000000", 3
    )


def test_a_burst_is_applied_over_frames_and_my_echoes_behind_it_are_applied_once(hand: HandServer) -> None:  # noqa: F811
    c = Client(hand.port)
    conn = c.conn
    view = RoomView(conn)
    handshake(hand, c)
    hand.send(*welcome_frames(user="u1"))
    c.pump_until(lambda: conn.state == "online")
    view.apply_incoming(LIVE_BUDGET)
    stroke = Add(view.new_oid(), BoardObject("mine", "pencil", ((5, 5), (6, 6)), "#ff0000", 3))
    grown = Extend(view.new_oid(), "mine", ((9, 9), (12, 9)))
    view.submit(stroke)
    view.submit(grown)
    burst = [
        Add(f"g{k}", dataclasses.replace(big(f"g{k}", k), author="u2"), seq=3 + k, author="u2")
        for k in range(6)
    ]
    mine = [dataclasses.replace(m, author="u1", seq=9 + i) for i, m in enumerate((stroke, grown))]
    mine[0] = dataclasses.replace(mine[0], obj=dataclasses.replace(stroke.obj, author="u1"))
    hand.send(*burst, *mine)  # six huge strokes, then the echoes of mine, in one breath
    c.pump_until(lambda: not conn.pending_ops)  # the pump read it all: mine are confirmed
    for _ in range(DRAWN_MEANWHILE):  # the user keeps drawing meanwhile (the old _local sweep's size)
        view.submit(Move(view.new_oid(), "mine", 1, 0))
    frames = []
    while view.waiting:
        before = view.stats["work"]
        view.apply_incoming(LIVE_BUDGET)
        frames.append(view.stats["work"] - before)
    assert len(frames) >= 6 * MAX_POINTS // LIVE_BUDGET  # a frame applied at most about LIVE_BUDGET
    assert max(frames) <= LIVE_BUDGET + MESSAGE_WORK + MAX_POINTS
    moved = DRAWN_MEANWHILE
    want = tuple((x + moved, y) for x, y in stroke.obj.points + grown.points)
    assert view.board.get("mine").points == want, (
        "my add and extend, applied here once: not again at their echo"
    )
    assert list(view.board.objects)[-1] == "mine", "on the server mine came after the burst: it is on top"
    c.close()
