"""A client that stops reading is dropped, with a reason, and never slows the others down."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import reliability
from pgboard_server.limits import NO_RATE_LIMITS
from pgboard_server.server import BoardServer
from support import WAIT, RawClient, running_server

from pgboard.protocol import Add, BoardObject, Codec, Error, UserLeft

log = logging.getLogger(__name__)

QUEUE_LIMIT = 128 * 1024
SEND_BUFFER = 64 * 1024  # the kernel doubles it: with the queue and the reader's window, under 400 KB
STROKES = 1000  # about 1 KB each: 1 MB of echoes, far more than what can wait for the stalled reader
BATCH = 50


def batches(room: str, prefix: str) -> list[bytes]:
    frames = []
    for i in range(STROKES):
        points = tuple((j % 3200, (i + j) % 1800) for j in range(100))
        frames.append(
            Codec.send(Add(f"op{i}", BoardObject(f"{prefix}{room}{i}", "pencil", points, "#0000ff", 2)))
        )
    return [b"".join(frames[i : i + BATCH]) for i in range(0, STROKES, BATCH)]


def flood(server: BoardServer, room: str, slow: RawClient | None) -> tuple[float, list[UserLeft]]:
    """An artist floods the room while a watcher reads it all; returns the artist's time and the
    departures the watcher saw."""
    a, b = RawClient(server.address), RawClient(server.address)
    for c, nick in ((a, "artist"), (b, "watcher")):
        c.join(nick, room=room)
        c.catch_up()
    data = batches(room, a.obj_id(""))
    last_seen = threading.Event()
    departures: list[UserLeft] = []

    def watch() -> None:
        while True:
            m = b.recv(WAIT)
            if isinstance(m, UserLeft):
                departures.append(m)
            if isinstance(m, Add) and m.oid == f"op{STROKES - 1}":
                last_seen.set()
                return

    watcher = threading.Thread(target=watch)
    watcher.start()
    started = time.monotonic()
    for n, chunk in enumerate(data):  # the artist sends a batch, then reads the batch's echoes
        a.send_bytes(chunk)
        last = f"op{(n + 1) * BATCH - 1}"
        a.recv_until(lambda m, last=last: isinstance(m, Add) and m.oid == last)
    took = time.monotonic() - started
    assert last_seen.wait(WAIT), "the watcher did not see the whole flood"
    watcher.join(WAIT)
    a.close()
    b.close()
    return took, departures


@pytest.mark.reliability
def test_a_client_that_stops_reading_is_dropped_and_the_others_keep_their_pace() -> None:
    started = time.monotonic()
    limits = {"send_queue_limit": QUEUE_LIMIT, "send_buffer": SEND_BUFFER, **NO_RATE_LIMITS}
    with running_server(**limits) as server:  # a flood on purpose: rate limits would stop it early
        calm, _ = flood(server, "calm", None)
        slow = RawClient(server.address, rcvbuf=4096)
        slow.join("slow", room="busy")
        slow.catch_up()  # then it never reads again
        busy, departures = flood(server, "busy", slow)
        log.info("flood of %d strokes: %.2f s alone, %.2f s with a stalled reader", STROKES, calm, busy)
        left = ", ".join(d.reason for d in departures) or "-"
        reliability.record(
            reliability.Finding(
                area="fault",
                case=f"a client stops reading while another floods its room ({STROKES:,} strokes of 1 KB)",
                outcome=f"the stalled reader is dropped (left: {left}); "
                f"the flood took {busy:.2f} s with it, {calm:.2f} s without",
                tried=2 * STROKES,
                max_rss_mib=None,  # in-process: the test run's peak (every test before) is not the server's
                seconds=time.monotonic() - started,
            )
        )
        assert busy < 2 * calm + 1.0, f"{busy:.2f} s with a stalled reader, {calm:.2f} s without"
        assert [(d.nick, d.reason) for d in departures] == [("slow", "too slow")]
        assert all(s.nick != "slow" for s in server.rooms.get("busy").members.values())
        # the slow client, when it finally reads, finds a clear reason and the end of the stream
        got = slow.wait_closed(timeout=WAIT)
        assert got[-1] == Error(
            "slow_reader", "you did not read fast enough and were disconnected", fatal=True
        )
        assert sum(isinstance(m, Add) for m in got) < STROKES
        slow.close()
