"""The client's connection pump against real sockets: a real BoardServer on loopback, and a hand-driven
listener for what a real server never does on purpose (a frame split byte by byte, silence).

Time is a ManualClock: back-off, countdown and heartbeat are advanced, never waited for. Waiting for the
network is bounded: ``pump_until`` pumps and selects on the socket until a condition holds or fails.
"""

from __future__ import annotations

import os
import random
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pgboard_server.server import BoardServer
from support import FakeClock, RawClient, passed_on, running_server, wait_for_fds

from bench import fdselect
from pgboard import client_session, ids, net
from pgboard.net import Connection, backoff_delay
from pgboard.protocol import (
    MAX_TEXT,
    Ack,
    Add,
    BoardObject,
    CatchUp,
    CaughtUp,
    Chat,
    Codec,
    Cursor,
    Delete,
    Error,
    Hello,
    Join,
    JoinError,
    LocalProtocolError,
    Message,
    Move,
    Obj,
    Ping,
    Pong,
    Renamed,
    RoomState,
    Say,
    UserInfo,
    UserLeft,
    Welcome,
    encode,
)
from pgboard.protocol_snapshot import Snapshot
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets.statusbar import connection_text

WAIT = 5.0  # seconds any single wait may take before the test fails
POLL = 0.05  # seconds one select() may wait before the pump runs again
FAST_CLOSE = {"close_linger": 0.05}  # a stopping server does not wait for clients to hang up


def line(oid: str, x: int = 10) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


def mine(local: str) -> str:
    """An object id in the scope of a Client with the default secret ("secret-alice")."""
    return ids.scoped(ids.device_id("secret-alice"), local)


class FixedJitter(random.Random):
    """Always the largest jitter, so back-off delays are exact: 0.6, 1.2, 2.4, 4.8 ... s."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Client:
    """A Connection with its own ManualClock and Scheduler."""

    def __init__(self, port: int, nick: str = "alice", secret: str = "secret-alice", room: str = "") -> None:
        self.clock = ManualClock()
        self.sched = Scheduler(now=self.clock.now)
        self.conn = Connection(self.sched, "127.0.0.1", port, nick, room, secret, rng=FixedJitter())

    def pump_until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        """Pump and run due timers until ``predicate()``; select on the socket between rounds."""
        conn = self.conn
        deadline = time.monotonic() + timeout
        while True:
            conn.pump()
            self.sched.run_due()
            if predicate():
                return
            left = deadline - time.monotonic()
            fd = conn.fileno()
            if left <= 0 or fd < 0:  # without a socket only the (manual) clock could change anything
                raise AssertionError(f"condition not met; state {conn.state!r}: {connection_text(conn)}")
            wait_for_fds([fd], [fd] if conn.wants_write() else [], min(left, POLL))

    def online(self) -> Connection:
        self.conn.start()
        self.pump_until(lambda: self.conn.state == "online")
        return self.conn

    def skip_to_retry(self) -> None:
        """Advance the clock to the scheduled reconnect and run it."""
        wait = self.sched.time_until_next()
        assert wait is not None
        self.clock.advance(wait)
        self.sched.run_due()

    def received(self, kind: type[Message]) -> list[Message]:
        return [m for m in passed_on(self.conn) if isinstance(m, kind)]

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def server() -> Iterator[BoardServer]:
    with running_server(**FAST_CLOSE) as srv:
        yield srv


class HandServer:
    """The server side of one connection, driven by the test: a listener on port 0 and blocking
    reads with timeouts."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT)
        self.port = self.listener.getsockname()[1]
        self.sock: socket.socket | None = None
        self.codec = Codec()

    def accept(self) -> None:
        self.sock, _ = self.listener.accept()
        self.sock.settimeout(WAIT)

    def send_bytes(self, data: bytes) -> None:
        assert self.sock is not None
        self.sock.sendall(data)

    def send(self, *msgs: Message) -> None:
        self.send_bytes(b"".join(encode(m) for m in msgs))

    def readable(self) -> bool:
        """Bytes from the client are waiting (or it closed): a condition for ``pump_until``."""
        return bool(self.codec.pending) or bool(fdselect.select([self.sock], [], [], 0)[0])

    def recv(self) -> Message:
        assert self.sock is not None
        while (msg := self.codec.next_message()) is None:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("the client closed the connection")
            self.codec.receive_data(data)
        return msg

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.listener.close()


