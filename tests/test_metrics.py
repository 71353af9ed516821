"""The Prometheus metrics (server/metrics.py): scraped over HTTP from a real server after real traffic."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from pgboard_server.limits import NO_RATE_LIMITS
from pgboard_server.metrics import Histogram
from pgboard_server.server import BoardServer
from support import WAIT, RawClient, ServerProcess, running_server
from test_server_slow import QUEUE_LIMIT, SEND_BUFFER, flood

from pgboard.protocol import Add, BoardObject, Error, Hello, Say

SAMPLE_TYPES = {"counter", "gauge", "histogram"}


def scrape(address: tuple[str, int]) -> tuple[dict[str, float], str]:
    """The samples of /metrics by name with labels (``name{labels}``), and the content type; every
    sample line is checked to be declared by a TYPE line."""
    with urllib.request.urlopen(f"http://{address[0]}:{address[1]}/metrics", timeout=WAIT) as reply:
        text = reply.read().decode()
        kind = reply.headers["Content-Type"]
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for raw in text.splitlines():
        if raw.startswith("# TYPE "):
            _, _, name, what = raw.split(" ")
            assert what in SAMPLE_TYPES
            typed.add(name)
        elif raw and not raw.startswith("#"):
            key, value = raw.rsplit(" ", 1)
            base = key.split("{")[0]
            family = base.removesuffix("_bucket").removesuffix("_sum").removesuffix("_count")
            assert base in typed or family in typed, f"{key} has no TYPE line"
            samples[key] = float(value)
    return samples, kind


def scrape_until(server: BoardServer, ready: Callable[[dict[str, float]], bool]) -> dict[str, float]:
    """Scrape until ``ready`` says the samples show it (bounded by WAIT; the last scrape either way)."""
    assert server.metrics_endpoint is not None
    deadline = time.monotonic() + WAIT
    while True:
        samples, _ = scrape(server.metrics_endpoint.address)
        if ready(samples) or time.monotonic() > deadline:
            return samples
        server._stopping.wait(0.01)


def line(oid: str, x: int) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


def test_metrics_count_what_clients_did() -> None:
    with running_server(metrics_address=("127.0.0.1", 0)) as server:
        assert server.metrics_endpoint is not None
        before, kind = scrape(server.metrics_endpoint.address)
        assert kind.startswith("text/plain; version=0.0.4")
        assert before["pgboard_operations_total"] == 0
        with RawClient(server.address) as a, RawClient(server.address) as b:
            assert isinstance(a.recv(), Hello) and isinstance(b.recv(), Hello)
            a.join("ann", "metrics")
            b.join("bob", "metrics")
            for i in range(20):
                a.send(Add(f"op{i}", line(a.obj_id(f"l{i}"), 10 + i)))
            a.recv_until(lambda m: isinstance(m, Add) and m.oid == "op19")
            b.recv_until(lambda m: isinstance(m, Add) and m.oid == "op19")
            during, _ = scrape(server.metrics_endpoint.address)
        assert during["pgboard_rooms"] == 1
        assert during["pgboard_members"] == 2
        assert during["pgboard_connections"] == 2
        assert during["pgboard_operations_total"] == 20
        assert during["pgboard_store_commit_seconds_count"] == during["pgboard_store_commits_total"] >= 1
        commits = during["pgboard_store_commits_total"]
        assert during['pgboard_store_commit_seconds_bucket{le="+Inf"}'] == commits
        # both clients received the 20 echoes: more than 20 lines' worth of bytes went out and came in
        assert during["pgboard_bytes_sent_total"] > 2 * 20 * 60
        assert during["pgboard_bytes_received_total"] > 20 * 60


def test_metrics_count_closed_connections_and_rate_limit_refusals() -> None:
    with running_server(metrics_address=("127.0.0.1", 0), chat_rate=0.001, chat_burst=1) as server:
        assert server.metrics_endpoint is not None
        with RawClient(server.address) as a:
            a.recv()
            a.join("ann", "limits")
            a.send(Say("one"))
            a.send(Say("two"))  # over the burst: refused rate_limited
            a.recv_until(lambda m: isinstance(m, Error) and m.code == "rate_limited")
        server_sessions_gone = lambda: not server.sessions  # noqa: E731
        for _ in range(500):  # bounded: the reader thread notices the close and forgets the session
            if server_sessions_gone():
                break
            server._stopping.wait(0.01)
        after, _ = scrape(server.metrics_endpoint.address)
    assert after['pgboard_rate_limit_refusals_total{kind="chat"}'] == 1
    assert after["pgboard_connections"] == 0
    assert after["pgboard_connections_total"] == 1
    assert after['pgboard_disconnects_total{reason="quit"}'] == 1


def test_metrics_serve_only_their_path() -> None:
    with running_server(metrics_address=("127.0.0.1", 0)) as server:
        assert server.metrics_endpoint is not None
        host, port = server.metrics_endpoint.address
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://{host}:{port}/other", timeout=WAIT)
        assert refused.value.code == 404


def test_metrics_are_off_unless_asked() -> None:
    with running_server() as server:
        assert server.metrics_endpoint is None


@pytest.mark.reliability
def test_kicks_with_any_reason_add_one_label_not_one_per_nick_and_reason() -> None:
    with running_server(metrics_address=("127.0.0.1", 0)) as server:
        assert server.metrics_endpoint is not None
        with RawClient(server.address) as op:
            op.recv()
            op.join("boss", "kicks", client="boss-secret")
            for i in range(3):
                with RawClient(server.address, source=f"127.0.0.{i + 2}") as guest:  # a kick holds an address
                    guest.recv()
                    guest.join(f"guest{i}", "kicks", client=f"guest-{i}")
                    op.send(Say(f"/kick guest{i} reason number {i}"))
                    guest.wait_closed()
            for _ in range(500):  # bounded: the readers forget the kicked sessions
                if len(server.sessions) == 1:
                    break
                server._stopping.wait(0.01)
            after, _ = scrape(server.metrics_endpoint.address)
    kicks = {k: v for k, v in after.items() if k.startswith("pgboard_disconnects_total")}
    assert kicks == {'pgboard_disconnects_total{reason="kicked"}': 3}


def test_histogram_buckets_are_cumulative() -> None:
    h = Histogram((0.1, 1.0))
    for v in (0.05, 0.1, 0.5, 2.0):
        h.observe(v)
    lines = list(h.lines("x"))
    assert lines[:3] == ['x_bucket{le="0.1"} 2', 'x_bucket{le="1.0"} 3', 'x_bucket{le="+Inf"} 4']
    assert lines[-1] == "x_count 4"


def test_the_metrics_port_of_the_server_command_is_scraped(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "m.db", "--metrics-port", "0")
    try:
        url = server.next_line().removeprefix("metrics on ")
        host, port = url.removeprefix("http://").removesuffix("/metrics").rsplit(":", 1)
        with RawClient(server.address) as a:
            a.join("ann", "scraped")
            samples, _ = scrape((host, int(port)))
        assert [samples[f"pgboard_{name}"] for name in ("rooms", "members", "connections")] == [1, 1, 1]
    finally:
        server.kill()


def test_queue_depths_and_slow_reader_drops_show_what_a_stalled_reader_costs() -> None:
    limits = {"send_queue_limit": 4 * 1024 * 1024, "send_buffer": SEND_BUFFER, **NO_RATE_LIMITS}
    with running_server(metrics_address=("127.0.0.1", 0), **limits) as server:
        assert server.metrics_endpoint is not None
        stalled = RawClient(server.address, rcvbuf=4096)
        stalled.join("stalled", room="busy")
        stalled.catch_up()  # then it reads nothing: what the room says waits in its queue
        flood(server, "busy", stalled)  # ~1 MB of echoes, a quarter of the queue's bound
        behind, _ = scrape(server.metrics_endpoint.address)
        assert behind["pgboard_send_queue_max_bytes"] > 500_000  # the kernel's buffers hold the rest
        assert behind["pgboard_send_queue_bytes"] >= behind["pgboard_send_queue_max_bytes"]
        assert behind["pgboard_slow_reader_drops_total"] == 0
        stalled.close()
    limits["send_queue_limit"] = QUEUE_LIMIT  # a bound the flood passes: the stalled reader is dropped
    with running_server(metrics_address=("127.0.0.1", 0), **limits) as server:
        assert server.metrics_endpoint is not None
        stalled = RawClient(server.address, rcvbuf=4096)
        stalled.join("stalled", room="busy")
        stalled.catch_up()
        _, departures = flood(server, "busy", stalled)
        assert [d.reason for d in departures] == ["too slow"]
        stalled.close()  # as its user's client does, told or not: the server's side ends then
        dropped = scrape_until(server, lambda m: m["pgboard_slow_reader_drops_total"] > 0)
        assert dropped["pgboard_slow_reader_drops_total"] == 1
        assert dropped['pgboard_disconnects_total{reason="too slow"}'] == 1
