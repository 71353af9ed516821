"""``python -m bench.run [--quick]``: the whole benchmark suite, written to docs/PERFORMANCE.md.

The server benchmarks (bench/server_bench.py: pgboard against Twisted and asyncio), then the client
benchmarks (``python -m bench.client_bench``, when present, in a process of its own: it prints its
markdown section, and its memory figures count nothing the server benchmarks left), the idle client's
CPU (``python -m bench.idle_client``: real ``pgboard`` processes left alone, hosting and joined), the
cluster row (``python -m bench.cluster``: rooms on one process against two on one Redis, about 30 s),
then the latency plot docs/latency.png. ``--out DIR`` writes both files elsewhere (the default is the
repository's docs/).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import codec_bench, report, server_bench, server_profile

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _log(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def client_section(quick: bool) -> str:
    if importlib.util.find_spec("bench.client_bench") is None:
        return (
            "## Client\n\nThe client benchmarks (bench/client_bench.py) are not present in this checkout.\n"
        )
    _log("client benchmarks")
    # in a process of its own: the client's RSS must not count what the server benchmarks left here
    cmd = [sys.executable, "-m", "bench.client_bench", *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, cwd=DOCS.parent, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout


def idle_section(quick: bool) -> str:
    """The idle window's CPU (bench/idle_client.py): real ``pgboard`` processes, hosting and joined."""
    _log("idle client")
    cmd = [sys.executable, "-m", "bench.idle_client", *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, cwd=DOCS.parent, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout


def timelapse_section(quick: bool) -> str:
    """The time-lapse export rate (bench/timelapse_bench.py): the 10,000-object board as GIF and WebP."""
    _log("time-lapse export")
    cmd = [sys.executable, "-m", "bench.timelapse_bench", *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, cwd=DOCS.parent, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout


def cluster_section(quick: bool) -> str:
    """N rooms on one process against the same rooms spread over two cluster processes on one Redis
    (bench/cluster.py), in processes of their own; skipped, said so, without redis-server or redis-py."""
    missing = [
        what
        for what, there in (
            ("redis-server", shutil.which("redis-server")),
            ("redis-py (pip install 'pgboard[cluster]')", importlib.util.find_spec("redis")),
        )
        if there is None
    ]
    if missing:
        return f"## Cluster\n\nNot measured: {' and '.join(missing)} not installed.\n"
    _log("cluster")
    cmd = [sys.executable, "-m", "bench.cluster", *(["--quick"] if quick else [])]
    done = subprocess.run(cmd, cwd=DOCS.parent, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a short run: fewer clients, shorter loads")
    p.add_argument("--out", type=Path, default=DOCS, help="where PERFORMANCE.md and latency.png go")
    p.add_argument("--no-client", action="store_true", help="skip the client benchmarks")
    p.add_argument("--no-cluster", action="store_true", help="skip the cluster row (bench/cluster.py)")
    args = p.parse_args(args_list)
    started = datetime.datetime.now(datetime.UTC)
    t0 = time.monotonic()
    profile = server_bench.QUICK if args.quick else server_bench.FULL
    server = server_bench.run(profile, log=_log)
    _log("the server's profile (py-spy) and the codec against msgspec")
    profiled = server_profile.run(log=_log) + "\n" + codec_bench.section()
    costs = [i for i, text in enumerate(server.sections) if text.startswith(server_bench.COST_TITLE)]
    server.sections.insert(costs[0] + 1 if costs else len(server.sections), profiled)  # after the costs
    client = "" if args.no_client else client_section(args.quick) + "\n" + idle_section(args.quick)
    client += "" if args.no_client else "\n" + timelapse_section(args.quick)
    client += "" if args.no_cluster else "\n" + cluster_section(args.quick)
    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / "latency.png"
    report.plot(
        png,
        server.latency,
        "pgboard and its peers: latency at 30 ops/s per client (same run, same generator)",
    )
    command = " ".join(["python -m bench.run", *args_list])
    text = report.header(command, started, time.monotonic() - t0)
    text += "\n![latency against clients](latency.png)\n\n"
    text += "\n".join(server.sections) + "\n" + client
    (args.out / "PERFORMANCE.md").write_text(text.rstrip() + "\n")
    _log(f"wrote {args.out / 'PERFORMANCE.md'} and {png} in {time.monotonic() - t0:.0f} s")
    return 0 if server.all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