@pytest.fixture
def hand() -> Iterator[HandServer]:
    h = HandServer()
    yield h
    h.close()


def handshake(hand: HandServer, client: Client) -> Join:
    """Accept the client, greet it, return its Join."""
    client.conn.start()
    hand.accept()
    client.pump_until(lambda: client.conn.state == "joining")
    hand.send(Hello(1, "hand"))
    client.pump_until(hand.readable)
    join = hand.recv()
    assert isinstance(join, Join)
    return join


def welcome_frames(user: str = "u1", nick: str = "alice") -> list[Message]:
    return [
        Welcome(user, nick, "lobby", (UserInfo(user, nick),), 2),
        CatchUp(2, "board"),
        Obj(line("a")),
        Obj(line("b")),
        CaughtUp(2),
    ]


# -- back-off


def test_backoff_doubles_with_jitter_and_caps() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(n, rng) for n in range(1, 12)]
    bases = [min(net.BACKOFF_MAX, net.BACKOFF_INITIAL * 2 ** (n - 1)) for n in range(1, 12)]
    for delay, base in zip(delays, bases, strict=True):
        assert base * (1 - net.BACKOFF_JITTER) <= delay <= base * (1 + net.BACKOFF_JITTER)
    assert delays[0] < 1 and max(delays) <= net.BACKOFF_MAX * (1 + net.BACKOFF_JITTER)
    assert len({round(d / b, 6) for d, b in zip(delays, bases, strict=True)}) > 1, "the jitter varies"


# -- against a real server


def test_joins_catches_up_and_goes_online(server: BoardServer) -> None:
    c = Client(server.address[1])
    conn = c.conn
    assert conn.state == "closed"
    conn.start()
    assert conn.state == "connecting", "start() returns before the connection is made"
    c.pump_until(lambda: conn.state == "online")
    assert conn.user_id and conn.nick == "alice" and conn.room == "lobby"
    assert connection_text(conn) == "Online: alice in lobby"
    kinds = [type(m) for m in passed_on(conn)]
    assert kinds[:4] == [Welcome, RoomState, CatchUp, CaughtUp]
    assert conn.catchup_progress is None
    c.close()
    assert conn.state == "closed" and conn.fileno() == -1


def test_an_operation_stays_pending_until_its_echo(server: BoardServer) -> None:
    c = Client(server.address[1])
    conn = c.online()
    with RawClient(server.address) as bob:
        bob.join("bob")
        bob.catch_up()
        conn.send_op(Add("op1", line(mine("l1"))))
        assert [op.oid for op in conn.pending_ops] == ["op1"]
        c.pump_until(lambda: not conn.pending_ops)
        seen = bob.recv_until(Add)
        assert seen.obj.id == mine("l1") and seen.author == conn.user_id
    echoes = c.received(Add)
    assert len(echoes) == 1 and echoes[0].author == conn.user_id
    assert conn.last_seq == 1
    c.close()


def test_a_refused_operation_leaves_the_outbox_and_its_error_reaches_the_app(server: BoardServer) -> None:
    c = Client(server.address[1])
    conn = c.online()
    conn.send_op(Delete("op1", "nothing-here"))
    c.pump_until(lambda: not conn.pending_ops)
    errors = c.received(Error)
    assert len(errors) == 1 and errors[0].oid == "op1" and not errors[0].fatal
    assert conn.state == "online"
    c.close()


