"""Abuse and resource limits against a real server: rate limits per connection and per address (time
is a FakeClock, advanced instead of waited for), refusals that end in a disconnect, connections per
address, rooms per server, objects per room, points per stroke, text length."""

from __future__ import annotations

import dataclasses
import time

import pytest
import reliability
from pgboard_server import cli
from pgboard_server.limits import NO_RATE_LIMITS, Limits
from support import FakeClock, RawClient, running_server

from pgboard.protocol import (
    MAX_POINTS,
    MAX_TEXT,
    Add,
    Batch,
    BoardObject,
    Chat,
    Clear,
    Codec,
    Cursor,
    Error,
    Extend,
    Hello,
    Join,
    JoinError,
    Message,
    Ping,
    Pong,
    Say,
    UserLeft,
    Welcome,
)


def line(oid: str, x: int = 10) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


def adds(c: RawClient, first: int, count: int, prefix: str = "o") -> bytes:
    """``count`` adds of ``c``'s in one write: they reach the server in one chunk, at one instant of its
    clock."""
    return b"".join(
        Codec.send(Add(f"{prefix}{i}", line(c.obj_id(f"{prefix}{i}"), i)))
        for i in range(first, first + count)
    )


def replies_until_pong(c: RawClient, n: int = 99) -> list[Message]:
    """What arrives before the answer to a ping sent now: everything the server sent before it."""
    c.send(Ping(n))
    return [
        m for m in c.recv_all_until(lambda m: isinstance(m, Pong) and m.n == n) if not isinstance(m, Pong)
    ]


def joined(server, nick: str, room: str = "r") -> RawClient:
    c = RawClient(server.address)
    c.join(nick, room=room)
    c.catch_up()
    return c


def row(case: str, outcome: str, tried: int, started: float) -> None:
    """This test's report row: ``tried`` is what it sent past (or up to) the limit. No memory figure:
    the server runs in the test process, whose peak RSS is that of earlier tests too."""
    reliability.record(
        reliability.Finding(
            area="abuse",
            case=case,
            outcome=outcome,
            tried=tried,
            seconds=time.monotonic() - started,
        )
    )


@pytest.mark.reliability
def test_drawing_faster_than_the_burst_is_refused_with_a_retry_then_accepted_after_it() -> None:
    started = time.monotonic()
    clock = FakeClock()
    with (
        running_server(clock=clock, op_rate=10, op_burst=5, rate_retry=0.5) as server,
        joined(server, "alice") as a,
        joined(server, "bob") as b,
    ):
        a.send_bytes(adds(a, 0, 8))
        got = replies_until_pong(a)
        echoed = [m.oid for m in got if isinstance(m, Add)]
        refused = [m for m in got if isinstance(m, Error)]
        assert echoed == ["o0", "o1", "o2", "o3", "o4"]
        assert [e.oid for e in refused] == ["o5", "o6", "o7"]  # each refusal names its operation
        assert all(e.code == "rate_limited" and not e.fatal and e.retry == 0.5 for e in refused)
        assert "retry in 0.5 s" in refused[0].detail
        # bob saw only what was accepted
        assert [m.oid for m in replies_until_pong(b) if isinstance(m, Add)] == echoed
        clock.advance(0.25)  # still held back: even an operation sent now is refused, for what is left
        a.send_bytes(adds(a, 5, 1))
        (again,) = replies_until_pong(a)
        assert isinstance(again, Error) and again.oid == "o5" and again.retry == 0.25
        clock.advance(0.25)  # the retry is over: the refused operations go through, in order
        a.send_bytes(adds(a, 5, 3))
        assert [m.oid for m in replies_until_pong(a) if isinstance(m, Add)] == ["o5", "o6", "o7"]
    row(
        "drawing operations past the burst (--op-burst 5)",
        "each refused with rate_limited, its oid and a retry; the others saw only what was accepted; "
        "resent after the retry, accepted in order",
        12,
        started,
    )


