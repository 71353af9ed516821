"""``python -m bench.soak [--minutes 10] [--clients 50]`` (``make soak``): a long run at a realistic rate.

``clients`` people draw in one room of a pgboard server (a subprocess, bench.peers.ServerProcess, with
its store in a temporary SQLite file) at 30 operations a second each, for ``minutes``: bench.loadgen's
"rate" mode, whose receivers check that every operation reaches every client once, in order. Every
``SAMPLE_EVERY`` seconds the server's RSS and thread count are read from /proc and printed; the verdict
comes at the end.

People also erase: a janitor, the room's operator (it joins first), deletes each pencil stroke as soon
as its author has started the next one (the add of stroke k+1 arrives after the last extend of stroke
k: a connection's input is applied in order). The board then holds about one stroke per client, so a
flat memory is what a server without leaks must show; without it the board would grow by design (some
20 MiB a minute at 50 clients) and hide any leak.

The verdict (``Verdict``):

- memory: the least-squares slope of RSS over the second half of the run is at most
  ``SLOPE_LIMIT_MIB_PER_MIN`` plus what the board's bounded memories take by design while they fill
  (pgboard/board.py): the last ``MAX_REMEMBERED_OPS`` operation ids of each author (to answer a
  resend with ``ack``; about 230 bytes live each, by tracemalloc in a server under this load; full
  within a minute) and the last ``MAX_HISTORY`` undo steps of each author (about 450 bytes each, one a
  stroke: full after about 17 minutes). Each id and step the run adds in the second half, up to each
  author's cap, is allowed ``REMEMBERED_OP_BYTES`` or ``HISTORY_STEP_BYTES``; past the caps nothing is
  allowed, so a leak of about 25 bytes or more per operation (a frame, a queue entry) or any
  per-connection leak shows. A 20-minute run (``--minutes 20``) shows the plateau: on 2026-12-01 the
  RSS went 99.8 -> 100.3 MiB over its last three minutes;
- threads: the server's count is the same at the end (clients gone) as at the start (before they came),
  and steady while they draw;
- deliveries: nothing lost, doubled or reordered, no error frame, every client joined (loadgen's checks),
  and none of the janitor's deletes refused.
"""

from __future__ import annotations

import argparse
import re
import selectors
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import STROKE_OPS, LoadResult, LoadSpec, run_load
from bench.peers import ServerProcess
from pgboard.board import MAX_HISTORY, MAX_REMEMBERED_OPS
from pgboard.protocol import TERMINATOR, Delete, Join, Pong, encode

ROOM = "soak"
TAG = "soak"  # loadgen's stroke ids are PREFIX:TAG.client.stroke
RATE = 30.0  # operations a second per client, as a pencil stroke sends them
SAMPLE_EVERY = 5.0  # seconds between two samples of the server's RSS and threads
SLOPE_LIMIT_MIB_PER_MIN = 2.0  # what "flat" allows over the second half, besides the remembered ids
REMEMBERED_OP_BYTES = 300  # RSS allowed per remembered operation id (Board._remember: the oid string,
# the (author, oid) key, the seq int, the dict's entry, a deque slot: about 230 bytes live, measured with
# tracemalloc in a server under this load), with room for the dict's doublings and the allocator's arenas
HISTORY_STEP_BYTES = 600  # RSS allowed per undo step an author keeps (a stroke's add, the janitor's
# delete: Board._History, up to MAX_HISTORY each; about 450 bytes live by tracemalloc on a board alone)
THREAD_POLL = 0.1  # seconds between two reads of /proc while the server ends the clients' threads
THREAD_WAIT = 15.0  # seconds the server has to end the clients' threads after they left
# the stroke id of an add echo, after its device prefix (pgboard/ids.py) (within one frame: a payload is
# ASCII, the terminator starts with 0xC3)
_STROKE = re.compile(rb'"t":"add"[^\xc3]*?"id":"([0-9a-f]{16}):' + TAG.encode() + rb"\.(\d+)\.(\d+)\"")
_REFUSED = re.compile(rb'"t":"(?:error|join_error)"')
_PING = re.compile(rb'"t":"ping"(?:,"n":(\d+))?')


@dataclass(frozen=True)
class Sample:
    seconds: float  # since the clients started drawing
    rss_mib: float
    threads: int


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise ValueError(f"no {key} for pid {pid}")