def test_latency_is_the_round_trip_of_our_pings(server: BoardServer) -> None:
    c = Client(server.address[1])
    conn = c.online()
    assert conn.latency is None
    c.clock.advance(net.PING_INTERVAL)
    c.sched.run_due()  # the heartbeat sends a ping
    c.clock.advance(0.042)  # the answer takes 42 ms on the manual clock
    c.pump_until(lambda: conn.latency is not None)
    assert conn.latency == pytest.approx(0.042)
    assert connection_text(conn) == "Online: alice in lobby, 42 ms"
    c.close()


def test_taken_nickname_is_refused_with_a_suggestion_and_no_retry(server: BoardServer) -> None:
    first = Client(server.address[1], secret="one")
    first.online()
    second = Client(server.address[1], secret="two")
    conn = second.conn
    conn.start()
    second.pump_until(lambda: conn.state == "refused")
    assert isinstance(conn.join_error, JoinError)
    assert conn.join_error.reason == "taken" and conn.join_error.suggestion == "alice2"
    assert "alice2" in connection_text(conn)
    assert conn.fileno() == -1
    assert second.sched.time_until_next() is None, "no reconnect is scheduled"
    second.clock.advance(600)
    second.sched.run_due()
    conn.pump()
    assert conn.state == "refused"
    # The UI offers the suggestion; taking it joins.
    conn.nick = conn.join_error.suggestion
    conn.retry_now()
    second.pump_until(lambda: conn.state == "online")
    assert conn.nick == "alice2" and conn.join_error is None
    first.close()
    second.close()


def test_chat_typed_before_the_connection_is_sent_once_online_and_cursors_are_dropped(
    server: BoardServer,
) -> None:
    c = Client(server.address[1])
    conn = c.conn
    assert conn.send(Say("typed while offline")) is True
    assert conn.send(Cursor(5, 5)) is False
    with RawClient(server.address) as bob:
        bob.join("bob")
        bob.catch_up()
        c.online()
        chat = bob.recv_until(Chat)
        assert chat.text == "typed while offline" and chat.nick == "alice"
        assert conn.send(Cursor(7, 8)) is True
        c.pump_until(lambda: not conn.wants_write())
        assert bob.recv_until(Cursor) == Cursor(7, 8, conn.user_id)
    c.close()


def test_server_shutdown_goes_offline_with_a_countdown_and_never_gives_up() -> None:
    with running_server(**FAST_CLOSE) as server:
        port = server.address[1]
        c = Client(port)
        conn = c.online()
        conn.send_op(Add("kept", line("kept")))
        server.stop()  # says "shutdown" (fatal) and closes
        c.pump_until(lambda: conn.state == "offline")
    assert any(isinstance(m, Error) and m.code == "shutdown" for m in passed_on(conn))
    assert connection_text(conn) == "Offline: retrying in 1 s; 1 unsent change kept (F5: now)"  # 0.6 s
    expected = [min(net.BACKOFF_MAX, net.BACKOFF_INITIAL * 2**n) * 1.2 for n in range(6)]
    # Each retry is refused (nothing listens on the port any more): the back-off doubles.
    for n in range(2, 6):
        c.skip_to_retry()
        assert conn.state == "connecting" and connection_text(conn).endswith(f"(attempt {n})")
        c.pump_until(lambda: conn.state == "offline")
        assert conn.attempts == n
        assert conn.last_error == f"cannot connect to 127.0.0.1:{port}: Connection refused"
        assert c.sched.time_until_next() == pytest.approx(expected[n - 1])
    # The countdown follows the clock: 4.8 s to wait, 2 s later "3 s".
    assert connection_text(conn).startswith("Offline: retrying in 10 s")  # 9.6 s
    c.clock.advance(2.0)
    assert connection_text(conn).startswith("Offline: retrying in 8 s")
    assert not conn.long_outage
    while conn.attempts < 2 * net.LONG_OUTAGE_ATTEMPTS:  # past the old give-up: the retries go on
        c.skip_to_retry()
        c.pump_until(lambda: conn.state == "offline")
        assert conn.long_outage == (conn.attempts >= net.LONG_OUTAGE_ATTEMPTS)
    assert connection_text(conn).startswith("Server down: still retrying in ")
    assert connection_text(conn).endswith("; 1 unsent change kept (F5: now)")
    assert [op.oid for op in conn.pending_ops] == ["kept"], "the work is still there"
    assert c.sched.time_until_next() == pytest.approx(net.BACKOFF_MAX, rel=net.BACKOFF_JITTER)
    c.close()


