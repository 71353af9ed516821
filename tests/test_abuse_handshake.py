"""Issue 10, attack 8: connections that never join. Before a join a connection has JOIN_TIMEOUT to get
into a room, whatever it sends meanwhile, and may buffer at most UNJOINED_MAX_FRAME bytes of a frame.
Time is a fake clock moved by hand (server.heartbeat() after each step)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

import pytest
import reliability
from pgboard_server.limits import (
    JOIN_BURST,
    JOIN_TIMEOUT,
    MAX_CONNECTIONS_PER_ADDRESS,
    TIMEOUT,
    UNJOINED_MAX_FRAME,
)
from support import WAIT, FakeClock, RawClient, running_server

from pgboard.protocol import (
    MAX_FRAME,
    MAX_ID,
    MAX_NAME_FIELD,
    TERMINATOR,
    Codec,
    Error,
    Join,
    JoinError,
    Passwd,
    Ping,
    Pong,
    Say,
    UserLeft,
    Welcome,
    decode_frame,
    encode,
)

NEVER = 3600.0  # the heartbeat thread's own tick: the test drives heartbeat() itself
ADDRESSES = [f"127.0.0.{i}" for i in range(2, 7)]  # loopback is a /8: five "hosts" on one machine
PER_ADDRESS = 60
IDLE = len(ADDRESSES) * PER_ADDRESS  # 300, as in the attack (256 filled the server)
PARTIAL = 200 * 1024  # bytes of half a frame each "buffering" stranger sends (under MAX_FRAME)
TRICKLE_STEP = 5.0  # seconds between two bytes of white space from each "trickling" stranger


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def stranger(address: tuple[str, int], source: str) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(WAIT)
    s.connect(address)
    hello = b""
    while TERMINATOR not in hello:  # admitted (its JOIN_TIMEOUT counts from now), not only queued
        data = s.recv(4096)
        assert data, "closed before hello"
        hello += data
    assert decode_frame(hello[: hello.index(TERMINATOR)]).TYPE == "hello"
    return s


def read_to_end(s: socket.socket) -> list[object]:
    """Every message until the server closes the connection (bounded by the socket's timeout)."""
    codec = Codec(max_frame=MAX_FRAME)
    got: list[object] = []
    deadline = time.monotonic() + WAIT
    while True:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            return got
        codec.receive_data(data)
        got.extend(codec.messages())


def test_the_largest_handshake_frames_fit_before_the_join() -> None:
    widest = "\U0001f600" * MAX_NAME_FIELD  # 12 bytes each as JSON escapes
    for msg in (
        Join(widest, widest, widest, 2**53, "c" * MAX_ID, True),
        Passwd(widest, widest, widest),
    ):
        assert len(encode(msg)) - len(TERMINATOR) <= UNJOINED_MAX_FRAME


@pytest.mark.reliability
def test_strangers_that_never_join_are_closed_at_the_deadline_and_buffer_little() -> None:
    clock = FakeClock()
    assert PER_ADDRESS <= MAX_CONNECTIONS_PER_ADDRESS
    with running_server(clock=clock, heartbeat_tick=NEVER, max_connections=IDLE + 1) as server:
        with RawClient(server.address) as member:
            member.join("member")
            member.catch_up()
            rss_before = rss_kib()
            socks = [stranger(server.address, a) for a in ADDRESSES for _ in range(PER_ADDRESS)]
            try:
                buffering, trickling = socks[: IDLE // 2], socks[IDLE // 2 :]
                half = b'{"t":"join","nick":"' + b"x" * PARTIAL  # never finished
                for s in buffering:
                    s.sendall(half)
                for s in trickling:
                    s.sendall(b" ")
                # a stranger's half frame is cut off at UNJOINED_MAX_FRAME: told, and closed at once
                for s in buffering:
                    got = read_to_end(s)
                    assert isinstance(got[-1], Error) and got[-1].code == "frame_too_large", got[-1:]
                buffered = sum(x.codec.pending for x in server.sessions)
                assert buffered <= IDLE * (UNJOINED_MAX_FRAME + 1)
                # the others trickle white space until past the deadline: it does not keep them
                elapsed = 0.0
                while elapsed + TRICKLE_STEP <= JOIN_TIMEOUT:
                    clock.advance(TRICKLE_STEP)
                    elapsed += TRICKLE_STEP
                    for s in trickling:
                        s.sendall(b" \n")
                    server.heartbeat()
                with RawClient(server.address) as refused:  # the server is full of them until then
                    assert refused.wait_closed()[-1] == Error(
                        "server_full", "too many connections; try later", fatal=True
                    )
                clock.advance(TRICKLE_STEP)
                server.heartbeat()
                for s in trickling:
                    got = read_to_end(s)
                    assert isinstance(got[-1], Error) and got[-1].code == "join_timeout" and got[-1].fatal
                rss_growth_mib = (rss_kib() - rss_before) / 1024
            finally:
                for s in socks:
                    with contextlib.suppress(OSError):
                        s.close()
            with RawClient(server.address) as real:  # a real user gets in at once
                assert real.join("real").nick == "real"
            member.send(Join("again"))  # the member, in the room all along, was never closed
            assert member.recv_until(Error).code == "already_joined"
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"{IDLE} connections from {len(ADDRESSES)} addresses that never join: half send "
            f"{PARTIAL // 1024} KiB of an unfinished frame, half a byte of white space every "
            f"{TRICKLE_STEP:g} s (the server full of them)",
            bound=f"UNJOINED_MAX_FRAME: {UNJOINED_MAX_FRAME} bytes of a frame before the join "
            f"(frame_too_large, fatal); JOIN_TIMEOUT: {JOIN_TIMEOUT:g} s from connect to join "
            "(join_timeout, fatal), whatever arrives meanwhile",
            measured=f"half frames closed at once, {buffered:,} bytes left buffered for the rest (before "
            f"the bound: {IDLE // 2 * PARTIAL / 2**20:.0f} MiB of half frames, 69 MiB RSS growth, kept "
            f"forever); every trickler closed at {elapsed + TRICKLE_STEP:g} s by the server's clock; "
            f"RSS growth {rss_growth_mib:.1f} MiB with {IDLE} connections open (their threads); a real "
            "user then joined",
        )
    )


