"""``make cluster``: Redis plus three pgboard-server processes on this machine, until Ctrl+C.

Redis listens on 127.0.0.1:6390 with its files (the AOF) in ``.cluster/redis``; the servers on ports
5151, 5152 and 5153, each with its own SQLite file in ``.cluster`` and its metrics on 9151-9153
(http://127.0.0.1:9151/metrics). Connect a client to any of them: ``pgboard --connect 127.0.0.1:5152``.
A server that dies (``kill -9`` one to watch a failover) is reported and the others go on. Ctrl+C
(or SIGTERM) stops the servers (their leases given back), then Redis. Options: ``--redis-port``,
``--base-port``, ``--count``, ``--lease-time``, ``--host`` (0.0.0.0 to let other machines in, with
``--advertise`` the name they reach this one by).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--redis-port", type=int, default=6390)
    p.add_argument("--base-port", type=int, default=5151)
    p.add_argument("--count", type=int, default=3)
    p.add_argument("--lease-time", type=float, default=5.0)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--advertise", default="")
    p.add_argument("--dir", type=Path, default=ROOT / ".cluster")
    args = p.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        print("redis-server is not installed (Debian: apt-get install redis-server)", file=sys.stderr)
        return 1
    (args.dir / "redis").mkdir(parents=True, exist_ok=True)
    redis_cmd = [
        binary,
        "--port",
        str(args.redis_port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(args.dir / "redis"),
    ]
    # the AOF is the log of record's durability: every write is in the file (the OS's cache) before
    # Redis replies, fsynced every second; a stream must never be evicted
    redis_cmd += ["--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction"]
    # its own session: Ctrl+C reaches the servers, which give their leases back before Redis stops
    procs = [subprocess.Popen(redis_cmd, stdout=subprocess.DEVNULL, start_new_session=True)]
    url = f"redis://127.0.0.1:{args.redis_port}/0"
    try:
        for i in range(args.count):
            port = args.base_port + i
            cmd = [sys.executable, "-m", "pgboard_server.cli", "--host", args.host, "--port", str(port)]
            cmd += [
                "--db",
                str(args.dir / f"server{i + 1}.db"),
                "--redis",
                url,
                "--lease-time",
                str(args.lease_time),
            ]
            cmd += ["--metrics-port", str(9151 + i)]
            if args.advertise:
                cmd += ["--advertise", args.advertise]
            procs.append(subprocess.Popen(cmd))
        print(f"redis on {url}; servers on ports {args.base_port}-{args.base_port + args.count - 1} (Ctrl+C)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            watch(procs, stop, args.base_port)
        except KeyboardInterrupt:
            pass
    finally:
        for proc in reversed(procs):  # the servers first (they give their leases back), Redis last
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


def watch(procs: list[subprocess.Popen[bytes]], stop: threading.Event, base_port: int) -> None:
    """Until ``stop``, Redis ending, or every server ending. A server that ends (kill -9 one to see a
    failover) is said once; its rooms move to the others, which go on."""
    redis, servers = procs[0], procs[1:]
    told: set[int] = set()
    while not stop.wait(1.0) and redis.poll() is None:
        for i, proc in enumerate(servers):
            if i not in told and (code := proc.poll()) is not None:
                told.add(i)
                print(f"server {i + 1} (port {base_port + i}) ended ({code}): its rooms move to the others")
        if len(told) == len(servers):
            print("every server ended")
            return


if __name__ == "__main__":
    sys.exit(main())
