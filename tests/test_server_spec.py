"""Places where docs/PROTOCOL.md left a second implementer guessing (issue 11, point 11), each checked
against a real server: what it says now is what the server does."""

from __future__ import annotations

from pathlib import Path

import pytest
from pgboard_server.limits import NO_RATE_LIMITS, TIMEOUT
from support import FakeClock, RawClient, ServerProcess, running_server

from pgboard import ids
from pgboard.clearing import MAX_CLEAR_ID_BYTES, fewest_per_clear
from pgboard.protocol import (
    MAX_DEPTH,
    MAX_FRAME,
    MAX_ID,
    TERMINATOR,
    Add,
    BoardObject,
    CatchUp,
    Clear,
    Error,
    Extend,
    Move,
    Ping,
    Pong,
    Say,
    Undo,
    decode_frame,
    encode,
)


def long_id(secret: str, n: int) -> str:
    """An id of MAX_ID characters in ``secret``'s scope."""
    prefix = ids.scoped(ids.device_id(secret), "")
    return prefix + f"{n:0{MAX_ID - len(prefix)}d}"


@pytest.mark.reliability
def test_a_board_of_4000_objects_with_the_longest_ids_can_be_cleared() -> None:
    """Their ids take ~268 KB in a clear's echo, over MAX_FRAME: main refused every clear too_large,
    so the board could never be cleared. Now each clear removes what one echo lists, bottom first."""
    count = 4000  # the issue saw ~3,900 refused
    with running_server(**NO_RATE_LIMITS) as server, RawClient(server.address) as a:
        a.join("alice", client="a-secret")
        a.catch_up()
        adds = [
            Add(f"o{i}", BoardObject(long_id("a-secret", i), "line", ((1, 1), (2, 2)))) for i in range(count)
        ]
        a.send_bytes(b"".join(encode(m) for m in adds))
        a.recv_until(lambda m: isinstance(m, (Add, Error)) and m.oid == f"o{count - 1}")
        assert (count * (MAX_ID + 3)) > MAX_FRAME  # the ids alone would not fit one frame
        cleared: list[str] = []
        for n in range(2):
            a.send(Clear(f"c{n}"))
            frame = a.recv_frame()
            echo = decode_frame(frame[: -len(TERMINATOR)])
            assert isinstance(echo, Clear), echo  # accepted, not too_large
            assert len(frame) - len(TERMINATOR) <= MAX_FRAME
            cleared += echo.removed
        assert len(cleared) - len(echo.removed) >= fewest_per_clear()  # the first took what fits
        assert cleared == [m.obj.id for m in adds]  # bottom first, each once, all of them in two
        assert len(server.rooms.get("lobby").board) == 0
        assert MAX_CLEAR_ID_BYTES < MAX_FRAME
        a.send(Ping(1))
        assert a.recv_until(Pong) == Pong(1)


def test_refusals_of_chat_commands_carry_no_oid() -> None:
    """not_allowed and too_large answer commands too (no operation: no oid), as the doc says now."""
    with (
        running_server(**NO_RATE_LIMITS) as server,
        RawClient(server.address) as a,
        RawClient(server.address) as b,
    ):
        a.join("alice", client="a-secret")
        a.catch_up()
        b.join("bob", client="b-secret")
        b.catch_up()
        count = 4000  # ids of MAX_ID characters: a purge's echo would not fit one frame
        adds = [
            Add(f"o{i}", BoardObject(long_id("b-secret", i), "line", ((1, 1), (2, 2)))) for i in range(count)
        ]
        b.send_bytes(b"".join(encode(m) for m in adds))
        b.recv_until(lambda m: isinstance(m, (Add, Error)) and m.oid == f"o{count - 1}")
        for line, code in (("/deop alice", "not_allowed"), ("/purge bob", "too_large")):
            a.send(Say(line))
            err = a.recv_until(Error)
            assert (err.code, err.oid, err.fatal) == (code, "", False), err
        assert len(server.rooms.get("lobby").board) == count  # the refused purge changed nothing


def test_since_zero_is_every_logged_echo_from_seq_1_until_the_log_is_compacted() -> None:
    """``since: 0`` means "I applied nothing": an ops catch-up of the whole log (every extend and
    undone step, as sent), not the compacted board that ``since: null`` gets."""
    with running_server() as server, RawClient(server.address) as a:
        a.join("alice", client="a-secret")
        a.catch_up()
        stroke = BoardObject(a.obj_id("s"), "pencil", ((1, 1),))
        for op in (Add("o1", stroke), Extend("o2", stroke.id, ((2, 2),)), Undo("o3")):
            a.send(op)
            a.recv_until(lambda m, op=op: getattr(m, "oid", None) == op.oid)
        with RawClient(server.address) as zero, RawClient(server.address) as null:
            zero.join("zero", since=0)
            head, frames, done = zero.catch_up()
            assert head == CatchUp(3, "ops") and [m.oid for m in frames] == ["o1", "o2", "o3"]  # type: ignore[attr-defined]
            null.join("null")
            head, frames, done = null.catch_up()
            assert head == CatchUp(0, "board") and frames == [] and done.seq == 3