@pytest.mark.reliability
def test_a_batch_costs_by_the_objects_it_lists_so_a_peer_cannot_flood_the_room_with_repaints() -> None:
    """1,400 thick strokes replaced by one batch 8 times a second held every client near 6 frames a
    second (each repaints the whole board). A batch now costs a token per OBJECTS_PER_OP objects."""
    started = time.monotonic()
    clock = FakeClock()
    with running_server(clock=clock) as server, joined(server, "mallory") as m, joined(server, "vic") as v:
        strokes = [line(m.obj_id(f"s{i}"), i % 3000) for i in range(1400)]
        m.send(Batch("b0", put=tuple(strokes)))  # 1 + 140 tokens of the 400 a burst holds
        m.recv_until(lambda msg: isinstance(msg, Batch) and msg.oid == "b0")
        ids = tuple(o.id for o in strokes)
        moved = tuple(dataclasses.replace(o, points=((o.points[0][0], 30), o.points[1])) for o in strokes)
        for k in range(1, 4):  # the same 1,400 replaced, at once: 1 + 280 tokens each, 259 left
            m.send(Batch(f"b{k}", removed=ids, put=moved))
        got = replies_until_pong(m)
        assert not [x for x in got if isinstance(x, Batch)]
        refused = [x for x in got if isinstance(x, Error)]
        assert [(e.oid, e.code) for e in refused] == [(f"b{k}", "rate_limited") for k in (1, 2, 3)]
        clock.advance(0.5)  # the retry over, 100 tokens more: one replacement passes, the next waits
        m.send(Batch("b1", removed=ids, put=moved))
        m.send(Batch("b2", removed=ids, put=strokes))
        got = replies_until_pong(m)
        assert [x.oid for x in got if isinstance(x, Batch)] == ["b1"]
        assert [x.oid for x in got if isinstance(x, Error)] == ["b2"]
        assert [x.oid for x in replies_until_pong(v) if isinstance(x, Batch)] == ["b0", "b1"]
        clock.advance(2.0)  # a full burst again: a clear of more objects than a burst's worth passes
        m.send(Clear("c1", removed=ids))
        assert [x.oid for x in replies_until_pong(m) if isinstance(x, (Clear, Error))] == ["c1"]
    row(
        "batches of 2,800 objects back to back (default limits)",
        "one passes per ~1.4 s (a token per 10 objects listed); the others are refused rate_limited, "
        "and the room repaints only what passed; a clear larger than the burst still passes",
        6,
        started,
    )


@pytest.mark.reliability
def test_chat_lines_past_the_limit_are_refused_and_nobody_else_sees_them() -> None:
    started = time.monotonic()
    clock = FakeClock()
    with (
        running_server(clock=clock, chat_rate=1, chat_burst=2) as server,
        joined(server, "alice") as a,
        joined(server, "bob") as b,
    ):
        for i in range(3):
            a.send(Say(f"line {i}"))
        errors = [m for m in replies_until_pong(a) if isinstance(m, Error)]
        assert [(e.code, e.oid, e.retry) for e in errors] == [("rate_limited", "", 1.0)]
        assert [m.text for m in replies_until_pong(b) if isinstance(m, Chat)] == ["line 0", "line 1"]
        clock.advance(1.0)
        a.send(Say("line 3"))
        assert b.recv_until(Chat).text == "line 3"
    row(
        "chat lines past the burst (--chat-burst 2)",
        "refused with rate_limited and a retry; nobody else saw them; accepted again after the retry",
        4,
        started,
    )


@pytest.mark.reliability
def test_a_cursor_flood_is_dropped_quietly() -> None:
    started = time.monotonic()
    with (
        running_server(clock=FakeClock(), cursor_rate=10, cursor_burst=3) as server,
        joined(server, "alice") as a,
        joined(server, "bob") as b,
    ):
        a.send_bytes(b"".join(Codec.send(Cursor(i, i)) for i in range(50)))
        assert not any(isinstance(m, Error) for m in replies_until_pong(a))  # cursors are ephemeral
        a.send(Say("done"))
        got = b.recv_all_until(Chat)
        assert [m.x for m in got if isinstance(m, Cursor)] == [0, 1, 2]
    row(
        "cursor positions past the burst (--cursor-burst 3)",
        "dropped without a word: the others got the burst's 3, the sender no error",
        50,
        started,
    )


def test_connections_from_one_address_share_its_buckets() -> None:
    with (
        running_server(clock=FakeClock(), op_burst=100, address_op_burst=4) as server,
        joined(server, "alice") as a,
        joined(server, "alice2") as a2,
    ):
        a.send_bytes(adds(a, 0, 3, "a"))
        assert sum(isinstance(m, Add) for m in replies_until_pong(a)) == 3
        a2.send_bytes(adds(a2, 0, 3, "b"))
        got = replies_until_pong(a2)
        assert [m.oid for m in got if isinstance(m, Add) and m.author == a2.welcome.user] == ["b0"]
        assert [m.oid for m in got if isinstance(m, Error)] == ["b1", "b2"]


@pytest.mark.reliability
def test_a_client_that_keeps_sending_while_refused_is_disconnected_and_the_room_told() -> None:
    started = time.monotonic()
    with (
        running_server(clock=FakeClock(), op_burst=2, abuse_refusals=20, close_linger=0.05) as server,
        joined(server, "spammer") as a,
        joined(server, "bob") as b,
    ):
        a.send_bytes(adds(a, 0, 100))
        got = a.wait_closed()
        errors = [m for m in got if isinstance(m, Error)]
        assert sum(e.code == "rate_limited" for e in errors) == 19
        assert errors[-1].code == "flooding" and errors[-1].fatal
        left = b.recv_until(UserLeft)
        assert (left.nick, left.reason) == ("spammer", "flooding")
        assert replies_until_pong(b) == []  # bob is fine
    row(
        "operations sent on while refused (--abuse-refusals 20)",
        "19 rate_limited, then error flooding (fatal) and the close; the room told 'flooding', the "
        "others go on",
        100,
        started,
    )


