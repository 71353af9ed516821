"""A load generator that speaks pgboard's protocol: N clients in one room, drawing.

Every operation carries its client, its number and its scheduled send time in its ``oid``
(``c<client>.<n>.<microseconds>``), which every server echoes back unchanged, so each receiving client
measures the end-to-end latency of every operation it receives and checks that, per sender, the
numbers arrive as 0, 1, 2, ... with nothing lost, doubled or reordered. Latency is taken from the
*scheduled* send time: a generator that falls behind shows up in the figures instead of hiding a stall.

Modes: ``rate`` (each client sends ``rate`` operations per second, a pencil stroke growing by one
``extend`` every 33 ms, a new stroke every ``STROKE_OPS``), ``max`` (each client keeps ``window``
operations of its own in flight and sends the next when its own echo returns), ``idle`` (connect,
join, send nothing: for memory). The clients are spread over ``processes`` worker processes, each a
single-threaded selector loop; they connect at one agreed instant, run between agreed instants, then
drain until every receiver has every operation that was sent (or ``drain_timeout`` passes).
Loopback only, bounded in count and time; every worker is joined or terminated before ``run_load``
returns.
"""

from __future__ import annotations

import heapq
import multiprocessing as mp
import re
import resource
import selectors
import socket
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pgboard import ids

TERMINATOR = "Ø".encode()
STROKE_OPS = 60  # operations per pencil stroke (an add, then extends of 2 points each: 2 s of drawing)
RECV_SIZE = 256 * 1024
PIPE_TIMEOUT = 30.0  # seconds the coordinator waits for any worker message
_OID = re.compile(rb'"oid":"c(\d+)\.(\d+)\.(\d+)"')
_ERROR = b'"t":"error"'
_CAUGHT_UP = b'"t":"caught_up"'


@dataclass(frozen=True)
class LoadSpec:
    port: int
    clients: int
    mode: str = "rate"  # rate | max | idle
    duration: float = 3.0
    rate: float = 30.0  # operations per second per client (mode rate)
    window: int = 8  # own operations in flight per client (mode max)
    handshake: bool = True  # pgboard: join the room first; the peers relay from the first byte
    room: str = "bench"
    processes: int = 1
    tag: str = "b"
    leave_at: float | None = None  # seconds into the run when client 0 leaves (closes its socket)
    join_timeout: float = 10.0
    drain_timeout: float = 30.0
    host: str = "127.0.0.1"


