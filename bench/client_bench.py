"""Client benchmarks: late join, frame time under remote drawing, and memory, with the real App.

Everything runs against a real server process on loopback (``python -m pgboard_server.cli`` on a SQLite
file in a temporary directory). The boards are written into that file as the server's own log (one add
echo per object, as the server would have logged them), so the server replays them at start and a late
joiner receives exactly what it would over TCP: a board catch-up of ``obj`` frames.

- Late join: from ``App.connect`` to the room view caught up and a frame drawn that shows the whole
  board (the canvas's view complete: painted at screen scale while the board-resolution surface
  fills in, ``Canvas.view_complete``; what the user sees), and on to the board surface complete (the
  canvas has no painting left to do), for boards of 10,000 and 100,000 objects (pencil strokes of 20
  to 200 points, shapes and text). Frame times are measured after that, on the settled client.
- Frame time: ``App.frame`` in a loop without the 60 fps tick, headless at 1920x1080, while 20 remote
  users (protocol clients in a helper process) each grow a pencil stroke by one segment 60 times a
  second; p50 and p99 on the 100,000-object board and on an empty one.
- Memory: the client's resident set (VmRSS) after the 100,000-object join.

While frame times are measured, the server and the drawers run on their own core(s) (CPU affinity, when
the machine has two or more), so that the load takes as little as it can from the client's frames (a
late join uses every core: the server streams, the client decodes and paints); the table still gives
each frame's CPU time of the client's thread beside its wall-clock time, and how many remote operations
per second the client actually applied.

``run(quick=True)`` uses small boards and one-second runs, for the smoke test.
Run alone: ``python bench/client_bench.py [--quick]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    from bench import fdselect
except ImportError:  # run as a script (the --fill child): bench/ itself is on sys.path
    import fdselect  # type: ignore[no-redef]

SCREEN = (1920, 1080)
FULL_BOARDS = (10_000, 100_000)
QUICK_BOARDS = (300, 1_500)
JOIN_TARGET = 2.0  # seconds: the 100,000-object board caught up and shown whole
SURFACE_TARGET = 5.0  # seconds: and its board-resolution surface complete
FRAME_P99_TARGET = 0.008  # seconds, on the big board under load
FRAME_RATIO_TARGET = 1.5  # big board p99 over empty board p99
DRAWERS = 20  # remote users drawing at once
DRAW_RATE = 60  # segments per second per remote user
STROKE_SEGMENTS = 120  # a remote user starts a new stroke after this many segments
FULL_SECONDS, QUICK_SECONDS = 8.0, 1.0  # measured frame-time run
WARMUP_SECONDS = 0.5  # frames run under load before recording
JOIN_TIMEOUT = 180.0  # seconds a late join may take before the benchmark gives up
SERVER_START_TIMEOUT = 300.0  # the server replays every board from its log before listening
DRAWERS_READY_TIMEOUT = 30.0
# Points per generated stroke: 100,000 objects hold ~3.9 million points, just under the most a room's
# board may hold (server/limits.py MAX_BOARD_POINTS, 4 million): the fullest board a user can meet, with
# room for the restart row's missed operations. Until 2026-12-05 strokes had 20-200 points (7.7 million
# on the board, written into the log past the server's limit: no server would have let it be drawn).
STROKE_POINTS = (20, 90)
PENCIL_WIDTHS = (1, 2, 2, 3, 3, 3, 3, 5, 5, 8)  # a realistic spread, the default (3) most common
COLORS = ("#000000", "#1e50dc", "#dc2828", "#28a03c", "#f08c00", "#e6c800", "#00b4c8", "#8c3cc8")
WORDS = ("idea", "todo", "API", "v2", "ship it", "why?", "fix", "database", "see notes", "42", "plan B")

ROOM_EMPTY = "empty"
SECRET = "bench-author"  # the client secret whose author id owns the generated boards
ROOT = Path(__file__).resolve().parent.parent


# -- boards


def make_objects(n: int, seed: int = 1, author: str = "") -> list:
    """``n`` objects: 70% pencil strokes (STROKE_POINTS, a random walk), 20% shapes, 10% text."""
    from pgboard.protocol import BOARD_H, BOARD_W, BoardObject

    rng = random.Random(seed)
    out = []
    for i in range(n):
        color = rng.choice(COLORS)
        r = rng.random()
        oid = f"b{seed}-{i}"
        if r < 0.7:
            x, y = rng.randrange(50, BOARD_W - 50), rng.randrange(50, BOARD_H - 50)
            dx, dy = rng.uniform(-6, 6), rng.uniform(-6, 6)
            pts = []
            for _ in range(rng.randint(*STROKE_POINTS)):
                dx = max(-8.0, min(8.0, dx + rng.uniform(-1.5, 1.5)))
                dy = max(-8.0, min(8.0, dy + rng.uniform(-1.5, 1.5)))
                x, y = min(BOARD_W, max(0, round(x + dx))), min(BOARD_H, max(0, round(y + dy)))
                pts.append((x, y))
            obj = BoardObject(oid, "pencil", tuple(pts), color, rng.choice(PENCIL_WIDTHS), author=author)
        elif r < 0.9:
            kind = rng.choice(("line", "rect", "oval", "circle", "square"))
            x, y = rng.randrange(0, BOARD_W - 300), rng.randrange(0, BOARD_H - 300)
            p2 = (x + rng.randrange(10, 300), y + rng.randrange(10, 300))
            obj = BoardObject(oid, kind, ((x, y), p2), color, rng.choice((1, 2, 3, 5)), author=author)
        else:
            x, y = rng.randrange(0, BOARD_W - 400), rng.randrange(0, BOARD_H - 100)
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
            obj = BoardObject(oid, "text", ((x, y),), color, 1, text, rng.choice((24, 32, 56)), author)
        out.append(obj)
    return out


def fill_store(db: Path, rooms: dict[str, int]) -> None:
    """Write each room's board into the server's log as the add echoes the server would have logged."""
    from pgboard_server.limits import MAX_BOARD_POINTS
    from pgboard_server.room import author_id
    from pgboard_server.store import Store

    from pgboard.protocol import Add, encode, payload_of

    author = author_id(SECRET)
    boards = {room: make_objects(n, seed, author) for seed, (room, n) in enumerate(rooms.items(), start=1)}
    for room, objects in boards.items():  # the board any client could have drawn, not more
        points = sum(len(obj.points) for obj in objects)
        assert points <= MAX_BOARD_POINTS - MISSED_OPS * 2, f"{room}: {points:,} points"
    store = Store(db)
    try:
        for room, objects in boards.items():
            for seq, obj in enumerate(objects, start=1):
                store.append_op(
                    room, seq, payload_of(encode(Add(oid=f"o{seq}", obj=obj, seq=seq, author=author)))
                )
    finally:
        store.close()


def fill_in_a_child(db: Path, rooms: dict[str, int]) -> None:
    """:func:`fill_store` in a process of its own: making 110,000 objects here would leave their memory
    in this process, and the client's RSS "before joining" would count it."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--fill", str(db)]
    cmd += [f"{room}={n}" for room, n in rooms.items()]
    subprocess.run(cmd, cwd=ROOT, check=True, timeout=SERVER_START_TIMEOUT)


