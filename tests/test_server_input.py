"""Bad input through a real server: each case gets a clear error and nobody else is harmed."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import reliability
from pgboard_server.server import BoardServer
from support import RawClient, running_server

from pgboard.protocol import (
    MAX_FRAME,
    Add,
    BoardObject,
    Cursor,
    Delete,
    Error,
    Extend,
    Hello,
    Join,
    Message,
    Move,
    Ping,
    Pong,
    Say,
    UserLeft,
    Welcome,
)


@contextlib.contextmanager
def pair() -> Iterator[tuple[BoardServer, RawClient, RawClient]]:
    """A server with alice and bob joined; bob is the bystander who must not notice anything. Bob
    joins first, so he is the room's operator and alice's rights are a plain member's."""
    with running_server() as server, RawClient(server.address) as a, RawClient(server.address) as b:
        b.join("bob")
        b.catch_up()
        a.join("alice")
        a.catch_up()
        yield server, a, b


@pytest.fixture(scope="module")
def malformed_row() -> Iterator[list[int]]:
    """One report row for every malformed-frame case this run tried (written when the module ends). No
    memory figure here: the server runs in the test process, whose peak RSS is that of earlier tests too."""
    tried, started = [0], time.monotonic()
    yield tried
    if tried[0]:
        reliability.record(
            reliability.Finding(
                area="bad input",
                case="malformed frames to a live server (not JSON, not an object, raw UTF-8, unknown "
                "type, bad fields)",
                outcome="error with the right code and a detail, not fatal; the sender and the room go on",
                tried=tried[0],
                seconds=time.monotonic() - started,
            )
        )


def still_works(a: RawClient, b: RawClient, n: int = 1) -> None:
    """a can still draw and b still sees it: the connection and the room are fine."""
    a.send(Add(f"ok{n}", BoardObject(a.obj_id(f"ok{n}"), "line", ((0, 0), (5, 5)))))
    assert a.recv_until(Add).oid == f"ok{n}"
    assert b.recv_until(Add).oid == f"ok{n}"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"this is not json\xc3\x98", "bad_frame"),
        (b"[1, 2]\xc3\x98", "bad_frame"),
        (b'{"t": "say", "text": "caf\xc3\xa9"}\xc3\x98', "bad_frame"),  # raw UTF-8: must be escaped
        (b'{"t": "dance"}\xc3\x98', "unknown_type"),
        (b'{"nick": "x"}\xc3\x98', "unknown_type"),
        (
            b'{"t": "add", "oid": "o", "obj": {"id": "x", "kind": "line", "points": [[0, 0], [5, 5]], '
            b'"color": "red"}}\xc3\x98',
            "bad_field",
        ),
        (
            b'{"t": "add", "oid": "o", "obj": {"id": "x", "kind": "line", "points": [[0, 0], [9999, 5]]}}'
            b"\xc3\x98",
            "bad_field",
        ),
        (
            b'{"t": "add", "oid": "o", "obj": {"id": "x", "kind": "line", "points": [[0.5, 0], [5, 5]]}}'
            b"\xc3\x98",
            "bad_field",
        ),
        (b'{"t": "move", "oid": "o", "id": "x"}\xc3\x98', "bad_field"),
        (b'{"t": "cursor", "x": -1, "y": 0}\xc3\x98', "bad_field"),
    ],
)
@pytest.mark.reliability
def test_a_malformed_frame_is_answered_and_the_connection_goes_on(
    raw: bytes, code: str, malformed_row: list[int]
) -> None:
    with pair() as (_, a, b):
        a.send_bytes(raw)
        err = a.recv_until(Error)
        assert err.code == code and err.detail and not err.fatal
        still_works(a, b)
    malformed_row[0] += 1


