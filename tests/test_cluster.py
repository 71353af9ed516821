"""Cluster mode (pgboard-server --redis): real redis-server, real server processes, real clients.

Each test starts its own redis-server on a free port in its temporary directory (AOF on, RDB off) and
its own pgboard-server processes with a 1 s lease, and ends them by their PIDs.
"""

from __future__ import annotations

import importlib.util
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest
import reliability
from cluster_support import (
    LEASE,
    ClusterClient,
    RedisServer,
    cluster_server,
    late_joiner,
    pump_until,
    stop_all,
)
from pgboard_server.cluster.config import LEASE_TIME
from support import WAIT, RawClient, running_server
from test_app import make_app, run_until
from test_metrics import scrape

from pgboard.protocol import Add, BoardObject, Error, Hello, RoomState, Say

pytestmark = [
    pytest.mark.skipif(
        shutil.which("redis-server") is None, reason="redis-server is not installed (.ci/run installs it)"
    ),
    pytest.mark.skipif(
        importlib.util.find_spec("redis") is None,
        reason="redis-py is not installed: pip install 'pgboard[cluster]'",
    ),
]

# Every client back, every stroke confirmed, within LEASE_TIME + FAILOVER_SLACK seconds of the owner's
# SIGKILL (docs/ARCHITECTURE.md, the cluster's failure table): the lease lapses, then a client's next
# try (told `moving`, retry 1 s, with jitter) takes the room and catches up
FAILOVER_SLACK = 4.0


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory)
    yield server
    server.kill()


def stream(redis_server: RedisServer, room: str) -> list[tuple[int, str]]:
    """(seq, echo) of the room's log of record in Redis."""
    r = redis_server.client()
    rows = r.xrange(f"pgboard:room:{{{room}}}:log")
    r.close()
    return [(int(i.split(b"-")[0]), f[b"e"].decode()) for i, f in rows]