@pytest.mark.reliability
def test_input_bytes_past_the_limit_get_a_retry_and_nothing_is_lost() -> None:
    started = time.monotonic()
    # 1 MB/s with 2 KB of burst: the 30 KB below put the connection in debt; the reader pauses (real
    # time, at most the debt: 2 ms here) and says so, and every ping is still answered
    with (
        running_server(clock=FakeClock(), input_rate=1_000_000, input_burst=2000) as server,
        joined(server, "alice") as a,
    ):
        a.send_bytes(b"".join(Codec.send(Ping(i)) for i in range(1, 2001)))
        got = a.recv_all_until(lambda m: isinstance(m, Pong) and m.n == 2000)
        got += replies_until_pong(a, 5000)  # the error follows the chunk it is about
        assert [m.n for m in got if isinstance(m, Pong)] == list(range(1, 2001))
        errors = [m for m in got if isinstance(m, Error)]
        assert errors and all(e.code == "rate_limited" and 0 < e.retry <= 0.01 for e in errors)
        assert "bytes a second" in errors[0].detail
    row(
        "input bytes past the burst (2,000 pings, about 30 KB, at --input-burst 2000)",
        "the reader pauses for the debt and says so (rate_limited with a retry); every ping answered, "
        "in order: nothing lost",
        2001,
        started,
    )


@pytest.mark.reliability
def test_connections_per_address_past_the_cap_are_refused_politely() -> None:
    started = time.monotonic()
    with (
        running_server(max_connections_per_address=2) as server,
        joined(server, "a") as a,
        joined(server, "b") as b,
    ):
        with RawClient(server.address) as third:
            got = third.wait_closed()
            assert got == [
                Error("too_many_connections", "at most 2 connections from one address", fatal=True)
            ]
        a.send(Add("x", line(a.obj_id("x"))))
        assert b.recv_until(Add).oid == "x"  # the address's connections are untouched
        (session,) = [s for s in server.sessions if s.nick == "a"]
        a.close()
        session.reader.join(5.0)  # its connection is gone once its reader has ended
        assert server.addresses.connections("127.0.0.1") == 1
        with RawClient(server.address) as later:  # a place was freed: welcome again
            assert isinstance(later.recv(), Hello)
    row(
        "connections from one address past the cap (--max-connections-per-address 2)",
        "error too_many_connections (fatal) instead of hello, then the close; the address's other "
        "connections untouched; a freed place welcomes again",
        4,
        started,
    )


def test_a_join_that_would_create_a_room_past_the_cap_is_refused() -> None:
    with (
        running_server(max_rooms=2) as server,
        RawClient(server.address) as c,
        joined(server, "a", room="one"),
        joined(server, "b", room="two"),  # both rooms in use: neither can be put away
    ):
        c.send(Join("c", "three"))
        err = c.recv_until((Welcome, JoinError))
        assert isinstance(err, JoinError) and err.reason == "too_many_rooms" and "2 rooms" in err.detail
        assert isinstance(c.join("c", room="ONE"), Welcome)  # existing rooms still take joiners


def test_a_board_past_its_object_cap_refuses_adds() -> None:
    with running_server(max_objects=3) as server, joined(server, "alice") as a:
        a.send_bytes(adds(a, 0, 4))
        got = replies_until_pong(a)
        assert [m.oid for m in got if isinstance(m, Add)] == ["o0", "o1", "o2"]
        (err,) = [m for m in got if isinstance(m, Error)]
        assert (err.code, err.oid) == ("board_full", "o3") and "3 objects" in err.detail


def test_a_stroke_past_max_points_and_an_over_long_text_are_refused() -> None:
    with running_server() as server, joined(server, "alice") as a:
        points = tuple((i % 3000, 10) for i in range(MAX_POINTS))
        a.send(Add("p", BoardObject(a.obj_id("s"), "pencil", points)))
        a.send(Extend("e", a.obj_id("s"), ((1, 1),)))
        got = replies_until_pong(a)
        (err,) = [m for m in got if isinstance(m, Error)]
        assert (err.code, err.oid) == ("too_many_points", "e")
        text = b'{"t":"add","oid":"t","obj":{"id":"t","kind":"text","points":[[1,1]],"text":"%s"}}' % (
            b"x" * (MAX_TEXT + 1)
        )
        a.send_bytes(text + "Ø".encode())
        (err,) = replies_until_pong(a)
        assert isinstance(err, Error) and err.code == "bad_field" and "text" in err.detail


def test_the_command_line_sets_every_abuse_limit_and_can_turn_rates_off() -> None:
    args = cli.parser().parse_args(
        ["--op-rate", "50", "--max-rooms", "7", "--max-connections-per-address", "3"]
    )
    chosen = cli.abuse_limits(args)
    assert (chosen["op_rate"], chosen["max_rooms"], chosen["max_connections_per_address"]) == (50, 7, 3)
    assert Limits(**chosen).chat_rate == Limits().chat_rate
    off = cli.abuse_limits(cli.parser().parse_args(["--no-rate-limits"]))
    assert all(off[name] == value for name, value in NO_RATE_LIMITS.items())
    assert {name for name in Limits.names() if name.endswith(("_rate", "_burst"))} <= set(chosen)
