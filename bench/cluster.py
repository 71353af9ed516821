"""``python -m bench.cluster [--quick]``: the cluster row. N rooms, each with its own drawing clients,
served by one pgboard-server process, then by two cluster processes on one Redis (each room owned by
one of them, half each), then by one embedded process (no Redis) for reference.

Each room's clients connect to its owner directly (a user's client is redirected there once; the load
generator does not follow redirects, so the bench takes each room on the process chosen for it before
the load, with one joined client that draws one line). Loads run in ``max`` mode (each client keeps
``window`` operations in flight) at the same time in every room, so the figure is what the servers can
deliver, not what the clients ask for. On a 2-core machine the load generators and Redis share the
cores with the servers: read the ratio between rows of one run, not absolute figures. Prints markdown.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.loadgen import TERMINATOR, LoadResult, LoadSpec, run_load
from bench.peers import ServerProcess
from bench.report import table
from pgboard import ids


class ClusterServer(ServerProcess):
    """A pgboard-server process with extra arguments (--redis URL)."""

    def __init__(self, db: Path, *args: str) -> None:
        cmd = [sys.executable, "-m", "pgboard_server.cli", "--port", "0", "--db", str(db)]
        cmd += ["--log-level", "WARNING", "--no-rate-limits", *args]
        self.kind = "pgboard"
        self._log = open(os.devnull, "ab")  # noqa: SIM115 (closed in stop)
        root = Path(__file__).resolve().parent.parent
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, cwd=root)
        self.pid = self.proc.pid
        try:
            self.port = self._read_port()
        except BaseException:
            self.stop()
            raise


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed")
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory), "--save", ""]
    cmd += ["--appendonly", "yes", "--appendfsync", "everysec"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:  # bounded: redis answers PING once it listens
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def take_room(address: tuple[str, int], room: str) -> None:
    """Join ``room`` at ``address`` (which takes it, in a cluster) and draw one line, so the room is
    worth keeping and stays held (its lease renewed) while the load runs."""
    secret = f"taker-{room}"
    oid = ids.scoped(ids.device_id(secret), "first")
    with socket.create_connection(address, timeout=10) as s:
        join = f'{{"t":"join","nick":"taker","room":"{room}","client":"{secret}"}}'.encode()
        add = f'{{"t":"add","oid":"first","obj":{{"id":"{oid}","kind":"line","points":[[1,1],[5,5]]}}}}'
        s.sendall(join + TERMINATOR + add.encode() + TERMINATOR)
        buf = b""
        while b'"oid":"first"' not in buf:
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError(f"the server closed while taking {room}: {buf[-300:]!r}")
            if b'"t":"redirect"' in chunk or b'"t":"error"' in chunk:
                raise RuntimeError(f"cannot take {room}: {chunk[:300]!r}")
            buf += chunk


def run_rooms(
    servers: list[ServerProcess], rooms: int, clients: int, duration: float
) -> tuple[list[LoadResult], float]:
    """Load every room at once, room i on server i % len(servers); returns the results and the CPU
    seconds the servers used meanwhile."""
    specs = []
    for i in range(rooms):
        server = servers[i % len(servers)]
        room = f"room{i}"
        take_room(server.address, room)
        specs.append(LoadSpec(server.port, clients, "max", duration, window=8, room=room, tag=f"r{i}"))
    results: list[LoadResult | None] = [None] * rooms
    cpu0 = sum(s.cpu() for s in servers)

    def one(i: int) -> None:
        results[i] = run_load(specs[i])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(rooms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = sum(s.cpu() for s in servers) - cpu0
    done = [r for r in results if r is not None]
    assert len(done) == rooms, "a load failed"
    return done, cpu


def row(name: str, results: list[LoadResult], cpu: float) -> list[object]:
    delivered = sum(r.delivered for r in results)
    span = max(r.elapsed + r.drain_time for r in results)
    lat = sorted(v for r in results for v in r.latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q / 100 * len(lat)))] / 1000 if lat else float("nan")  # noqa: E731
    bad = sum(r.lost + r.out_of_order for r in results)
    errors = sum(r.errors + r.join_failed for r in results)
    return [name, f"{delivered / span:,.0f}", f"{p(50):.1f}", f"{p(99):.1f}", f"{cpu:.1f}", bad, errors]


def main() -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 s loads instead of 5 s")
    ap.add_argument("--rooms", type=int, default=4)
    ap.add_argument("--clients", type=int, default=5, help="clients per room")
    args = ap.parse_args()
    duration = 2.0 if args.quick else 5.0
    rows = []
    with tempfile.TemporaryDirectory() as tmp_:
        tmp = Path(tmp_)
        redis_proc, url = start_redis(tmp)
        try:
            for name, count, cluster in (
                ("1 process, cluster (Redis)", 1, True),
                ("2 processes, cluster (Redis)", 2, True),
                ("1 process, embedded (no Redis)", 1, False),
            ):
                extra = ["--redis", url] if cluster else []
                servers = [ClusterServer(tmp / f"{name[0]}-{i}-{cluster}.db", *extra) for i in range(count)]
                try:
                    rooms = [f"room{i}" for i in range(args.rooms)]
                    results, cpu = run_rooms(servers, args.rooms, args.clients, duration)
                    rows.append(row(name, results, cpu))
                    sys.stderr.write(f"{name}: {rows[-1]} ({len(rooms)} rooms)\n")
                finally:
                    for s in servers:
                        s.stop()
                if cluster:  # the next setup starts from an empty Redis
                    subprocess.run(["redis-cli", "-u", url, "FLUSHALL"], check=False, capture_output=True)
        finally:
            redis_proc.terminate()
            redis_proc.wait(10)
    print(f"## Cluster: {args.rooms} rooms x {args.clients} clients, each keeping 8 operations in flight\n")
    print(
        f"`python -m bench.cluster{' --quick' if args.quick else ''}` ({duration:g} s loads, all rooms "
        "at once): the rooms on one process, then spread over two cluster processes on one Redis (AOF on, "
        "`appendfsync everysec`), then one process without Redis. The load generators and Redis share "
        "the cores with the servers: compare the rows of one run, not absolute figures.\n"
    )
    head = ["servers", "deliveries/s", "p50 ms", "p99 ms", "server CPU s", "lost or doubled", "errors"]
    print(table(head, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