def test_two_clients_on_two_processes_see_the_same_operations_in_the_same_order(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    p1 = cluster_server(tmp_path / "1.db", redis_server)
    p2 = cluster_server(tmp_path / "2.db", redis_server)
    p3 = cluster_server(tmp_path / "3.db", redis_server)
    alice = ClusterClient(p1.address, "alice", "shared")
    bob = ClusterClient(p2.address, "bob", "shared")
    try:
        alice.conn.start()
        pump_until([alice], lambda: alice.conn.state == "online")
        bob.conn.start()
        pump_until([alice, bob], lambda: bob.conn.state == "online")
        assert bob.conn.port == p1.address[1], "bob was redirected to the room's owner"
        drawn = set()
        for _ in range(20):
            drawn.add(alice.draw())
            drawn.add(bob.draw())
        pump_until([alice, bob], lambda: len(alice.echoes) == len(bob.echoes) == 40)
        assert alice.echoes == bob.echoes  # seq by seq, the same operation
        assert sorted(alice.echoes) == list(range(1, 41))
        objects, seq = late_joiner(p3.address, "carol", "shared")
        assert seq == 40
        assert set(objects) == drawn
    finally:
        stop_all(alice, bob, p1, p2, p3)


@pytest.mark.reliability
@pytest.mark.parametrize("lease", [LEASE, str(LEASE_TIME)])  # the tests' short lease, and the default
def test_sigkill_of_the_owner_under_load_loses_nothing_and_doubles_nothing(
    redis_server: RedisServer, tmp_path: Path, lease: str
) -> None:
    procs = [cluster_server(tmp_path / f"{i}.db", redis_server, lease=lease) for i in range(3)]
    owner = procs[0]
    clients = [ClusterClient(p.address, f"user{i}", "busy") for i, p in enumerate(procs)]
    drawn: set[str] = set()
    try:
        for c in clients:
            c.conn.start()
            pump_until(clients, lambda c=c: c.conn.state == "online")
        killed_at = 0.0
        for round_ in range(60):  # a bounded drawing load: 3 clients, a line each every ~30 ms
            for c in clients:
                drawn.add(c.draw())
            if round_ == 20:
                owner.kill()  # SIGKILL
                killed_at = time.monotonic()
            deadline = time.monotonic() + 0.03
            while time.monotonic() < deadline:
                for c in clients:
                    c.pump()
                clients[0].pump(0.005)
        back = pump_until(
            clients,
            lambda: all(c.conn.state == "online" and c.conn.pending == 0 for c in clients),
            timeout=float(lease) + FAILOVER_SLACK,
        )
        recovered = time.monotonic() - killed_at
        assert recovered <= float(lease) + FAILOVER_SLACK
        assert all(c.conn.port != owner.address[1] for c in clients)  # on the new owner
        ids, seq = late_joiner(procs[1].address, "late", "busy")
        assert len(ids) == len(set(ids)), "an object is on the board twice"
        assert set(ids) == drawn, f"lost: {len(drawn - set(ids))}"  # 0 lost
        adds = [e for _, e in stream(redis_server, "busy") if '"t":"add"' in e]
        assert len(adds) == len(drawn)  # 0 doubled in the log of record
        # and each catches up to its end (one may still be reading the catch-up of its rejoin)
        pump_until(clients, lambda: all(c.conn.last_seq == seq for c in clients))
        seen: dict[int, str] = {}
        for c in clients:  # every client saw the same history (seq -> operation)
            for s, oid in c.echoes.items():
                assert seen.setdefault(s, oid) == oid
        print(f"failover: all back {recovered:.1f} s after the SIGKILL ({back:.1f} s after the load)")
        reliability.record(
            reliability.Finding(
                area="fault",
                case=f"cluster: SIGKILL of a room's owner (3 processes, one Redis, {lease} s leases) while "
                "3 clients on 3 processes draw",
                outcome=f"the room moved to another process; every client was back with nothing pending "
                f"{recovered:.1f} s after the kill; the board and the Redis stream hold each of the "
                f"{len(drawn)} strokes once",
                tried=len(drawn),
                lost=len(drawn - set(ids)),
                duplicates=len(ids) - len(set(ids)),
                seconds=recovered,
            )
        )
    finally:
        stop_all(*clients, *procs)


@pytest.mark.reliability
def test_a_redis_restart_with_aof_loses_nothing_acknowledged(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    p1 = cluster_server(tmp_path / "1.db", redis_server)
    p2 = cluster_server(tmp_path / "2.db", redis_server)
    alice = ClusterClient(p1.address, "alice", "kept")
    try:
        alice.conn.start()
        pump_until([alice], lambda: alice.conn.state == "online")
        drawn = {alice.draw() for _ in range(30)}
        pump_until([alice], lambda: alice.conn.pending == 0)  # all 30 acknowledged (echoed)
        redis_server.kill()  # SIGKILL: no final fsync
        redis_server.start()  # same port, same directory: the AOF is loaded
        drawn |= {alice.draw() for _ in range(10)}
        pump_until([alice], lambda: alice.conn.pending == 0 and alice.conn.state == "online", timeout=10)
        assert len(stream(redis_server, "kept")) == 40
        p1.kill()  # the room moves to p2, rebuilt from what Redis kept
        objects, seq = late_joiner(p2.address, "bob", "kept")
        assert sorted(objects) == sorted(drawn) and seq == 40
        reliability.record(
            reliability.Finding(
                area="fault",
                case="cluster: Redis killed (SIGKILL) and restarted on its AOF, then the owner killed",
                outcome="the 30 strokes acknowledged before and the 10 drawn after are in the stream and "
                "on the board of the process that took the room",
                tried=40,
                lost=len(drawn - set(objects)),
                duplicates=len(objects) - len(set(objects)),
            )
        )
    finally:
        stop_all(alice, p1, p2)


@pytest.mark.reliability
def test_strokes_drawn_while_redis_is_down_reach_the_board_when_it_is_back(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    p1 = cluster_server(tmp_path / "1.db", redis_server)
    alice = ClusterClient(p1.address, "alice", "outage")
    try:
        alice.conn.start()
        pump_until([alice], lambda: alice.conn.state == "online")
        drawn = {alice.draw() for _ in range(10)}
        pump_until([alice], lambda: alice.conn.pending == 0)
        redis_server.kill()
        drawn |= {alice.draw() for _ in range(10)}  # refused by a server that cannot log them
        pump_until([alice], lambda: alice.conn.state != "online")  # the room was given up: moved
        redis_server.start()
        pump_until([alice], lambda: alice.conn.pending == 0 and alice.conn.state == "online", timeout=15)
        objects, seq = late_joiner(p1.address, "bob", "outage")
        assert sorted(objects) == sorted(drawn)  # none of the 10 was taken back
        reliability.record(
            reliability.Finding(
                area="fault",
                case="cluster: Redis down while a client draws 10 strokes",
                outcome="the owner gave the room up (moved) rather than refuse them; the client kept them "
                "and they reached the board once Redis was back",
                tried=20,
                lost=len(drawn - set(objects)),
                duplicates=len(objects) - len(set(objects)),
            )
        )
        assert len(stream(redis_server, "outage")) == 20
    finally:
        stop_all(alice, p1)


def test_the_app_joining_through_a_process_that_does_not_own_the_room_follows_the_redirect(
    redis_server: RedisServer, tmp_path: Path, screen: pygame.Surface
) -> None:
    """From the connect screen, as a user: the first connection is redirected (not "cannot reach")."""
    owner = cluster_server(tmp_path / "1.db", redis_server)
    other = cluster_server(tmp_path / "2.db", redis_server)
    ann = ClusterClient(owner.address, "ann", "maths")
    app = make_app(screen, tmp_path)
    try:
        ann.conn.start()
        pump_until([ann], lambda: ann.conn.state == "online")  # the owner: the first to take the room
        app.connect("127.0.0.1", other.address[1], "ben", "maths")
        run_until(app, lambda: app.conn is not None and app.conn.state == "online" and app.room is not None)
        assert app.conn.port == owner.address[1] and app.ui.connect_screen.error == ""
        assert {"ann", "ben"} <= set(app.room.users.values())
    finally:
        app.shutdown()
        stop_all(ann, owner, other)


@pytest.mark.reliability
def test_a_client_that_joined_before_another_process_started_fails_over_to_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    p0 = cluster_server(tmp_path / "0.db", redis_server)
    alice = ClusterClient(p0.address, "alice", "alone")
    p1 = None
    try:
        alice.conn.start()
        pump_until([alice], lambda: alice.conn.state == "online")  # the only process: no peers told
        p1 = cluster_server(tmp_path / "1.db", redis_server)
        # told by p0 at its next lease tick (its session's routes: where to go when p0 is gone)
        pump_until([alice], lambda: ("127.0.0.1", p1.address[1]) in alice.conn.session.routes.peers)
        drawn = alice.draw()
        pump_until([alice], lambda: alice.conn.pending == 0)
        p0.kill()  # SIGKILL of the only process alice ever connected to
        pump_until([alice], lambda: alice.conn.state == "online" and alice.conn.port == p1.address[1])
        objects, _ = late_joiner(p1.address, "late", "alone")
        assert objects == [drawn]  # the room moved with its board
    finally:
        stop_all(alice, p0, *([p1] if p1 else []))


@pytest.mark.reliability
def test_a_room_that_moves_keeps_its_operators_and_its_lock(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    p1 = cluster_server(tmp_path / "1.db", redis_server)
    p2 = cluster_server(tmp_path / "2.db", redis_server)
    alice = ClusterClient(p1.address, "alice", "club")
    carol = ClusterClient(p2.address, "carol", "club")
    try:
        alice.conn.start()
        pump_until([alice], lambda: alice.conn.state == "online")
        alice.conn.send(Say("/lock"))  # the creator is the room's operator
        pump_until([alice], lambda: any(isinstance(m, RoomState) and m.locked for m in alice.seen))
        p1.kill()  # the room moves to p2, which never had it
        carol.conn.start()
        pump_until([carol], lambda: carol.conn.state == "online", timeout=10)
        state = [m for m in carol.seen if isinstance(m, RoomState)][-1]
        assert state.locked and state.operators == (alice.conn.user_id,)  # not carol, the first there
        carol.draw()
        pump_until([carol], lambda: any(isinstance(m, Error) and m.code == "locked" for m in carol.seen))
    finally:
        stop_all(alice, carol, p1, p2)


@pytest.mark.reliability
def test_a_deposed_owner_cannot_write_the_log(redis_server: RedisServer) -> None:
    import redis
    from pgboard_server.cluster.roomlog import RoomLog
    from pgboard_server.cluster.scripts import ACQUIRE, TOKENS, room_key

    r = redis_server.client()
    log = RoomLog(r)
    acquire = r.register_script(ACQUIRE)
    keys = [room_key("r", "lease"), room_key("r", "fence"), TOKENS]
    first, _ = acquire(keys=keys, args=["a:1", 60000])
    log.append("r", int(first), [(1, "one")])
    r.delete(room_key("r", "lease"))  # the lease lapsed (the owner paused): another process takes it
    second, _ = acquire(keys=keys, args=["b:2", 60000])
    assert int(second) > int(first)
    with pytest.raises(redis.ResponseError, match="FENCED"):
        log.append("r", int(first), [(2, "from the deposed owner")])
    log.append("r", int(second), [(2, "two")])
    with pytest.raises(redis.ResponseError, match="SEQ"):  # a seq is never logged twice
        log.append("r", int(second), [(2, "two again")])
    assert [e for _, e in stream(redis_server, "r")] == ["one", "two"]
    r.close()


def test_a_cluster_server_reports_its_leases(redis_server: RedisServer) -> None:
    from pgboard_server.cluster.config import ClusterConfig

    config = ClusterConfig(redis_server.url, lease_time=1.0)
    with running_server(cluster=config, metrics_address=("127.0.0.1", 0)) as server:
        assert server.metrics_endpoint is not None
        with RawClient(server.address) as a:
            assert isinstance(a.recv(), Hello)
            a.join("ann", "leased")
            metrics, _ = scrape(server.metrics_endpoint.address)
        assert metrics["pgboard_cluster_leases_held"] == 1
        assert metrics["pgboard_cluster_rooms_taken_total"] == 1
        assert metrics["pgboard_cluster_redis_up"] == 1
    assert WAIT


@pytest.mark.reliability
def test_a_fenced_write_closes_the_room_before_its_refusal_so_the_client_resends_it(
    redis_server: RedisServer,
) -> None:
    """The owner lost the room without knowing (another process took it while this one was paused):
    its next write is fenced, and its members get ``moved``, never ``store_failed`` for what they
    drew, which a client would take back (drop) instead of sending it to the new owner."""
    from pgboard_server.cluster.config import ClusterConfig
    from pgboard_server.cluster.scripts import ACQUIRE, TOKENS, room_key

    config = ClusterConfig(redis_server.url, lease_time=60.0)  # no renewal tick within the test
    with running_server(cluster=config) as server, RawClient(server.address) as a:
        assert isinstance(a.recv(), Hello)
        a.join("ann", "stolen", client="secret-ann")
        a.send(Add("op1", BoardObject(a.obj_id("one"), "line", ((1, 1), (9, 9)))))
        a.recv_until(lambda m: isinstance(m, Add) and m.oid == "op1")
        r = redis_server.client()
        r.delete(room_key("stolen", "lease"))  # the lease lapsed while the owner was paused ...
        taken, _ = r.register_script(ACQUIRE)(
            keys=[*(room_key("stolen", p) for p in ("lease", "fence")), TOKENS], args=["other:1", 60000]
        )
        assert int(taken) == 2  # ... and another process took the room
        a.send(Add("op2", BoardObject(a.obj_id("two"), "line", ((1, 1), (9, 9)))))
        after = a.wait_closed()
        errors = [m for m in after if isinstance(m, Error)]
        assert [e.code for e in errors] == ["moved"] and not errors[0].fatal
        assert len(stream(redis_server, "stolen")) == 1  # the deposed owner wrote nothing more
        r.close()