def test_a_member_is_not_held_to_the_join_deadline() -> None:
    clock = FakeClock()
    with running_server(clock=clock, heartbeat_tick=NEVER) as server, RawClient(server.address) as c:
        c.join("slowpoke")
        clock.advance(JOIN_TIMEOUT + 1)
        server.heartbeat()
        c.send(Join("again"))
        assert c.recv_until(Error).code == "already_joined"


def test_after_the_join_a_frame_may_be_as_large_as_max_frame() -> None:
    with running_server() as server, RawClient(server.address) as c:
        c.join("big")
        c.catch_up()
        too_big_before = b'{"t":"ping","n":1' + b" " * (2 * UNJOINED_MAX_FRAME) + b"}" + TERMINATOR
        c.send_bytes(too_big_before)
        assert decode_frame(c.recv_frame()[: -len(TERMINATOR)]).TYPE == "pong"


@pytest.mark.reliability
def test_a_connection_sending_join_after_join_is_paced() -> None:
    clock = FakeClock()  # no time passes: the join buckets never refill during the flood
    flood = 2000
    with running_server(clock=clock, heartbeat_tick=NEVER, max_rooms_per_address=1) as server:
        with RawClient(server.address, source=ADDRESSES[0]) as owner:  # the address's one room
            owner.join("owner", "mine")
            owner.send(Say("content"))
            owner.recv_until(lambda m: getattr(m, "text", "") == "content")
            with RawClient(server.address, source=ADDRESSES[0]) as evil:
                started = time.perf_counter()
                evil.send_bytes(b"".join(encode(Join("evil", f"new{i}")) for i in range(flood)))
                got = [evil.recv_until((JoinError, Error)) for _ in range(flood)]
                seconds = time.perf_counter() - started
            with RawClient(server.address, source=ADDRESSES[1]) as other:  # another address joins at once
                assert isinstance(other.join("other", "theirs"), Welcome)
    handled = [m for m in got if isinstance(m, JoinError)]
    paced = [m for m in got if isinstance(m, Error) and m.code == "rate_limited"]
    assert len(handled) == JOIN_BURST and len(paced) == flood - JOIN_BURST
    assert all(m.reason == "too_many_rooms_from_address" for m in handled)
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"one connection sends {flood:,} joins of new rooms in one segment, its address at its "
            "room cap (each refused join read a room's rights from the store: 20,000 took 4 s of a core "
            "and slowed other joins 2.7x)",
            bound=f"JOIN_RATE, JOIN_BURST: {JOIN_BURST} joins at once per connection, then 2 a second "
            "(ADDRESS_JOIN_RATE 50/s, burst 200, per address); past it error rate_limited with retry, "
            "counted toward ABUSE_REFUSALS",
            measured=f"{len(handled)} joins handled, {len(paced):,} refused rate_limited, all answered in "
            f"{seconds:.2f} s; another address joined at once",
        )
    )


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    """A bounded wait for something the server's reader thread does (no reply comes to tell us)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        assert time.monotonic() < deadline, "the server did not get there in time"
        pause.wait(0.005)


@pytest.mark.reliability
def test_a_member_trickling_half_a_frame_is_timed_out_like_a_silent_one() -> None:
    clock = FakeClock()
    with (
        running_server(clock=clock, heartbeat_tick=NEVER) as server,
        RawClient(server.address) as live,
        RawClient(server.address) as trickler,
    ):
        live.join("live")
        trickler.join("trickler")
        (session,) = [s for s in server.sessions if s.nick == "trickler"]
        half = b'{"t":"say","text":"' + b"x" * PARTIAL  # never finished: the rest comes a byte at a time
        trickler.send_bytes(half)
        wait_until(lambda: session.codec.pending == len(half))
        held = session.codec.pending
        elapsed, n = 0.0, 0
        while elapsed <= TIMEOUT:
            clock.advance(TRICKLE_STEP)
            elapsed += TRICKLE_STEP
            n += 1
            trickler.send_bytes(b" ")
            wait_until(lambda n=n: session.codec.pending == len(half) + n)  # type: ignore[misc]
            live.send(Ping(n))  # a whole frame: a sign of life
            live.recv_until(Pong)
            server.heartbeat()
        got = trickler.wait_closed()
        assert isinstance(got[-1], Error) and got[-1].code == "timeout" and got[-1].fatal
        left = live.recv_until(UserLeft)
        assert left.nick == "trickler" and left.reason == "timed out"
        live.send(Ping(0))
        assert live.recv_until(Pong) == Pong(0)  # the member who sent whole frames stays
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"a member sends {PARTIAL // 1024} KiB of a frame it never finishes, then one byte of "
            f"it every {TRICKLE_STEP:g} s (every member doing so held MAX_FRAME each, forever)",
            bound=f"TIMEOUT: {TIMEOUT:g} s without a whole frame (white space and half frames are no sign "
            "of life): error timeout (fatal)",
            measured=f"{held:,} bytes held until it was dropped at {elapsed:g} s by the server's clock "
            f"after {n} trickled bytes; the member that pinged stayed",
        )
    )