# -- the server process


class ServerProcess:
    """The real server on 127.0.0.1 port 0; the port comes from its first stdout line."""

    def __init__(self, db: Path, log_path: Path) -> None:
        cmd = [sys.executable, "-m", "pgboard_server.cli", "--host", "127.0.0.1", "--port", "0"]
        cmd += ["--db", str(db), "--log-level", "WARNING", "--no-rate-limits"]  # 20 drawers on loopback
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, cwd=ROOT)
        line = _read_line(self.proc, SERVER_START_TIMEOUT)
        host, _, port = line.removeprefix("listening on ").rpartition(":")
        self.address = (host, int(port))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


def _cores() -> tuple[set[int], set[int]]:
    """(the client's cores, the helpers' cores): the server and the drawers get a core of their own
    when there are at least two, so they compete with the client's frames as little as they can."""
    try:
        cores = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(), set()
    if len(cores) < 2:
        return set(cores), set(cores)
    helpers = max(1, len(cores) // 2)
    return set(cores[:-helpers]), set(cores[-helpers:])


def _helper_cores() -> None:
    _, helpers = _cores()
    if helpers:
        os.sched_setaffinity(0, helpers)


@contextlib.contextmanager
def pinned(server: ServerProcess) -> Iterator[None]:
    """While measuring frames: the client on its core(s), every thread of the server on the helpers'
    (threads it starts meanwhile inherit that). Undone after, so a late join uses every core."""
    client, helpers = _cores()
    if not client or client == helpers:
        yield
        return
    every = os.sched_getaffinity(0)
    tasks = [int(t) for t in os.listdir(f"/proc/{server.proc.pid}/task")]
    for tid in tasks:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(tid, helpers)
    os.sched_setaffinity(0, client)
    try:
        yield
    finally:
        os.sched_setaffinity(0, every)
        for tid in [int(t) for t in os.listdir(f"/proc/{server.proc.pid}/task")]:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, every)


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first line a child prints, waited for at most ``timeout`` seconds."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        ready, _, _ = fdselect.select([fd], [], [], max(0.0, left))
        if not ready:
            proc.kill()
            proc.wait(10)
            raise TimeoutError(f"{proc.args[:3]} printed nothing within {timeout} s")
        chunk = os.read(fd, 4096)
        if not chunk:
            raise RuntimeError(f"{proc.args[:3]} exited with {proc.wait(10)}")
        data += chunk
    return data.split(b"\n", 1)[0].decode()