def test_the_undo_of_a_drag_names_the_seq_of_its_first_move() -> None:
    with running_server() as server, RawClient(server.address) as a:
        a.join("alice", client="a-secret")
        a.catch_up()
        obj = BoardObject(a.obj_id("r"), "rect", ((10, 10), (20, 20)))
        drag = [Add("o1", obj), Move("m1", obj.id, 1, 1, live=True), Move("m2", obj.id, 2, 2, live=True)]
        drag += [Move("m3", obj.id, 3, 3)]  # live: false ends the drag
        seqs = {}
        for op in drag:
            a.send(op)
            seqs[op.oid] = a.recv_until(lambda m, op=op: getattr(m, "oid", None) == op.oid).seq  # type: ignore[attr-defined]
        a.send(Undo("u1"))
        undo = a.recv_until(Undo)
        assert undo.target == seqs["m1"]  # type: ignore[attr-defined]
        assert undo.put[0].points == obj.points  # type: ignore[attr-defined]  # the whole drag, one step


def test_a_silent_peer_is_dropped_at_the_first_check_after_timeout_not_a_rounded_second() -> None:
    """The heartbeat checks every HEARTBEAT_TICK: the drop comes at the first check past TIMEOUT
    (here a check 0.25 s past it), between TIMEOUT and TIMEOUT + HEARTBEAT_TICK after the last frame."""
    clock = FakeClock()
    with running_server(clock=clock, heartbeat_tick=3600.0) as server, RawClient(server.address) as b:
        b.join("silent")
        b.catch_up()
        clock.advance(TIMEOUT)  # silent exactly TIMEOUT: not yet
        server.heartbeat()
        clock.advance(0.25)
        server.heartbeat()
        got = b.wait_closed()
        assert isinstance(got[-1], Error) and got[-1].code == "timeout"


def test_the_heartbeat_tick_is_a_pgboard_server_option(tmp_path: Path) -> None:
    """--heartbeat-tick (documented with HEARTBEAT_TICK) sets the precision of pings and drops."""
    args = ("--ping-interval", "0.05", "--timeout", "0.3", "--heartbeat-tick", "0.02")
    with ServerProcess(tmp_path / "t.sqlite3", *args) as server, RawClient(server.address) as b:
        b.join("silent")
        got = b.wait_closed()
        assert isinstance(got[-1], Error) and got[-1].code == "timeout"


@pytest.mark.reliability
def test_nesting_up_to_max_depth_is_accepted_and_far_deeper_is_bad_frame() -> None:
    with running_server() as server, RawClient(server.address) as a:
        a.join("alice")
        a.catch_up()
        deep = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # an unknown field: ignored
        a.send_bytes(f'{{"t":"ping","n":5,"later":{deep}}}'.encode() + TERMINATOR)
        assert a.recv_until(Pong) == Pong(5)
        far = 100_000
        a.send_bytes(b'{"t":"ping","n":6,"later":' + b"[" * far + b"]" * far + b"}" + TERMINATOR)
        err = a.recv_until(Error)
        assert err.code == "bad_frame" and not err.fatal
        a.send(Ping(7))
        assert a.recv_until(Pong) == Pong(7)


def test_an_undo_too_large_to_echo_is_refused_with_its_oid_and_changes_nothing() -> None:
    """too_large refusing an operation names it (point 2 of issue 11): its sender drops that one."""
    with running_server(**NO_RATE_LIMITS) as server, RawClient(server.address) as a:
        a.join("alice", client="a-secret")
        a.catch_up()
        big = tuple(((x * 13) % 3200, (x * 7) % 1800) for x in range(5000))
        for i in range(6):  # ~360 KB of points: their undo's put cannot fit one frame
            a.send(Add(f"s{i}", BoardObject(a.obj_id(f"s{i}"), "pencil", big)))
            a.recv_until(lambda m, i=i: getattr(m, "oid", None) == f"s{i}")
        a.send(Clear("c"))
        seq = a.recv_until(Clear).seq  # type: ignore[attr-defined]
        a.send(Undo("u"))
        err = a.recv_until(Error)
        assert (err.code, err.oid, err.fatal) == ("too_large", "u", False)
        board = server.rooms.get("lobby").board
        assert board.seq == seq and len(board) == 0
