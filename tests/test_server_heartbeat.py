"""Heartbeat: the server pings idle peers and drops silent ones. Time is a fake clock, moved by hand."""

from __future__ import annotations

from pgboard_server.limits import NO_RATE_LIMITS, PING_INTERVAL, TIMEOUT
from support import FakeClock, RawClient, running_server

from pgboard.protocol import Add, BoardObject, CaughtUp, Codec, Error, Ping, Pong, UserLeft

NEVER = 3600.0  # the heartbeat thread's own tick: it must not interfere, the test drives heartbeat()


def test_idle_peers_are_pinged_and_silent_ones_dropped_and_announced() -> None:
    clock = FakeClock()
    with (
        running_server(clock=clock, heartbeat_tick=NEVER) as server,
        RawClient(server.address) as a,
        RawClient(server.address) as b,
    ):
        a.join("alive")
        b.join("silent")
        clock.advance(PING_INTERVAL - 1)
        server.heartbeat()
        a.send(Ping(1))
        assert [m for m in a.recv_all_until(Pong) if isinstance(m, Ping)] == []  # not idle long enough
        clock.advance(1)
        server.heartbeat()
        assert b.recv_until(Ping) == Ping(1)  # b is idle: pinged, but b never answers
        a.send(Ping(2))  # a talked a second ago: not pinged; this round trip keeps it alive
        assert not any(isinstance(m, Ping) for m in a.recv_all_until(Pong))
        clock.advance(TIMEOUT - PING_INTERVAL + 1)  # b silent for TIMEOUT + 1, a for far less
        server.heartbeat()
        got = b.wait_closed()
        assert got[-1] == Error("timeout", f"nothing heard for {TIMEOUT + 1:.0f} s", fatal=True)
        left = a.recv_until(UserLeft)
        assert left.nick == "silent" and left.reason == "timed out"
        a.send(Ping(9))
        assert a.recv_until(Pong) == Pong(9)


def test_the_server_answers_pings_with_the_same_number() -> None:
    with running_server() as server, RawClient(server.address) as c:
        for n in (0, 1, 2**40):
            c.send(Ping(n))
            assert c.recv_until(Pong) == Pong(n)


def test_the_real_heartbeat_thread_drops_a_silent_peer() -> None:
    with running_server(ping_interval=0.05, timeout=0.2, heartbeat_tick=0.02) as server:
        with RawClient(server.address) as b:
            b.join("silent")
            got = b.wait_closed(timeout=5)
            assert isinstance(got[-1], Error) and got[-1].code == "timeout" and got[-1].fatal
            assert any(isinstance(m, Ping) for m in got)


def test_a_client_busy_reading_a_long_catch_up_is_not_timed_out() -> None:
    clock = FakeClock()
    # small kernel buffers: the catch-up (about 650 KB) cannot leave before late starts reading
    with (
        running_server(clock=clock, heartbeat_tick=NEVER, send_buffer=16 * 1024, **NO_RATE_LIMITS) as server,
        RawClient(server.address) as a,
    ):
        a.join("artist")
        a.catch_up()
        frames = b"".join(
            Codec.send(
                Add(f"op{i}", BoardObject(a.obj_id(f"o{i}"), "rect", ((i % 3000, 5), (i % 3000 + 9, 50))))
            )
            for i in range(5000)
        )
        a.send_bytes(frames)
        a.recv_until(lambda m: isinstance(m, Add) and m.oid == "op4999")
        late = RawClient(server.address, rcvbuf=4096)
        late.join("late")  # 5000 objects of catch-up; then it reads nothing for a while
        clock.advance(TIMEOUT - 5)
        server.heartbeat()  # silent, so pinged: the ping waits behind the catch-up
        a.send(Ping(1))
        a.recv_until(Pong)  # a stays alive
        late.recv_until(CaughtUp)  # the catch-up moves at the (fake) time TIMEOUT - 5...
        assert late.recv_until(Ping)  # ...and is over when the ping arrives
        clock.advance(10)  # nothing heard from late for TIMEOUT + 5, but it read until TIMEOUT - 5
        a.send(Ping(2))
        a.recv_until(Pong)
        server.heartbeat()
        assert "late" in [s.nick for s in server.rooms.get("lobby").members.values()]
        clock.advance(TIMEOUT)  # now really silent
        server.heartbeat()
        assert late.wait_closed()[-1].code == "timeout"
        assert a.recv_until(UserLeft).reason == "timed out"
        late.close()