@dataclass
class LoadResult:
    spec: LoadSpec
    sent: int = 0
    expected: int = 0
    delivered: int = 0
    lost: int = 0  # deliveries that never came (after the drain)
    out_of_order: int = 0  # a number seen again, or a gap that was filled later: doubled or reordered
    errors: int = 0  # error frames received
    join_time: float = 0.0  # seconds from the agreed connect instant to the last client joined
    join_failed: int = 0
    elapsed: float = 0.0  # seconds of the send phase
    drain_time: float = 0.0
    gen_cpu: float = 0.0  # CPU seconds of all workers during the send phase
    latencies: array = field(default_factory=lambda: array("q"))  # microseconds, every delivery
    server_cpu: float = 0.0  # filled by the caller: CPU seconds of the server during the send phase
    rss_samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lost == 0 and self.out_of_order == 0 and self.errors == 0 and self.join_failed == 0

    @property
    def throughput(self) -> float:
        """Deliveries per second: operations received by all clients over the send phase and drain."""
        span = self.elapsed + self.drain_time
        return self.delivered / span if span > 0 else 0.0

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds."""
        if not self.latencies:
            return float("nan")
        data = self._sorted()
        return data[min(len(data) - 1, int(p / 100 * len(data)))] / 1000

    def _sorted(self) -> list[int]:
        cached = getattr(self, "_sorted_cache", None)
        if cached is None:
            cached = sorted(self.latencies)
            self._sorted_cache = cached
        return cached


class _Client:
    __slots__ = (
        "index",
        "sock",
        "tail",
        "ready",
        "expect",
        "sent",
        "inflight",
        "out",
        "stroke",
        "prefix",
        "gone",
        "leaving",
    )

    def __init__(self, index: int, sock: socket.socket) -> None:
        self.index = index
        self.sock = sock
        self.tail = b""
        self.ready = False
        self.expect: dict[bytes, int] = {}  # sender index (ASCII) -> next number expected from it
        self.sent = 0
        self.inflight = 0
        self.out = b""
        self.stroke = ""
        self.prefix = ""  # of its object ids: the device id of its client secret (pgboard/ids.py)
        self.gone = False
        self.leaving = False


class _Worker:
    """One process's share of the clients: a selector loop with no threads."""

    def __init__(self, conn: Any, spec: LoadSpec, indices: list[int]) -> None:
        self.conn = conn
        self.spec = spec
        self.indices = indices
        self.sel = selectors.DefaultSelector()
        self.clients: list[_Client] = []
        self.lat = array("q")
        self.out_of_order = 0
        self.errors = 0
        self.sending = False

    # -- set-up

    def connect_all(self) -> tuple[float, int]:
        spec = self.spec
        t0 = time.monotonic()
        for i in self.indices:
            sock = socket.create_connection((spec.host, spec.port), timeout=spec.join_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if spec.handshake:
                join = f'{{"t":"join","nick":"c{i}","room":"{spec.room}","client":"{spec.tag}-{i}"}}'
                sock.sendall(join.encode() + TERMINATOR)
            sock.setblocking(False)
            cl = _Client(i, sock)
            cl.ready = not spec.handshake
            self.clients.append(cl)
            self.sel.register(sock, selectors.EVENT_READ, cl)
        deadline = t0 + spec.join_timeout
        while not all(c.ready for c in self.clients) and time.monotonic() < deadline:
            for key, _ in self.sel.select(0.05):
                self.on_readable(key.data)
        failed = sum(not c.ready for c in self.clients)
        return time.monotonic() - t0, failed

    # -- the hot path

    def on_readable(self, cl: _Client) -> None:
        try:
            data = cl.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(cl)
            return
        buf = cl.tail + data if cl.tail else data
        cut = buf.rfind(TERMINATOR)
        if cut < 0:
            cl.tail = buf
            return
        cl.tail = buf[cut + 2 :]
        body = buf[:cut]
        if not cl.ready:  # joining: skip the handshake and catch-up
            if _CAUGHT_UP in body:
                cl.ready = True
            return
        if _ERROR in body:
            self.errors += body.count(_ERROR)
        now = time.monotonic_ns() // 1000
        expect = cl.expect
        me = str(cl.index).encode()
        own = 0
        append = self.lat.append
        for s, k, t in _OID.findall(body):
            n = int(k)
            e = expect.get(s, 0)
            if n == e:
                expect[s] = n + 1
            else:
                self.out_of_order += 1
                if n > e:
                    expect[s] = n + 1
            if s == me:
                own += 1
            append(now - int(t))
        if own:
            cl.inflight -= own
            if self.sending and self.spec.mode == "max":
                self.fill(cl, now)

    def fill(self, cl: _Client, now_us: int) -> None:
        if cl.gone or cl.leaving:
            return
        frames = []
        while cl.inflight < self.spec.window:
            frames.append(self.op(cl, now_us))
        if frames:
            self.send(cl, b"".join(frames))

    def op(self, cl: _Client, t_us: int) -> bytes:
        k = cl.sent
        cl.sent += 1
        cl.inflight += 1
        i = cl.index
        oid = f"c{i}.{k}.{t_us}"
        x = (i * 53 + k * 7) % 3000 + 100
        y = (i * 31 + k * 5) % 1600 + 100
        if k % STROKE_OPS == 0:
            if not cl.prefix:
                cl.prefix = ids.device_id(f"{self.spec.tag}-{i}")  # the secret of its join
            cl.stroke = ids.scoped(cl.prefix, f"{self.spec.tag}.{i}.{k // STROKE_OPS}")
            text = (
                f'{{"t":"add","oid":"{oid}","obj":{{"id":"{cl.stroke}","kind":"pencil",'
                f'"points":[[{x},{y}]],"color":"#1f77b4"}}}}'
            )
        else:
            text = f'{{"t":"extend","oid":"{oid}","id":"{cl.stroke}","points":[[{x},{y}],[{x + 3},{y + 2}]]}}'
        return text.encode() + TERMINATOR

    def send(self, cl: _Client, data: bytes) -> None:
        if cl.gone or cl.leaving:
            return
        if cl.out:
            cl.out += data
            return
        try:
            n = cl.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self.drop(cl)
            return
        if n < len(data):
            cl.out = data[n:]
            self.sel.modify(cl.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, cl)

    def on_writable(self, cl: _Client) -> None:
        try:
            n = cl.sock.send(cl.out)
        except BlockingIOError:
            return
        except OSError:
            self.drop(cl)
            return
        cl.out = cl.out[n:]
        if not cl.out:
            self.sel.modify(cl.sock, selectors.EVENT_READ, cl)

    def leave(self, cl: _Client) -> None:
        """Leave cleanly: no more operations, FIN after the last one, read until the server closes (a
        close with unread input would reset the connection and discard what the server had not read)."""
        cl.leaving = True
        try:
            cl.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.drop(cl)

    def drop(self, cl: _Client) -> None:
        if not cl.gone:
            cl.gone = True
            self.sel.unregister(cl.sock)
            cl.sock.close()

    def poll(self, timeout: float) -> None:
        for key, events in self.sel.select(timeout):
            if events & selectors.EVENT_WRITE:
                self.on_writable(key.data)
            if events & selectors.EVENT_READ:
                self.on_readable(key.data)

    # -- phases

    def run(self, start_ns: int, end_ns: int, leave_ns: int | None) -> None:
        spec = self.spec
        while time.monotonic_ns() < start_ns:
            self.poll(max(0.0, (start_ns - time.monotonic_ns()) / 1e9))
        self.sending = True
        heap: list[tuple[int, int]] = []
        if spec.mode == "rate":
            period = int(1e9 / spec.rate)
            for n, cl in enumerate(self.clients):  # spread the clients over one period
                heap.append((start_ns + period * ((cl.index * 7919) % spec.clients) // spec.clients, n))
            heapq.heapify(heap)
        elif spec.mode == "max":
            now_us = time.monotonic_ns() // 1000
            for cl in self.clients:
                self.fill(cl, now_us)
        leaver = next((c for c in self.clients if c.index == 0), None) if leave_ns else None
        while True:
            now = time.monotonic_ns()
            if now >= end_ns:
                break
            if leaver is not None and now >= leave_ns and not leaver.out:  # type: ignore[operator]
                self.leave(leaver)
                leaver = None
            while heap and heap[0][0] <= now:
                due, n = heapq.heappop(heap)
                cl = self.clients[n]
                if cl.gone or cl.leaving:
                    continue
                self.send(cl, self.op(cl, due // 1000))  # stamped with when it was due, not when sent
                if due + period < end_ns and not cl.gone and not cl.leaving:
                    heapq.heappush(heap, (due + period, n))
            wake = min(heap[0][0] if heap else end_ns, end_ns)
            if leaver is not None:
                wake = min(wake, leave_ns)  # type: ignore[type-var]
            self.poll(max(0.0, (wake - time.monotonic_ns()) / 1e9))
        self.sending = False

    def drain(self, sent: dict[int, int], timeout: float) -> None:
        wanted = {str(i).encode(): n for i, n in sent.items() if n}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(c.gone or c.leaving or _complete(c.expect, wanted) for c in self.clients) and not any(
                c.out for c in self.clients
            ):
                return
            self.poll(0.05)

    def tally(self, sent: dict[int, int], leaver: int | None) -> dict[str, int]:
        wanted = {str(i).encode(): n for i, n in sent.items() if n}
        total = sum(wanted.values())
        expected = delivered = lost = 0
        for c in self.clients:
            if c.index == leaver:
                continue
            expected += total
            for s, n in wanted.items():
                got = min(c.expect.get(s, 0), n)
                delivered += got
                lost += n - got
        return {"expected": expected, "delivered": delivered, "lost": lost}

    def close(self) -> None:
        for c in self.clients:
            if not c.gone:
                c.sock.close()
        self.sel.close()


def _complete(expect: dict[bytes, int], wanted: dict[bytes, int]) -> bool:
    return all(expect.get(s, 0) >= n for s, n in wanted.items())


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _worker_main(conn: Any, spec: LoadSpec, indices: list[int]) -> None:
    worker = _Worker(conn, spec, indices)
    try:
        conn.send(("alive",))
        _, connect_ns = conn.recv()
        while (left := connect_ns - time.monotonic_ns()) > 0:
            time.sleep(left / 1e9)  # a deadline: every worker connects at the same instant
        joined, failed = worker.connect_all()
        conn.send(("ready", joined, failed))
        _, start_ns, end_ns, leave_ns = conn.recv()
        cpu0 = _cpu()
        worker.run(start_ns, end_ns, leave_ns)
        cpu = _cpu() - cpu0
        conn.send(("sent", {c.index: c.sent for c in worker.clients}))
        _, sent = conn.recv()
        t0 = time.monotonic()
        worker.drain(sent, spec.drain_timeout)
        drain = time.monotonic() - t0
        counts = worker.tally(sent, 0 if spec.leave_at is not None else None)
        counts.update(out_of_order=worker.out_of_order, errors=worker.errors)
        conn.send(("done", counts, cpu, drain, worker.lat.tobytes()))
    finally:
        worker.close()
        conn.close()


def _expect(conns: list[Any], tag: str, timeout: float = PIPE_TIMEOUT) -> list[tuple[Any, ...]]:
    out = []
    for c in conns:
        if not c.poll(timeout):
            raise TimeoutError(f"a load worker did not report {tag!r} within {timeout} s")
        msg = c.recv()
        if msg[0] != tag:
            raise RuntimeError(f"load worker sent {msg[0]!r}, expected {tag!r}")
        out.append(msg)
    return out


def run_load(
    spec: LoadSpec,
    on_start: Callable[[], None] | None = None,
    on_end: Callable[[], None] | None = None,
    sample: Callable[[], int] | None = None,
) -> LoadResult:
    """Run one load against a server already listening on ``spec.port``. ``on_start`` and ``on_end``
    are called at the edges of the send phase (to read the server's CPU time); ``sample`` (the
    server's RSS) is called every ``RSS_EVERY`` seconds during it."""
    ctx = mp.get_context("spawn")  # no fork of a process that may hold threads and sockets
    nproc = max(1, min(spec.processes, spec.clients))
    shares = [list(range(spec.clients))[w::nproc] for w in range(nproc)]
    conns, procs = [], []
    result = LoadResult(spec)
    try:
        for share in shares:
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_worker_main, args=(child, spec, share), daemon=True)
            p.start()
            child.close()
            conns.append(parent)
            procs.append(p)
        _expect(conns, "alive")
        connect_ns = time.monotonic_ns() + 100_000_000
        for c in conns:
            c.send(("connect", connect_ns))
        ready = _expect(conns, "ready", spec.join_timeout + PIPE_TIMEOUT)
        result.join_time = max(r[1] for r in ready)
        result.join_failed = sum(r[2] for r in ready)
        start_ns = time.monotonic_ns() + 100_000_000
        end_ns = start_ns + int(spec.duration * 1e9)
        leave_ns = start_ns + int(spec.leave_at * 1e9) if spec.leave_at is not None else None
        for c in conns:
            c.send(("go", start_ns, end_ns, leave_ns))
        _wait_until(start_ns)
        if on_start:
            on_start()
        while time.monotonic_ns() < end_ns:
            if sample:
                result.rss_samples.append(((time.monotonic_ns() - start_ns) / 1e9, sample()))
            _wait_until(min(end_ns, time.monotonic_ns() + int(RSS_EVERY * 1e9)))
        if on_end:
            on_end()
        if sample:
            result.rss_samples.append((spec.duration, sample()))
        result.elapsed = spec.duration
        sent: dict[int, int] = {}
        for msg in _expect(conns, "sent"):
            sent.update(msg[1])
        result.sent = sum(sent.values())
        for c in conns:
            c.send(("expect", sent))
        for msg in _expect(conns, "done", spec.drain_timeout + PIPE_TIMEOUT):
            counts, cpu, drain, lat = msg[1:]
            result.expected += counts["expected"]
            result.delivered += counts["delivered"]
            result.lost += counts["lost"]
            result.out_of_order += counts["out_of_order"]
            result.errors += counts["errors"]
            result.gen_cpu += cpu
            result.drain_time = max(result.drain_time, drain)
            result.latencies.frombytes(lat)
    finally:
        for c in conns:
            c.close()
        for p in procs:
            p.join(5)
            if p.is_alive():
                p.terminate()
                p.join(5)
    return result


RSS_EVERY = 0.25  # seconds between two samples of the server's RSS


def _wait_until(deadline_ns: int) -> None:
    while (left := deadline_ns - time.monotonic_ns()) > 0:
        time.sleep(left / 1e9)