@contextlib.contextmanager
def drawers(address: tuple[str, int], room: str, seq: int, seconds: float) -> Iterator[None]:
    """Remote users drawing in ``room`` from a helper process, started when this returns."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--drawers", address[0], str(address[1]), room]
    cmd += [str(seq), str(seconds)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, cwd=ROOT, preexec_fn=_helper_cores)
    try:
        line = _read_line(proc, DRAWERS_READY_TIMEOUT)
        if line != "ready":
            raise RuntimeError(f"the drawers said {line!r}")
        yield
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def run_drawers(host: str, port: int, room: str, seq: int, seconds: float) -> None:
    """The helper process: DRAWERS users join ``room`` (an empty "ops" catch-up: since=seq), print
    "ready", then each grows a pencil stroke by one segment DRAW_RATE times a second for ``seconds``.
    What the server sends them is read and thrown away."""
    from pgboard import ids
    from pgboard.protocol import BOARD_H, BOARD_W, TERMINATOR, Add, BoardObject, CaughtUp, Codec, Extend, Join

    rng = random.Random(port)
    socks = []
    # object ids are scoped to their device (pgboard/ids.py): unscoped, every add was refused and the
    # frame times below were taken with no remote drawing at all (0 remote ops/s until 2026-12-05)
    prefixes = [ids.device_id(f"drawer-{port}-{i}") for i in range(DRAWERS)]
    for i in range(DRAWERS):
        s = socket.create_connection((host, port), timeout=DRAWERS_READY_TIMEOUT)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(Codec.send(Join(nick=f"drawer{i}", room=room, since=seq, client=f"drawer-{port}-{i}")))
        socks.append(s)
    caught = Codec.send(CaughtUp(seq))[: -len(TERMINATOR)]
    for s in socks:  # the caught_up frame ends each (empty) catch-up
        buf = b""
        while caught not in buf:
            data = s.recv(65536)
            if not data:
                raise RuntimeError("the server closed a drawer's connection")
            buf += data
        s.setblocking(False)
    print("ready", flush=True)
    state = []  # per user: [stroke id, points so far, x, y, dx, dy]
    n = 0

    def new_stroke(i: int) -> bytes:
        nonlocal n
        n += 1
        x, y = rng.randrange(100, BOARD_W - 100), rng.randrange(100, BOARD_H - 100)
        sid = ids.scoped(prefixes[i], f"d{n}")
        state[i] = [sid, 1, x, y, rng.uniform(-5, 5), rng.uniform(-5, 5)]
        obj = BoardObject(sid, "pencil", ((x, y),), COLORS[i % len(COLORS)], 3)
        return Codec.send(Add(oid=f"a{n}", obj=obj))

    state = [[] for _ in range(DRAWERS)]
    pending = [new_stroke(i) for i in range(DRAWERS)]
    start = time.monotonic()
    tick = 0
    while True:
        now = time.monotonic()
        if now - start >= seconds:
            break
        due = start + tick / DRAW_RATE
        if now >= due:
            tick += 1
            for i in range(DRAWERS):
                st = state[i]
                if st[1] > STROKE_SEGMENTS:
                    frame = new_stroke(i)
                else:
                    st[4] = max(-6.0, min(6.0, st[4] + rng.uniform(-1, 1)))
                    st[5] = max(-6.0, min(6.0, st[5] + rng.uniform(-1, 1)))
                    st[2] = min(BOARD_W, max(0, round(st[2] + st[4])))
                    st[3] = min(BOARD_H, max(0, round(st[3] + st[5])))
                    st[1] += 1
                    n += 1
                    frame = Codec.send(Extend(oid=f"e{n}", id=st[0], points=((st[2], st[3]),)))
                pending[i] += frame
        for i, s in enumerate(socks):
            if pending[i]:
                try:
                    sent = s.send(pending[i])
                except BlockingIOError:
                    sent = 0
                pending[i] = pending[i][sent:]
        readable, _, _ = fdselect.select(socks, [], [], max(0.0, min(0.005, start + tick / DRAW_RATE - now)))
        for s in readable:
            try:
                s.recv(1 << 20)
            except BlockingIOError:
                pass
    for s in socks:
        s.close()


# -- the client


@dataclass
class JoinResult:
    objects: int
    seconds: float  # until a frame showed the whole board (the view complete)
    board_seconds: float  # until the board-resolution surface was complete too
    frames: int
    longest_frame: float
    longest_painting: float  # the longest frame once caught up (painting the board, not receiving it)
    caught_up: float = 0.0  # until the board was received and installed (no object shown before)


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def open_room(address: tuple[str, int], room: str) -> float:
    """A raw client joins ``room`` (snapshot frames, as the App asks) and reads until caught up: the
    first join of a room after the server started, which loads it from its log. The seconds it took.
    The App's late join that follows is then timed against a room the server holds, as when a class
    joins a board its teacher is already on; this row says what the first one to come in waits."""
    from pgboard.protocol import CaughtUp, Codec, Join

    codec = Codec()
    start = time.perf_counter()
    with socket.create_connection(address, timeout=JOIN_TIMEOUT) as s:
        s.sendall(Codec.send(Join(nick="opener", room=room, client=f"opener-{room}", snapshot=True)))
        while not any(isinstance(m, CaughtUp) for m in _read_some(s, codec)):
            pass
    return time.perf_counter() - start


def _caught_up(app) -> bool:
    room = app.room
    return room is not None and room.caught_up


def late_join(app, address: tuple[str, int], room: str) -> JoinResult:
    """Join ``room`` with the real App and time it until the board is caught up and shown whole, then
    until the board surface is painted too (frame times are measured after this returns)."""
    frames = 0
    longest = longest_painting = 0.0
    shown = caught = None
    start = time.perf_counter()
    app.connect(address[0], address[1], "joiner", room)
    while True:
        t0 = time.perf_counter()
        app.frame([])
        t1 = time.perf_counter()
        frames += 1
        longest = max(longest, t1 - t0)
        if _caught_up(app):
            longest_painting = max(longest_painting, t1 - t0)
            if caught is None:
                caught = t1 - start
            if shown is None and app.canvas.view_complete:
                shown = t1 - start  # this frame showed the whole board
            if not app.canvas.painting:
                break  # and this one the board surface complete
        if t1 - start > JOIN_TIMEOUT:
            raise TimeoutError(f"no caught-up board after {JOIN_TIMEOUT} s (state {app.conn.state})")
    assert shown is not None and caught is not None
    total = time.perf_counter() - start
    return JoinResult(len(app.board), shown, total, frames, longest, longest_painting, caught)


@dataclass
class FrameRun:
    wall: list[float]  # seconds per frame
    cpu: list[float]  # CPU seconds of the client's thread per frame
    ops_per_second: float  # remote operations the client applied per second (20 x 60 were sent)


def frame_times(app, address: tuple[str, int], room: str, seq: int, seconds: float) -> FrameRun:
    """Frame durations while DRAWERS remote users draw in the room the app is in."""
    times: list[float] = []
    cpu: list[float] = []
    with drawers(address, room, seq, seconds + WARMUP_SECONDS + 1.0):
        end_warmup = time.perf_counter() + WARMUP_SECONDS
        while time.perf_counter() < end_warmup:
            app.frame([])
        start, first_seq = time.perf_counter(), app.board.seq
        end = start + seconds
        while True:
            c0, t0 = time.thread_time(), time.perf_counter()
            app.frame([])
            t1 = time.perf_counter()
            cpu.append(time.thread_time() - c0)
            times.append(t1 - t0)
            if t1 >= end:
                break
    return FrameRun(times, cpu, (app.board.seq - first_seq) / (t1 - start))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Results:
    joins: list[JoinResult]
    opened: list[float]  # seconds: a raw client's first join of each room after the server started
    big: FrameRun
    empty: FrameRun
    load: tuple[float, float, float]  # the machine's load average when the frame times were taken
    rss_mib: float
    rss_before_mib: float
    remote_objects: int  # objects on the big board at the end (remote strokes included)


def measure(quick: bool) -> Results:
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from pgboard.app import App

    sizes = QUICK_BOARDS if quick else FULL_BOARDS
    seconds = QUICK_SECONDS if quick else FULL_SECONDS
    rooms = {f"board{n}": n for n in sizes}
    with tempfile.TemporaryDirectory(prefix="pgboard-bench-") as tmp:
        tmpdir = Path(tmp)
        fill_in_a_child(tmpdir / "board.sqlite3", rooms)
        server = ServerProcess(tmpdir / "board.sqlite3", tmpdir / "server.log")
        pygame.init()
        try:
            screen = pygame.display.set_mode(SCREEN)
            app = App(screen, settings_path=tmpdir / "settings.json", save_settings=False, export_dir=tmpdir)
            rss_before = _rss_mib()
            opened = [open_room(server.address, room) for room in rooms]
            joins = [late_join(app, server.address, room) for room in rooms]
            rss = _rss_mib()
            big_room, big_n = list(rooms.items())[-1]
            with pinned(server):
                big = frame_times(app, server.address, big_room, big_n, seconds)
            load = os.getloadavg()
            remote_objects = len(app.board)
            late_join(app, server.address, ROOM_EMPTY)
            with pinned(server):
                empty = frame_times(app, server.address, ROOM_EMPTY, 0, seconds)
            app.shutdown()
        finally:
            pygame.quit()
            server.stop()
    return Results(joins, opened, big, empty, load, rss, rss_before, remote_objects)


def report(res: Results, quick: bool) -> str:
    ms = 1000.0
    lines = ["## Client", ""]
    if quick:
        lines += ["(quick run: small boards and short runs; the figures are not the benchmark's)", ""]
    lines += [
        f"The real client (pgboard.app.App) headless at {SCREEN[0]}x{SCREEN[1]}, against the real server "
        "on loopback.",
        "",
        "### Late join (connect to caught up and the whole board shown)",
        "",
        "Whole board shown: the first frame whose view shows every object (painted at screen scale while "
        "the board-resolution surface fills in); the target applies to it. Board surface complete: the "
        "frame after which nothing is left to paint at board resolution (the view then rebuilt from it). "
        "Frames and the longest frame cover the whole join, to the board surface complete; the longest "
        "frame once caught up is the longest of those painting the board (the first of them installs it). "
        "The App joins a room the server already holds (a raw client opened it first, as a teacher "
        "already on the board has): the room opened column is that first join after the server started, "
        "which loads the room from its SQLite log, from connect to caught up. Caught up: the board "
        "received and installed (decoded and indexed; nothing is shown before); from there to shown the "
        "view's draft of the board (pgboard/preview.py), then the board surface at board resolution.",
        "",
        "| board (objects) | room opened (s) | caught up (s) | whole board shown (s) "
        "| board surface complete (s) | frames | longest frame (ms) | longest once caught up (ms) "
        "| target | |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for j, opened in zip(res.joins, res.opened, strict=True):
        big = j is res.joins[-1]
        target = f"shown < {JOIN_TARGET:g} s, complete < {SURFACE_TARGET:g} s" if big else "-"
        met = j.seconds < JOIN_TARGET, j.board_seconds < SURFACE_TARGET
        verdict = " / ".join("met" if ok else "MISSED" for ok in met) if big else ""
        cells = (f"{j.objects:,}", f"{opened:.2f}", f"{j.caught_up:.2f}", f"{j.seconds:.2f}")
        cells += (f"{j.board_seconds:.2f}", str(j.frames))
        cells += (f"{j.longest_frame * ms:.1f}", f"{j.longest_painting * ms:.1f}", target, verdict)
        lines.append("| " + " | ".join(cells) + " |")
    big_p99, e_p99 = _pct(res.big.wall, 0.99), _pct(res.empty.wall, 0.99)
    ratio = big_p99 / e_p99 if e_p99 > 0 else float("inf")
    big_n = res.joins[-1].objects

    def row(name: str, run: FrameRun) -> str:
        cells = [name, str(len(run.wall))]
        cells += [f"{_pct(run.wall, q) * ms:.2f}" for q in (0.5, 0.99)]
        cells += [f"{max(run.wall) * ms:.2f}", f"{1 / statistics.fmean(run.wall):.0f}"]
        cells += [f"{_pct(run.cpu, q) * ms:.2f}" for q in (0.5, 0.99)]
        cells.append(f"{run.ops_per_second:.0f}")
        return "| " + " | ".join(cells) + " |"

    lines += [
        "",
        f"### Frame time ({DRAWERS} remote users each drawing {DRAW_RATE} segments/s, no frame cap)",
        "",
        "Measured after the join, once the board surface is complete.",
        "",
        "| board | frames | p50 (ms) | p99 (ms) | max (ms) | mean fps | CPU p50 (ms) | CPU p99 (ms) "
        "| remote ops/s |",
        "|---|---|---|---|---|---|---|---|---|",
        row(f"{big_n:,} objects", res.big),
        row("empty", res.empty),
        "",
        "Wall-clock frame times are what the user sees; CPU is the client thread's own time in the frame; "
        "the difference is time spent waiting for a core (the server and the drawers were pinned to their "
        f"own core of this machine's {os.cpu_count()}; anything else running competes too: load average "
        f"{res.load[0]:.1f} during the run). Remote ops/s: operations the client applied per second "
        f"({DRAWERS * DRAW_RATE} were sent).",
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| p99 on the {big_n:,}-object board <= {FRAME_P99_TARGET * ms:g} ms | {big_p99 * ms:.2f} ms | "
        f"{'met' if big_p99 <= FRAME_P99_TARGET else 'MISSED'} |",
        f"| p99 big / p99 empty <= {FRAME_RATIO_TARGET:g} | {ratio:.2f} | "
        f"{'met' if ratio <= FRAME_RATIO_TARGET else 'MISSED'} |",
        "",
        "### Memory",
        "",
        "| client RSS (MiB) | |",
        "|---|---|",
        f"| before joining | {res.rss_before_mib:.0f} |",
        f"| after the {big_n:,}-object join | {res.rss_mib:.0f} |",
        "",
    ]
    return "\n".join(lines)


# -- joining again: a late join, then a restart of the client with its board cache (pgboard/boardcache.py)

JOIN_REPEATS = 3  # each row is the median of this many runs (the machine is shared: give ratios)
BENCH_JOIN_REPEATS = 2  # as many within ``make bench`` (each ~40 s: the whole bench stays under 10 min)
MISSED_OPS = 1_000  # operations drawn by someone else while the client was closed
REJOIN_TARGETS = {
    "late join: whole board shown": JOIN_TARGET,
    "late join: board surface complete": SURFACE_TARGET,
    "restart, nothing missed: whole board shown": 0.3,
    f"restart, {MISSED_OPS:,} missed: whole board shown": 0.4,
}
RSS_TARGET_MIB = 350.0
# the board kept on disk shows its image as soon as the file is checked, before its objects are decoded
# and the join caught up (no target: the rows above time the board caught up)
LEFT_ROW = "restart, nothing missed: the board as left on screen"


def join_child(host: str, port: int, room: str, settings: str, until_surface: bool = True) -> None:
    """One run of the client (a process of its own, as a restart is): join ``room`` with the settings
    (and so the board cache) at ``settings``, print the times as JSON, close the window as a user does
    (the board cache is written then). Frames come from the app's own run loop (pgboard/frameloop.py:
    at most 60 a second, none while nothing changes), as a user's window runs them: a loop of frames
    back to back would take the interpreter from the thread that reads the board cache."""
    import json

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import pygame

    from pgboard.app import App
    from pgboard.frameloop import FrameLoop

    pygame.init()
    screen = pygame.display.set_mode(SCREEN)
    app = App(screen, settings_path=Path(settings), export_dir=Path(settings).parent)
    out: dict[str, float] = {}
    start, cpu0 = time.perf_counter(), time.process_time()
    app.connect(host, port, "rejoiner", room)
    loop = FrameLoop(app)
    while True:
        loop.tick()
        t = time.perf_counter() - start
        cache = app.board_cache
        if "left" not in out and (_caught_up(app) or (cache is not None and cache.image_shown)):
            out["left"] = t  # the board as the user left it on the screen (the cache's image)
        if _caught_up(app):
            out.setdefault("caught_up", t)
            if app.canvas.view_complete and "shown" not in out:
                out["shown"], out["shown_cpu"] = t, time.process_time() - cpu0
            if not app.canvas.painting or ("shown" in out and not until_surface):
                out["surface"] = t
                break
        if t > JOIN_TIMEOUT:
            raise TimeoutError("no caught-up board")
    out["rss"] = _rss_mib()
    out["objects"] = len(app.board)
    app.shutdown()
    pygame.quit()
    print(json.dumps(out), flush=True)


def _child_cmd(address: tuple[str, int], room: str, settings: Path, surface: bool = True) -> list[str]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--join-child" if surface else "--rejoin-child"]
    return [*cmd, address[0], str(address[1]), room, str(settings)]


def _child(address: tuple[str, int], room: str, settings: Path, surface: bool = True) -> dict[str, float]:
    import json

    done = subprocess.run(
        _child_cmd(address, room, settings, surface),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=JOIN_TIMEOUT * 2,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _draw_missed(address: tuple[str, int], room: str, n: int) -> None:
    """Someone else draws ``n`` operations in ``room`` (each echoed before the next batch)."""
    from pgboard import ids
    from pgboard.protocol import Add, BoardObject, CaughtUp, Codec, Join

    codec = Codec()
    secret = f"drawer-{time.time_ns()}"
    prefix = ids.device_id(secret)  # object ids are scoped to their device (pgboard/ids.py)
    with socket.create_connection(address, timeout=30) as s:
        s.sendall(Codec.send(Join(nick=f"drawer{time.time_ns() % 10**6}", room=room, client=secret)))
        while not any(isinstance(m, CaughtUp) for m in _read_some(s, codec)):
            pass
        for start in range(0, n, 50):  # in batches, each echoed before the next
            batch = range(start, min(n, start + 50))
            for i in batch:
                obj = BoardObject(
                    ids.scoped(prefix, f"m{i}"), "line", ((10 + i % 3000, 10), (20 + i % 3000, 40))
                )
                s.sendall(Codec.send(Add(oid=f"m{i}", obj=obj)))
            echoed = 0
            while echoed < len(batch):
                echoed += sum(isinstance(m, Add) for m in _read_some(s, codec))


def _read_some(s: socket.socket, codec) -> list:
    """What the server sent next; its pings answered (a drawer that takes a 100,000-object board in
    took over 30 s once, and the server dropped it as silent: ``timeout``)."""
    from pgboard.protocol import Ping, Pong, encode

    data = s.recv(1 << 20)
    if not data:
        raise RuntimeError("the server closed the drawer's connection")
    codec.receive_data(data)
    got = list(codec.messages())
    for m in got:
        if isinstance(m, Ping):
            s.sendall(encode(Pong(m.n)))
    return got


def measure_joins(
    repeats: int = JOIN_REPEATS, n: int = FULL_BOARDS[-1], profiled: list | None = None
) -> dict[str, list[float]]:
    """Late join of an ``n``-object board, then two restarts of the client (nothing missed, then
    MISSED_OPS missed), each in a fresh process, ``repeats`` times: the seconds (and RSS) of each.
    With ``profiled``, one more late join under py-spy (bench/join_profile.py) is appended to it."""
    cpu = "client CPU to shown (s)"
    rows: dict[str, list[float]] = {k: [] for k in REJOIN_TARGETS}
    for k in ("late join: RSS after (MiB)", f"late join: {cpu}", f"restart, nothing missed: {cpu}"):
        rows[k] = []
    rows[f"restart, {MISSED_OPS:,} missed: {cpu}"] = []
    rows[LEFT_ROW] = []

    room = f"board{n}"
    with tempfile.TemporaryDirectory(prefix="pgboard-bench-") as tmp:
        tmpdir = Path(tmp)
        fill_in_a_child(tmpdir / "board.sqlite3", {room: n})
        server = ServerProcess(tmpdir / "board.sqlite3", tmpdir / "server.log")
        try:
            for r in range(repeats):
                settings = tmpdir / f"run{r}" / "settings.json"
                settings.parent.mkdir()
                late = _child(server.address, room, settings)
                rows["late join: whole board shown"].append(late["shown"])
                rows["late join: board surface complete"].append(late["surface"])
                rows["late join: RSS after (MiB)"].append(late["rss"])
                rows["late join: client CPU to shown (s)"].append(late["shown_cpu"])
                again = _child(server.address, room, settings, surface=False)
                rows["restart, nothing missed: whole board shown"].append(again["shown"])
                rows[LEFT_ROW].append(again["left"])
                rows["restart, nothing missed: client CPU to shown (s)"].append(again["shown_cpu"])
                _draw_missed(server.address, room, MISSED_OPS)
                missed = _child(server.address, room, settings, surface=False)
                rows[f"restart, {MISSED_OPS:,} missed: whole board shown"].append(missed["shown"])
                rows[f"restart, {MISSED_OPS:,} missed: client CPU to shown (s)"].append(missed["shown_cpu"])
            if profiled is not None:
                from bench import join_profile  # the parent runs as a module (children as a script)

                (tmpdir / "profiled").mkdir()
                cmd = _child_cmd(server.address, room, tmpdir / "profiled" / "settings.json")
                profiled.append(join_profile.late_join(cmd, tmpdir, ROOT))
        finally:
            server.stop()
    return rows


def report_joins(rows: dict[str, list[float]], n: int = FULL_BOARDS[-1]) -> str:
    load = os.getloadavg()
    lines = [
        f"### Joining a {n:,}-object board again (late join, then restarts of the client)",
        "",
        f"Each run a fresh client process (`python bench/client_bench.py --joins`), median of "
        f"{len(next(iter(rows.values())))}; seconds from `App.connect` to the frame that shows the whole "
        "board. A restart reads the board kept on disk (pgboard/boardcache.py) and asks `since`. "
        f"Load average {load[0]:.1f} at the end (2 cores shared): compare rows of one run.",
        "",
        "| row | median | runs | target | |",
        "|---|---|---|---|---|",
    ]
    for name, values in rows.items():
        med = statistics.median(values)
        target = REJOIN_TARGETS.get(name, RSS_TARGET_MIB if "RSS" in name else None)
        verdict = "" if target is None else ("met" if med < target else "MISSED")
        shown = " / ".join(f"{v:.2f}" for v in values)
        lines.append(
            f"| {name} | {med:.2f} | {shown} | {'' if target is None else f'< {target:g}'} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def run(quick: bool = False) -> str:
    """Run the client benchmarks and return the "## Client" markdown section: the late joins and frame
    times in this process, then the joins again in fresh client processes (late join and restarts)."""
    n = (QUICK_BOARDS if quick else FULL_BOARDS)[-1]
    from bench import join_profile

    profiled: list = []
    joins = report_joins(measure_joins(1 if quick else BENCH_JOIN_REPEATS, n, profiled), n)
    joins += "\n" + join_profile.section(profiled[0], n)
    return report(measure(quick), quick) + "\n" + joins


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--quick", action="store_true", help="small boards, short runs")
    p.add_argument(
        "--drawers", nargs=5, metavar=("HOST", "PORT", "ROOM", "SEQ", "SECONDS"), help="(internal)"
    )
    p.add_argument("--fill", nargs="+", metavar="DB ROOM=N", help="(internal)")
    p.add_argument("--join-child", nargs=4, metavar=("HOST", "PORT", "ROOM", "SETTINGS"), help="(internal)")
    p.add_argument("--rejoin-child", nargs=4, metavar=("HOST", "PORT", "ROOM", "SETTINGS"), help="(internal)")
    p.add_argument("--joins", action="store_true", help="only the join rows (late join and restarts)")
    args = p.parse_args(argv)
    if args.join_child or args.rejoin_child:
        host, port, room, settings = args.join_child or args.rejoin_child
        join_child(host, int(port), room, settings, until_surface=bool(args.join_child))
        return 0
    if args.joins:
        print(report_joins(measure_joins()))
        return 0
    if args.fill:
        db, *pairs = args.fill
        fill_store(Path(db), {room: int(n) for room, n in (pair.split("=") for pair in pairs)})
        return 0
    if args.drawers:
        host, port, room, seq, secs = args.drawers
        run_drawers(host, int(port), room, int(seq), float(secs))
        return 0
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