class Janitor:
    """The room's operator, on its own socket and thread: deletes each finished stroke. Reads every
    frame of the room (so it is never a slow reader) and answers nothing else; stopped by ``stop``."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=10.0)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(encode(Join(nick="janitor", room=ROOM, client="soak-janitor")))
        self.deleted = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._joined = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-janitor", daemon=True)
        self._thread.start()
        if not self._joined.wait(10.0) or self.errors:
            self.stop()
            raise RuntimeError(f"the janitor did not join: {self.errors or 'nothing within 10 s'}")

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        sel.register(self.sock, selectors.EVENT_READ)
        tail = b""
        while not self._stop.is_set():
            if not sel.select(0.2):
                continue
            data = self.sock.recv(256 * 1024)
            if not data:
                self.errors.append("the server closed the janitor's connection")
                self._joined.set()  # whoever waits for the join learns of it from errors
                return
            buf = tail + data
            cut = buf.rfind(TERMINATOR)
            if cut < 0:
                tail = buf
                continue
            tail, body = buf[cut + len(TERMINATOR) :], buf[:cut]
            if _REFUSED.search(body):
                self.errors += [
                    f.decode(errors="replace") for f in body.split(TERMINATOR) if _REFUSED.search(f)
                ]
            if not self._joined.is_set():
                if b'"t":"caught_up"' in body:
                    self._joined.set()
                continue  # (the server pings only after PING_INTERVAL of silence: not during a join)
            frames = [encode(Pong(int(n or 0))) for n in _PING.findall(body)]  # alive while nobody draws
            for prefix, client, stroke in _STROKE.findall(body):
                if int(stroke) > 0:  # its author has moved on: the previous stroke is finished
                    self.deleted += 1
                    sid = f"{prefix.decode()}:{TAG}.{int(client)}.{int(stroke) - 1}"
                    frames.append(encode(Delete(f"j{self.deleted}", sid)))
            if frames:
                self.sock.sendall(b"".join(frames))
        sel.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5.0)
        self.sock.close()


@dataclass
class Verdict:
    slope_mib_per_min: float
    slope_limit: float
    threads_start: int
    threads_during: tuple[int, int]  # lowest and highest while the clients drew
    threads_end: int
    load_ok: bool
    janitor_errors: list[str]

    @property
    def memory_flat(self) -> bool:
        return self.slope_mib_per_min <= self.slope_limit

    @property
    def threads_flat(self) -> bool:
        # a connection's writer thread comes and goes with its socket's stalls, and a silent member is
        # parked without a reader (server/idlewatch.py): the count moves while clients draw; a leak is
        # a thread still there after they left
        return self.threads_end <= self.threads_start

    @property
    def ok(self) -> bool:
        return self.memory_flat and self.threads_flat and self.load_ok and not self.janitor_errors


@dataclass
class SoakResult:
    minutes: float
    clients: int
    samples: list[Sample] = field(default_factory=list)
    load: LoadResult | None = None
    deleted: int = 0
    verdict: Verdict | None = None


def slope_per_minute(samples: list[Sample]) -> float:
    """Least-squares slope of RSS against time, in MiB a minute (0 with fewer than two samples)."""
    if len(samples) < 2:
        return 0.0
    n = len(samples)
    mt = sum(s.seconds for s in samples) / n
    mr = sum(s.rss_mib for s in samples) / n
    var = sum((s.seconds - mt) ** 2 for s in samples)
    if var == 0:
        return 0.0
    return sum((s.seconds - mt) * (s.rss_mib - mr) for s in samples) / var * 60


def wait_for_threads(pid: int, wanted: int, timeout: float = THREAD_WAIT) -> int:
    """The server's thread count once it is ``wanted`` or fewer, or ``timeout`` passed. Another
    process's threads send no event, so /proc is read every THREAD_POLL seconds (bounded by the
    deadline)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()  # never set: its wait is the pause between two reads
    while (count := _status(pid, "Threads")) > wanted and time.monotonic() < deadline:
        pause.wait(THREAD_POLL)
    return count


def remembered_mib_per_min(minutes: float, clients: int) -> float:
    """How fast the board's bounded memories grow over the second half, by design, until full: the
    remembered operation ids (each client's at RATE, the janitor's at one delete per stroke, each
    author's capped at MAX_REMEMBERED_OPS) and the undo steps (one a stroke for each client, one a
    delete for the janitor, each author's capped at MAX_HISTORY: at 30 operations a second a client
    fills its history in about 17 minutes, so a 10-minute soak sees it grow all along)."""
    if minutes <= 0:
        return 0.0
    end, mid = minutes * 60, minutes * 30

    def grown(rates: list[float], cap: int) -> float:
        return sum(min(r * end, cap) - min(r * mid, cap) for r in rates)

    strokes = RATE / STROKE_OPS  # a second, per client
    ids = grown([RATE] * clients + [clients * strokes], MAX_REMEMBERED_OPS)
    steps = grown([strokes] * clients + [clients * strokes], MAX_HISTORY)
    return (ids * REMEMBERED_OP_BYTES + steps * HISTORY_STEP_BYTES) / 2**20 / (minutes / 2)


