"""Operators' metrics: every server process (cluster or not) serves the Prometheus text exposition
format (version 0.0.4) at ``/metrics`` on an opt-in port (``pgboard-server --metrics-port PORT``,
127.0.0.1 unless ``--metrics-host``).

Written by hand (no dependency): counters that only go up (rates are the scraper's job:
``rate(pgboard_operations_total[1m])``), gauges read from the server at scrape time, and one histogram
(the store's commit latency). Counting costs the hot path one uncontended lock and two clock reads a
commit (the commit of a whole input chunk, not of each operation); connections are counted once, when
they close. Bytes on the wire come from the kernel (Linux ``TCP_INFO``: bytes received and bytes the
peer acknowledged, ciphertext under TLS), so the send path counts nothing; elsewhere they are absent.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from pgboard_server import lockorder

if TYPE_CHECKING:
    from pgboard_server.server import BoardServer
    from pgboard_server.session import Session
    from pgboard_server.store import Store

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# seconds: the store commit latency histogram's upper bounds (a WAL commit is well under 1 ms here;
# a cluster commit adds a Redis round trip; a full or slow disk shows in the top buckets)
COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
MAX_REASON_LABEL = 32  # characters of a close reason in a label (the server's reasons are shorter)
_TCP_INFO = getattr(socket, "TCP_INFO", None)
_TCP_INFO_SIZE = 136  # struct tcp_info up to tcpi_bytes_received (Linux 4.6+)
_BYTES_AT = struct.Struct("=QQ")  # tcpi_bytes_acked, tcpi_bytes_received
_BYTES_OFFSET = 120


def wire_bytes(sock: socket.socket) -> tuple[int, int] | None:
    """(bytes sent and acknowledged by the peer, bytes received) of a TCP socket, from the kernel;
    None where TCP_INFO is not there (not Linux) or too old to carry them."""
    if _TCP_INFO is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _TCP_INFO_SIZE)
    except (OSError, ValueError):  # closed meanwhile
        return None
    if len(info) < _TCP_INFO_SIZE:
        return None
    sent, received = _BYTES_AT.unpack_from(info, _BYTES_OFFSET)
    return int(sent), int(received)


class Histogram:
    """Cumulative buckets, a sum and a count (Prometheus' histogram). Not locked: Metrics locks."""

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        i = 0
        while i < len(self.bounds) and value > self.bounds[i]:
            i += 1
        self.counts[i] += 1
        self.sum += value
        self.count += 1

    def lines(self, name: str) -> Iterable[str]:
        total = 0
        for bound, n in zip((*self.bounds, float("inf")), self.counts, strict=True):
            total += n
            le = "+Inf" if bound == float("inf") else repr(bound)
            yield f'{name}_bucket{{le="{le}"}} {total}'
        yield f"{name}_sum {self.sum!r}"
        yield f"{name}_count {self.count}"


class Metrics:
    """A server's counters; ``render()`` adds the gauges read from ``server`` at scrape time."""

    def __init__(self) -> None:
        self._lock = lockorder.leaf("metrics")  # after every other lock (held for a few additions)
        self.operations = 0
        self.commits = 0
        self.commit_failures = 0
        self.commit_seconds = Histogram(COMMIT_BUCKETS)
        self.connections = 0  # closed ones; the open ones are read at scrape time
        self.disconnects: Counter[str] = Counter()  # by close reason ("too slow": a slow reader dropped)
        self.refusals: Counter[str] = Counter()  # rate-limit refusals, by kind
        self.closed_sent = 0  # wire bytes of connections that have closed
        self.closed_received = 0
        self.extra: list[Callable[[], Iterable[str]]] = []  # more lines (the cluster's lease state)

    # -- hooks

    def watch_store(self, store: Store) -> None:
        """Time every commit of operations of ``store`` (its ``append_ops``, wrapped on the instance)."""
        commit = store.append_ops
        clock = time.perf_counter

        def timed(room: str, echoes: Sequence[tuple[int, str]]) -> None:
            started = clock()
            try:
                commit(room, echoes)
            except BaseException:
                with self._lock:
                    self.commit_failures += 1
                raise
            spent = clock() - started
            with self._lock:
                self.commits += 1
                self.operations += len(echoes)
                self.commit_seconds.observe(spent)

        store.append_ops = timed  # type: ignore[method-assign]

    def refused(self, kind: str) -> None:
        """A rate-limit refusal of ``kind`` ("op", "chat", "cursor", "input", "join")."""
        with self._lock:
            self.refusals[kind] += 1

    def connection_closed(self, session: Session) -> None:
        """``session``'s socket is about to close: count it, why, and its bytes."""
        counted = wire_bytes(session.sock)
        with self._lock:
            self.connections += 1
            self.disconnects[reason_label(session.close_reason)] += 1
            if counted is not None:
                self.closed_sent += counted[0]
                self.closed_received += counted[1]

    # -- the exposition

    def render(self, server: BoardServer) -> str:
        sessions = server.sessions
        rooms = server.rooms.all() if server.rooms is not None else []
        queued = [int(getattr(s, "_queued", 0)) for s in sessions]  # one read each, no lock
        sent = received = 0
        have_bytes = _TCP_INFO is not None
        for s in sessions:
            counted = wire_bytes(s.sock)
            if counted is not None:
                sent += counted[0]
                received += counted[1]
        with self._lock:
            out: list[str] = []
            metric = _Writer(out)
            metric("pgboard_rooms", "gauge", "rooms held in memory", [("", len(rooms))])
            members = sum(len(r.members) for r in rooms)
            metric("pgboard_members", "gauge", "members of the rooms held", [("", members)])
            metric("pgboard_connections", "gauge", "open connections", [("", len(sessions))])
            metric(
                "pgboard_connections_total",
                "counter",
                "connections",
                [("", self.connections + len(sessions))],
            )
            metric(
                "pgboard_disconnects_total",
                "counter",
                "connections closed, by reason ('too slow': a slow reader dropped; 'flooding')",
                [(f'reason="{_label(r)}"', n) for r, n in sorted(self.disconnects.items())],
            )
            slow = self.disconnects.get("too slow", 0)
            metric("pgboard_slow_reader_drops_total", "counter", "slow readers dropped", [("", slow)])
            metric(
                "pgboard_rate_limit_refusals_total",
                "counter",
                "inputs refused rate_limited, by kind",
                [(f'kind="{_label(k)}"', n) for k, n in sorted(self.refusals.items())],
            )
            metric("pgboard_operations_total", "counter", "operations committed", [("", self.operations)])
            metric("pgboard_store_commits_total", "counter", "commits of operations", [("", self.commits)])
            metric(
                "pgboard_store_commit_failures_total",
                "counter",
                "commits refused",
                [("", self.commit_failures)],
            )
            if have_bytes:
                metric(
                    "pgboard_bytes_received_total",
                    "counter",
                    "bytes received on the wire",
                    [("", self.closed_received + received)],
                )
                metric(
                    "pgboard_bytes_sent_total",
                    "counter",
                    "bytes sent on the wire (acknowledged by the peer)",
                    [("", self.closed_sent + sent)],
                )
            metric("pgboard_send_queue_bytes", "gauge", "bytes queued for clients", [("", sum(queued))])
            metric(
                "pgboard_send_queue_max_bytes",
                "gauge",
                "bytes queued for the most behind client",
                [("", max(queued, default=0))],
            )
            out.append("# HELP pgboard_store_commit_seconds seconds a commit of operations took")
            out.append("# TYPE pgboard_store_commit_seconds histogram")
            out.extend(self.commit_seconds.lines("pgboard_store_commit_seconds"))
        for more in self.extra:
            out.extend(more())
        return "\n".join(out) + "\n"


class _Writer:
    def __init__(self, out: list[str]) -> None:
        self.out = out

    def __call__(self, name: str, kind: str, what: str, samples: Iterable[tuple[str, float]]) -> None:
        self.out.append(f"# HELP {name} {what}")
        self.out.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self.out.append(f"{name}{{{labels}}} {value}" if labels else f"{name} {value}")


def gauge(name: str, what: str, value: float, kind: str = "gauge") -> list[str]:
    """The lines of one unlabelled metric (for ``Metrics.extra``)."""
    return [f"# HELP {name} {what}", f"# TYPE {name} {kind}", f"{name} {value}"]


def reason_label(reason: str) -> str:
    """A close reason as a label of few values: "kicked by NICK: WHY" is "kicked" (a label per nick and
    reason would let an operator's kicks grow every scrape without bound)."""
    reason = reason or "quit"
    word = reason.split(" by ", 1)[0]
    return word if len(word) <= MAX_REASON_LABEL else word[:MAX_REASON_LABEL]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsEndpoint:
    """``GET /metrics`` over HTTP in a thread of its own; ``start()`` binds (port 0: any free one)."""

    def __init__(self, server: BoardServer, host: str, port: int) -> None:
        self.server = server
        self.host, self.port = host, port
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.address: tuple[str, int] = (host, port)

    def start(self) -> None:
        board = self.server

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path.split("?", 1)[0] != "/metrics":
                    self.send_error(404, "only /metrics is here")
                    return
                body = board.metrics.render(board).encode()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
                log.debug("metrics: " + format, *args)

        http = ThreadingHTTPServer((self.host, self.port), Handler)
        http.daemon_threads = True
        self._http = http
        self.address = http.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=http.serve_forever, name="pgboard-metrics", daemon=True)
        self._thread.start()
        log.info("metrics on http://%s:%d/metrics", *self.address)

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
        if self._thread is not None:
            self._thread.join(1.0)
