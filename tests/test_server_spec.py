"""Places where docs/PROTOCOL.md left a second implementer guessing (issue 11, point 11), each checked
against a real server: what it says now is what the server does."""

from __future__ import annotations

import pytest
from pgboard_server.limits import NO_RATE_LIMITS
from support import RawClient, running_server

from pgboard import ids
from pgboard.clearing import MAX_CLEAR_ID_BYTES, fewest_per_clear
from pgboard.protocol import (
    MAX_FRAME,
    MAX_ID,
    TERMINATOR,
    Add,
    BoardObject,
    Clear,
    Error,
    Ping,
    Pong,
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