def test_operations_on_missing_objects_or_others_objects_are_refused_with_the_oid() -> None:
    with pair() as (_, a, b):
        a.send(Delete("d1", "ghost"))
        assert a.recv_until(Error) == Error(
            "no_such_object", "there is no object 'ghost' on this board", oid="d1"
        )
        bobs = b.obj_id("bobs")
        b.send(Add("b1", BoardObject(bobs, "pencil", ((1, 1),))))
        b.recv_until(Add)
        for op in (Delete("d2", bobs), Move("m1", bobs, 1, 1), Extend("e1", bobs, ((2, 2),))):
            a.send(op)
            err = a.recv_until(Error)
            assert err.code == "not_allowed" and err.oid == op.oid and not err.fatal
        a.send(Add("a1", BoardObject(bobs, "line", ((1, 1), (2, 2)))))
        assert a.recv_until(Error).code == "bad_id"  # bob's scope: never alice's to add
        a.send(Add("a2", BoardObject(a.obj_id("a"), "line", ((1, 1), (2, 2)))))
        a.recv_until(Add)
        b.recv_until(Add)
        a.send(Add("a3", BoardObject(a.obj_id("a"), "line", ((1, 1), (2, 2)))))
        assert a.recv_until(Error).code == "duplicate_id"
        still_works(a, b)
        assert len(b.seen) == len([m for m in b.seen if not isinstance(m, Error)])  # bob saw no errors


@pytest.mark.reliability
def test_an_oversized_frame_is_fatal_for_its_sender_only() -> None:
    started = time.monotonic()
    with pair() as (_, a, b):
        a.send_bytes(b'{"t":"say","text":"' + b"x" * (MAX_FRAME + 10))
        got = a.wait_closed()
        assert got[-1].code == "frame_too_large" and got[-1].fatal
        left = b.recv_until(UserLeft)
        assert left.nick == "alice" and left.reason == "protocol error"
        b.send(Ping(5))
        assert b.recv_until(Pong) == Pong(5)
    reliability.record(
        reliability.Finding(
            area="bad input",
            case="a frame past MAX_FRAME without a terminator",
            outcome="error frame_too_large (fatal), then the close; the room sees 'protocol error', the "
            "others go on",
            tried=1,
            seconds=time.monotonic() - started,
        )
    )


@pytest.mark.parametrize(
    "msg",
    [
        Say("hi"),
        Cursor(1, 2),
        Add("o1", BoardObject("x", "line", ((0, 0), (5, 5)))),
        Delete("o2", "x"),
    ],
)
def test_nothing_but_join_ping_pong_before_joining(msg: Message) -> None:
    with running_server() as server, RawClient(server.address) as c:
        assert isinstance(c.recv(), Hello)
        c.send(msg)
        err = c.recv_until(Error)
        assert err.code == "not_joined" and not err.fatal
        c.send(Ping(3))
        assert c.recv_until(Pong) == Pong(3)
        assert isinstance(c.join("late"), Welcome)


def test_a_second_join_and_server_messages_from_a_client_are_refused() -> None:
    with pair() as (_, a, b):
        a.send(Join(nick="again", room="other"))
        err = a.recv_until(Error)
        assert err.code == "already_joined" and not err.fatal
        a.send(Welcome("u", "n", "r"))
        assert a.recv_until(Error).code == "unexpected_type"
        a.send(Error("client_side", "a client may report an error; it is logged"))
        still_works(a, b)


def test_cursors_are_relayed_to_the_others_with_the_user_stamped() -> None:
    with pair() as (server, a, b):
        a.send(Cursor(100, 200, user="someone-else"))
        assert b.recv_until(Cursor) == Cursor(100, 200, a.welcome.user)
        a.send(Ping(1))
        got = a.recv_all_until(Pong)
        assert not any(isinstance(m, Cursor) for m in got)  # not echoed to the sender
        assert server.rooms.get("lobby").board.seq == 0  # and not logged


def test_whitespace_between_frames_and_split_frames_are_fine() -> None:
    with pair() as (_, a, b):
        frame = b'\r\n  {"t":"say","text":"split \\u00d8"}\xc3\x98\n'
        for i in range(len(frame)):  # one byte at a time, the terminator cut in two
            a.send_bytes(frame[i : i + 1])
        assert b.recv_until(lambda m: hasattr(m, "text")).text == "split Ø"