def run_soak(
    minutes: float = 10.0, clients: int = 50, every: float = SAMPLE_EVERY, log: Callable[[str], None] = print
) -> SoakResult:
    result = SoakResult(minutes, clients)
    with tempfile.TemporaryDirectory(prefix="pgboard-soak-") as tmp:
        with ServerProcess("pgboard", Path(tmp) / "soak.sqlite3", log_path=Path(tmp) / "server.log") as srv:
            janitor = Janitor(srv.address)
            try:
                start_threads = _status(srv.pid, "Threads")
                log(
                    f"soak: {clients} clients at {RATE:g} operations/s each for {minutes:g} min; server pid "
                    f"{srv.pid}, {start_threads} threads before the clients"
                )
                t0 = [0.0]
                last = [-every]

                def sample() -> int:  # run_load calls it every RSS_EVERY seconds while the clients draw
                    now = time.monotonic()
                    if not t0[0]:
                        t0[0] = now
                    rss = _status(srv.pid, "VmRSS") * 1024
                    if now - t0[0] - last[0] >= every:
                        last[0] = now - t0[0]
                        s = Sample(last[0], rss / 2**20, _status(srv.pid, "Threads"))
                        result.samples.append(s)
                        log(
                            f"{s.seconds:7.1f} s  rss {s.rss_mib:7.1f} MiB  threads {s.threads:4d}  "
                            f"strokes erased {janitor.deleted}"
                        )
                    return rss

                spec = LoadSpec(
                    port=srv.port,
                    clients=clients,
                    mode="rate",
                    duration=minutes * 60,
                    rate=RATE,
                    room=ROOM,
                    tag=TAG,
                    processes=1 if clients <= 2 else 2,
                    join_timeout=30.0,
                    drain_timeout=60.0,
                )
                result.load = load = run_load(spec, sample=sample)
                end_threads = wait_for_threads(srv.pid, start_threads)
            finally:
                janitor.stop()
            result.deleted = janitor.deleted
    second_half = [s for s in result.samples if s.seconds >= minutes * 30]
    limit = SLOPE_LIMIT_MIB_PER_MIN + remembered_mib_per_min(minutes, clients)
    during = [s.threads for s in result.samples] or [start_threads]
    result.verdict = Verdict(
        slope_mib_per_min=slope_per_minute(second_half),
        slope_limit=limit,
        threads_start=start_threads,
        threads_during=(min(during), max(during)),
        threads_end=end_threads,
        load_ok=load.ok,
        janitor_errors=janitor.errors,
    )
    return result


def report(result: SoakResult) -> list[str]:
    v, load = result.verdict, result.load
    assert v is not None and load is not None
    yes = {True: "yes", False: "NO"}
    first = result.samples[0].rss_mib if result.samples else float("nan")
    lastr = result.samples[-1].rss_mib if result.samples else float("nan")
    return [
        f"operations sent {load.sent:,}, delivered {load.delivered:,} of {load.expected:,}; "
        f"lost {load.lost}, doubled or reordered {load.out_of_order}, error frames {load.errors}, "
        f"joins failed {load.join_failed}; strokes erased {result.deleted:,}; "
        f"latency p50 {load.percentile(50):.1f} ms, p99 {load.percentile(99):.1f} ms",
        f"memory: {first:.1f} -> {lastr:.1f} MiB; slope over the second half {v.slope_mib_per_min:+.2f} "
        f"MiB/min (limit {v.slope_limit:.2f}: {SLOPE_LIMIT_MIB_PER_MIN:g} + the board's ids and undo steps "
        f"{v.slope_limit - SLOPE_LIMIT_MIB_PER_MIN:.2f}): flat {yes[v.memory_flat]}",
        f"threads: {v.threads_start} before the clients, {v.threads_during[0]}-{v.threads_during[1]} "
        f"while they drew, {v.threads_end} after: flat {yes[v.threads_flat]}",
        f"nothing lost or reordered: {yes[load.ok]}; janitor errors: {v.janitor_errors[:3] or 'none'}",
        f"verdict: {'PASS' if v.ok else 'FAIL'}",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long the clients draw")
    p.add_argument("--clients", type=int, default=50, help="clients drawing in the room")
    p.add_argument("--every", type=float, default=SAMPLE_EVERY, help="seconds between two samples")
    args = p.parse_args(argv)
    result = run_soak(args.minutes, args.clients, args.every)
    for line in report(result):
        print(line)
    assert result.verdict is not None
    return 0 if result.verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