def test_reconnect_to_a_restarted_server_resends_exactly_what_it_lacks(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite"
    first = BoardServer("127.0.0.1", 0, db, **FAST_CLOSE)
    first.start()
    port = first.address[1]
    c = Client(port)
    conn = c.online()
    try:
        with RawClient(first.address) as bob:
            bob.join("bob")
            bob.catch_up()
            conn.send_op(Add("op-a", line(mine("a"), 10)))
            c.pump_until(lambda: not conn.pending_ops)
            conn.send_op(Add("op-b", line(mine("b"), 100)))
            conn.pump()  # sent; whether its echo is read before the shutdown is up to the network
            assert bob.recv_until(Add).obj.id == mine("a")
            assert bob.recv_until(Add).obj.id == mine("b"), "the server applied b"
    finally:
        first.stop()
    c.pump_until(lambda: conn.state == "offline")
    # Drawing goes on offline; chat typed now is sent later.
    conn.send_op(Add("op-c", line(mine("c"), 200)))
    conn.send_op(Move("op-m", mine("a"), 5, 5))
    conn.send(Say("back soon"))
    offline_pending = [op.oid for op in conn.pending_ops]
    assert offline_pending[-2:] == ["op-c", "op-m"]
    second = BoardServer("127.0.0.1", port, db, **FAST_CLOSE)
    second.start()
    try:
        c.skip_to_retry()
        c.pump_until(lambda: conn.state == "online" and not conn.pending_ops)
        with RawClient(second.address) as carol:
            carol.join("carol", since=0)
            _, log, _ = carol.catch_up()
            chat = carol.recv_until(Chat)
        adds = [m.obj.id for m in log if isinstance(m, Add)]
        assert sorted(adds) == sorted([mine("a"), mine("b"), mine("c")]), "each object exactly once"
        assert [m.oid for m in log if isinstance(m, Move)] == ["op-m"]
        assert chat.text == "back soon" and chat.nick == "alice"
        with RawClient(second.address) as dave:
            dave.join("dave")
            _, objs, _ = dave.catch_up()
        board = {m.obj.id: m.obj.points[0] for m in objs if isinstance(m, Obj)}
        assert board == {mine("a"): (15, 15), mine("b"): (100, 10), mine("c"): (200, 10)}
    finally:
        c.close()
        second.stop()


def test_an_operation_applied_but_never_echoed_is_acked_not_doubled(server: BoardServer) -> None:
    c = Client(server.address[1])
    conn = c.online()
    with RawClient(server.address) as bob:
        bob.join("bob")
        bob.catch_up()
        conn.send_op(Add("op-x", line(mine("x"))))
        conn.pump()
        assert bob.recv_until(Add).obj.id == mine("x")
        # The echo sits unread in our socket when the link is declared dead: no pump for TIMEOUT.
        c.clock.advance(net.TIMEOUT)
        c.sched.run_due()
        assert conn.state == "offline" and conn.last_error.startswith("nothing heard")
        assert [op.oid for op in conn.pending_ops] == ["op-x"]
        assert conn.last_seq == 0  # so the rejoin asks for the whole board, which has x already
        c.skip_to_retry()
        c.pump_until(lambda: conn.state == "online" and not conn.pending_ops)
        assert [o.id for m in c.received(Snapshot) for o in m.objects] == [mine("x")]  # the board
    with RawClient(server.address) as carol:
        carol.join("carol", since=0)
        _, log, _ = carol.catch_up()
    assert [m.obj.id for m in log if isinstance(m, Add)] == [mine("x")], "the resend was acked, not applied"
    c.close()


# -- against a hand-driven server


def test_a_frame_cut_byte_by_byte_and_many_frames_in_one_send(hand: HandServer) -> None:
    c = Client(hand.port, nick="李雷")
    conn = c.conn
    hello = encode(Hello(1, "hand"))
    conn.start()
    hand.accept()
    c.pump_until(lambda: conn.state == "joining")
    for i in range(len(hello)):  # every recv() gets one byte: the terminator is cut in two too
        hand.send_bytes(hello[i : i + 1])
        fdselect.select([conn.fileno()], [], [], WAIT)
        conn.pump()
    assert passed_on(conn) == [], "hello is handled by the connection, not passed on"
    join = hand.recv()  # the client answered the hello, so it framed it correctly
    assert join == Join("李雷", "", "", None, "secret-alice", packed=True, snapshot=True)
    frames = welcome_frames(nick="李雷")
    hand.send(*frames[:3])  # welcome, catch-up header and the first object in one send
    c.pump_until(lambda: conn.catchup_progress == (1, 2))
    assert conn.state == "catching_up" and connection_text(conn) == "Catching up: 1/2"
    hand.send(*frames[3:], Chat("say", "u2", "bob", "hi"), Ping(9))
    c.pump_until(lambda: conn.state == "online")
    assert passed_on(conn) == [*frames, Chat("say", "u2", "bob", "hi")]
    assert conn.nick == "李雷" and conn.last_seq == 2
    assert hand.recv() == Pong(9)
    c.close()


def test_a_bad_frame_is_skipped_and_the_stream_goes_on(hand: HandServer) -> None:
    c = Client(hand.port)
    handshake(hand, c)
    hand.send_bytes(b"this is not json\xc3\x98" + b"".join(encode(m) for m in welcome_frames()))
    c.pump_until(lambda: c.conn.state == "online")
    c.close()


def test_a_silent_server_is_dropped_after_timeout(hand: HandServer) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    hand.send(*welcome_frames())
    c.pump_until(lambda: conn.state == "online")
    c.clock.advance(net.PING_INTERVAL)
    c.sched.run_due()
    c.pump_until(hand.readable)
    assert hand.recv() == Ping(1), "we ping every PING_INTERVAL"
    c.clock.advance(net.TIMEOUT - net.PING_INTERVAL - 0.5)
    c.sched.run_due()
    assert conn.state == "online"
    hand.send(Pong(1))  # one late answer restarts the count
    c.pump_until(lambda: conn.latency is not None)
    assert conn.latency == pytest.approx(net.TIMEOUT - net.PING_INTERVAL - 0.5)
    c.clock.advance(net.TIMEOUT - 0.5)
    c.sched.run_due()
    assert conn.state == "online"
    c.clock.advance(0.5)
    c.sched.run_due()
    assert conn.state == "offline"
    assert connection_text(conn).startswith("Offline: retrying in 1 s")
    with pytest.raises(EOFError):
        while True:
            hand.recv()  # our pings, then the close
    c.close()


def test_the_server_closing_the_connection_drops_to_offline_and_rejoins_since_last_seq(
    hand: HandServer,
) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    hand.send(*welcome_frames())
    c.pump_until(lambda: conn.state == "online")
    assert rejoin(hand, c) == Join("alice", "lobby", "", 2, "secret-alice", packed=True, snapshot=True)
    assert conn.last_error == "the server closed the connection"
    c.close()


def test_a_fatal_replaced_error_does_not_reconnect(hand: HandServer) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    hand.send(*welcome_frames(), Error("replaced", "you connected again from elsewhere", fatal=True))
    c.pump_until(lambda: conn.state == "closed")
    assert c.sched.time_until_next() is None
    assert "elsewhere" in connection_text(conn)
    c.close()


def rejoin(hand: HandServer, client: Client) -> Join:
    """The server side closes the connection; the client goes offline, retries, and joins again."""
    assert hand.sock is not None
    hand.sock.close()
    client.pump_until(lambda: client.conn.state == "offline")
    client.skip_to_retry()
    hand.accept()
    hand.codec = Codec()
    client.pump_until(lambda: client.conn.state == "joining")
    hand.send(Hello(1, "hand"))
    client.pump_until(hand.readable)
    join = hand.recv()
    assert isinstance(join, Join)
    return join


def test_after_the_catch_up_exactly_the_unechoed_operations_are_resent_in_order(hand: HandServer) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    hand.send(*welcome_frames(user="u1"))
    c.pump_until(lambda: conn.state == "online")
    ops = [Add(f"o{i}", line(f"l{i}", 10 * i)) for i in range(1, 4)]
    for op in ops:
        conn.send_op(op)
    c.pump_until(hand.readable)
    assert [hand.recv() for _ in ops] == ops, "sent at once while online"
    assert hand.sock is not None
    hand.sock.close()
    c.pump_until(lambda: conn.state == "offline")
    offline_op = Add("o4", line("l4", 40))
    conn.send_op(offline_op)
    assert conn.send(Say("hi")) is True
    assert conn.send(Cursor(1, 1)) is False
    c.skip_to_retry()
    hand.accept()
    hand.codec = Codec()
    c.pump_until(lambda: conn.state == "joining")
    hand.send(Hello(1, "hand"))
    c.pump_until(hand.readable)
    assert hand.recv() == Join("alice", "lobby", "", 2, "secret-alice", packed=True, snapshot=True), (
        "since the last seq seen"
    )
    # The catch-up brings the echo of o2 (it reached the server before the drop).
    o2_echo = Add("o2", line("l2", 20), seq=3, author="u1")
    hand.send(Welcome("u1", "alice", "lobby"), CatchUp(1, "ops"), o2_echo)
    c.pump_until(lambda: conn.catchup_progress == (1, 1))
    assert conn.state == "catching_up"
    assert [op.oid for op in conn.pending_ops] == ["o1", "o3", "o4"]
    drawn_during_catch_up = Add("o5", line("l5", 50))
    conn.send_op(drawn_during_catch_up)  # waits for the catch-up to end, behind the older ops
    hand.send(CaughtUp(3))
    c.pump_until(lambda: conn.state == "online")
    c.pump_until(hand.readable)
    resent = [hand.recv() for _ in range(5)]
    assert resent == [ops[0], ops[2], offline_op, drawn_during_catch_up, Say("hi")], (
        "the unechoed ops in order, then the chat"
    )
    # o1 was applied before the drop: the server acks it; o3 is echoed; someone else's o4 is not ours.
    hand.send(
        Ack("o1", 1),
        Add("o3", line("l3", 30), seq=4, author="u1"),
        Add("o4", line("x", 99), seq=5, author="u2"),
    )
    c.pump_until(lambda: conn.last_seq == 5)
    assert [op.oid for op in conn.pending_ops] == ["o4", "o5"]
    assert not any(isinstance(m, Ack) for m in passed_on(conn)), "acks are handled, not passed on"
    c.close()


def test_a_server_that_drops_every_client_at_once_gets_a_growing_back_off(hand: HandServer) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    attempts = []
    for _ in range(3):
        hand.send(*welcome_frames())
        c.pump_until(lambda: conn.state == "online")
        rejoin(hand, c)
        assert conn.state == "joining"
        attempts.append(conn.attempts)
    assert attempts == [1, 2, 3], "a link that never stayed up does not reset the back-off"
    hand.send(*welcome_frames())
    c.pump_until(lambda: conn.state == "online")
    c.clock.advance(net.STABLE_AFTER)
    assert hand.sock is not None
    hand.sock.close()
    c.pump_until(lambda: conn.state == "offline")
    assert conn.attempts == 1, "after a stable link the back-off starts again from the shortest wait"
    assert c.sched.time_until_next() == pytest.approx(net.BACKOFF_INITIAL * 1.2)
    c.close()


def test_a_rename_is_kept_for_the_rejoin(hand: HandServer) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    hand.send(*welcome_frames(user="u1"), Renamed("u1", "alice", "alicia"), Renamed("u2", "bob", "bobby"))
    c.pump_until(lambda: len(c.received(Renamed)) == 2)
    assert conn.nick == "alicia"
    assert rejoin(hand, c).nick == "alicia"
    c.close()


def test_a_connect_that_never_completes_times_out() -> None:
    # A listener whose accept queue is full: the kernel drops our SYN, so the connect stays pending.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(2):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        c = Client(port)
        conn = c.conn
        conn.start()
        conn.pump()
        if fdselect.select([], [conn.fileno()], [], 0)[1]:
            c.close()
            pytest.skip("this kernel completed the connect despite a full accept queue")
        assert conn.state == "connecting"
        assert connection_text(conn) == f"Connecting to 127.0.0.1:{port}..."
        c.clock.advance(net.TIMEOUT - 0.5)
        c.sched.run_due()
        conn.pump()
        assert conn.state == "connecting"
        c.clock.advance(0.5)
        c.sched.run_due()
        assert conn.state == "offline" and conn.last_error.startswith("no connection for 15 s")
        c.close()
    finally:
        for s in fillers:
            s.close()
        listener.close()


def test_close_sends_what_is_queued_and_the_others_see_us_leave(server: BoardServer) -> None:
    c = Client(server.address[1])
    conn = c.online()
    with RawClient(server.address) as bob:
        bob.join("bob")
        bob.catch_up()
        conn.send(Say("bye all"))
        conn.close()
        assert conn.state == "closed" and connection_text(conn) == "Disconnected"
        chat = bob.recv_until(Chat)
        assert chat.text == "bye all" and chat.nick == "alice"
        left = bob.recv_until(UserLeft)
        assert left.nick == "alice"
    c.clock.advance(600)
    assert c.sched.run_due() == 0, "no timer outlives close()"


def test_a_server_that_does_not_read_never_blocks_the_pump_and_then_gets_everything_in_order(
    hand: HandServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client_session, "MAX_IN_FLIGHT", 10_000)  # no echoes come back here: send all at once
    hand.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # a small window
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    hand.send(*welcome_frames())
    c.pump_until(lambda: conn.state == "online")
    text = "long text " * (MAX_TEXT // 10)
    ops = [
        Add(f"o{i}", BoardObject(f"t{i}", "text", ((i % 999, 9),), text=text)) for i in range(4000)
    ]  # 8 MB
    for op in ops:
        conn.send_op(op)
    started = time.monotonic()
    conn.pump()  # far more than the socket buffers hold: a sendall() here would hang
    assert time.monotonic() - started < 1.0
    assert conn.wants_write(), "what the socket did not take waits in the buffer"
    assert hand.sock is not None
    hand.sock.setblocking(False)
    got: list[Message] = []
    deadline = time.monotonic() + WAIT * 2
    while len(got) < len(ops):
        assert time.monotonic() < deadline, f"only {len(got)} of {len(ops)} operations arrived"
        fdselect.select([hand.sock], [conn.fileno()], [], POLL)
        conn.pump()
        try:
            hand.codec.receive_data(hand.sock.recv(1 << 20))
        except BlockingIOError:
            continue
        got.extend(hand.codec.messages())
    assert got == ops
    assert not conn.wants_write()
    c.close()


def test_the_pump_and_the_scheduler_do_not_import_pygame() -> None:
    code = "import sys, pgboard.net, pgboard.scheduler\nprint([n for n in sys.modules if 'pygame' in n])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", "a headless client (or a bot) must run without a display library"


def test_retry_now_skips_the_back_off(hand: HandServer) -> None:
    c = Client(hand.port)
    conn = c.conn
    handshake(hand, c)
    assert hand.sock is not None
    hand.sock.close()
    c.pump_until(lambda: conn.state == "offline")
    conn.retry_now()  # the user pressed Retry: no waiting for the clock
    hand.accept()
    c.pump_until(lambda: conn.state == "joining")
    c.clock.advance(net.BACKOFF_INITIAL * 2)
    c.sched.run_due()
    assert conn.state == "joining", "the retry that was scheduled does not start a second connection"
    c.close()


def test_misuse_is_refused_and_offline_chat_is_bounded() -> None:
    conn = Connection(Scheduler(now=ManualClock().now), "127.0.0.1", 9, "alice", "", "s")
    with pytest.raises(LocalProtocolError):
        conn.send(Add("o1", line("a")))  # an operation must be kept: send_op
    with pytest.raises(LocalProtocolError):
        conn.send_op(Say("hi"))  # type: ignore[arg-type]
    conn.send_op(Add("o1", line("a")))
    with pytest.raises(LocalProtocolError):
        conn.send_op(Add("o1", line("b")))
    assert [conn.send(Say(f"line {i}")) for i in range(net.MAX_QUEUED_CHAT)] == [True] * net.MAX_QUEUED_CHAT
    assert conn.send(Say("one too many")) is False
    assert conn.state == "closed" and connection_text(conn) == "Disconnected"


def test_operations_the_server_rate_limits_are_kept_and_sent_again_in_order_after_the_retry() -> None:
    server_clock = FakeClock()
    with running_server(clock=server_clock, op_burst=6, rate_retry=0.5, **FAST_CLOSE) as srv:
        c = Client(srv.address[1])
        conn = c.online()
        for i in range(10):
            conn.send_op(Add(f"o{i}", line(mine(f"l{i}"), i)))
        c.pump_until(lambda: conn.held and len(conn.pending_ops) == 4)
        c.pump_until(lambda: len([m for m in passed_on(conn) if isinstance(m, Add)]) == 6)
        assert not c.received(Error), "a rate-limited operation is not the app's business: nothing to undo"
        assert "slowed down" in connection_text(conn)
        server_clock.advance(0.5)
        c.clock.advance(0.5)  # the error's retry
        c.pump_until(lambda: not conn.pending_ops)
        echoes = [m for m in passed_on(conn) if isinstance(m, Add)]
        assert [m.oid for m in echoes] == [f"o{i}" for i in range(10)]
        assert [m.seq for m in echoes] == list(range(1, 11))
        assert not conn.held and not c.received(Error)
        c.close()


def test_a_join_the_server_paces_is_sent_again_after_its_retry() -> None:
    server_clock = FakeClock()
    paced = {"address_join_burst": 1, "address_join_rate": 1.0, "heartbeat_tick": 3600.0}
    with running_server(clock=server_clock, **paced, **FAST_CLOSE) as srv:
        with RawClient(srv.address) as first:  # takes the address's one join
            first.join("first")
            c = Client(srv.address[1])
            c.conn.start()
            retry = 1.0  # what the server says: the address's bucket refills one join a second
            c.pump_until(lambda: (c.sched.time_until_next() or net.TIMEOUT) <= retry)  # told, it waits
            assert c.conn.state == "joining" and not c.received(Error)  # not the app's business
            server_clock.advance(retry)  # the server's bucket refills ...
            c.clock.advance(retry)  # ... and the client asks again when told
            c.pump_until(lambda: c.conn.state == "online")
            assert c.conn.room == "lobby"
            c.close()


@pytest.mark.reliability
def test_a_client_with_more_than_1024_descriptors_open_still_connects(server: BoardServer) -> None:
    """select() refuses a descriptor past FD_SETSIZE (1024): a client process with many fonts and files
    open got "connect failed: filedescriptor out of range in select()" on every try."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"the hard limit on descriptors is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    r, w = os.pipe()
    spare = [os.dup(r) for _ in range(max(0, 1030 - r))]
    try:
        c = Client(server.address[1])
        c.conn.start()
        assert c.conn.fileno() > 1024
        poller = select.poll()
        poller.register(c.conn.fileno(), select.POLLIN | select.POLLOUT)
        deadline = time.monotonic() + WAIT
        while c.conn.state != "online" and time.monotonic() < deadline:
            c.conn.pump()
            c.sched.run_due()
            poller.poll(POLL * 1000)
        assert c.conn.state == "online", connection_text(c.conn)
        c.close()
    finally:
        for fd in (*spare, r, w):
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
