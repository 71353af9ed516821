"""Idle client CPU: the real ``pgboard`` command, left alone on a board, and what it costs a core.

Two runs, each the client as users start it, in a process of its own: ``pgboard --host`` (the window
hosts: an embedded server in the same process, as ``make run``) and ``pgboard --connect`` to a real
server process (whose CPU is not counted). Once the client has joined (a warm-up), nothing happens for
``seconds`` of wall time; the client's CPU time over them (user + system, all its threads, from
/proc/PID/stat) divided by the wall time is the figure: the share of one core an idle window takes.

Under Xvfb when it is installed (the x11 driver: flips cost what they cost on a desktop), else with the
dummy driver (said in the table). Settings go to a temporary directory, never the user's.

Run alone: ``python -m bench.idle_client [--seconds N]`` prints the markdown section.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECONDS, QUICK_SECONDS = 10.0, 2.0  # of wall time measured, idle
WARMUP_SECONDS = 4.0  # start, host or connect, join, the first frames (not measured)
TARGET = 0.02  # of a core: an idle window (issue 13: a laptop's battery notices more)
SCREEN = "1280x800"
XVFB_TIMEOUT = 10.0


@dataclass
class IdleRun:
    mode: str  # "hosting" or "joined"
    driver: str
    cpu_share: float  # of one core, over the measured seconds


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def display() -> Iterator[dict[str, str]]:
    """Environment for the client: an Xvfb display of its own when Xvfb is installed, else dummy."""
    env = {"SDL_AUDIODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    if shutil.which("Xvfb") is None:
        yield {**env, "SDL_VIDEODRIVER": "dummy"}
        return
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        number = b""
        deadline = time.monotonic() + XVFB_TIMEOUT
        while not number.endswith(b"\n"):  # read to the newline before closing (see TESTING.md)
            if time.monotonic() > deadline:
                raise TimeoutError("Xvfb printed no display number")
            chunk = os.read(read_fd, 16)
            if not chunk:
                raise RuntimeError("Xvfb exited before printing its display number")
            number += chunk
        os.close(read_fd)
        yield {**env, "SDL_VIDEODRIVER": "x11", "DISPLAY": f":{number.decode().strip()}"}
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def measure_client(args: list[str], env: dict[str, str], seconds: float, home: Path) -> float:
    """Start ``pgboard ARGS``, let it settle, return its CPU share over ``seconds`` of wall time."""
    cmd = [sys.executable, "-m", "pgboard.cli", "--size", SCREEN, "--nick", "idle", "--room", "idle"]
    cmd += ["--db", str(home / "host.db"), "--export-dir", str(home), *args]
    full_env = {**os.environ, **env, "XDG_CONFIG_HOME": str(home / "config"), "HOME": str(home)}
    proc = subprocess.Popen(cmd, env=full_env, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        time.sleep(WARMUP_SECONDS)  # a benchmark's fixed wall time, not a test waiting for something
        if proc.poll() is not None:
            raise RuntimeError(f"{cmd} exited with {proc.returncode}")
        c0, t0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = _cpu_seconds(proc.pid), time.monotonic()
        return (c1 - c0) / (t1 - t0)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def measure(seconds: float) -> list[IdleRun]:
    from bench.client_bench import ServerProcess

    runs = []
    with display() as env, tempfile.TemporaryDirectory(prefix="pgboard-idle-") as tmp:
        home = Path(tmp)
        driver = env["SDL_VIDEODRIVER"]
        runs.append(IdleRun("hosting (`pgboard --host`, as `make run`)", driver, 0.0))
        runs[-1].cpu_share = measure_client(["--host"], env, seconds, home / "host")
        server = ServerProcess(home / "server.db", home / "server.log")
        try:
            address = f"{server.address[0]}:{server.address[1]}"
            runs.append(IdleRun("joined (`pgboard --connect`)", driver, 0.0))
            runs[-1].cpu_share = measure_client(["--connect", address], env, seconds, home / "joined")
        finally:
            server.stop()
    return runs


def report(runs: list[IdleRun], seconds: float) -> str:
    lines = [
        "### Idle client CPU (a window left alone on a board)",
        "",
        f"The real `pgboard` command at {SCREEN}, joined and settled ({WARMUP_SECONDS:.0f} s), then left "
        f"alone for {seconds:.0f} s of wall time: its CPU time (all threads) over that time, as a share "
        "of one core. Hosting counts the embedded server too; joined, the server is another process.",
        "",
        "| client | video driver | CPU (share of a core) | target | |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        met = "met" if run.cpu_share < TARGET else "MISSED"
        lines.append(f"| {run.mode} | {run.driver} | {run.cpu_share:.1%} | < {TARGET:.0%} | {met} |")
    return "\n".join(lines) + "\n"


def run(quick: bool = False) -> str:
    seconds = QUICK_SECONDS if quick else SECONDS
    return report(measure(seconds), seconds)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.idle_client", description=__doc__)
    p.add_argument("--quick", action="store_true", help=f"{QUICK_SECONDS:.0f} s instead of {SECONDS:.0f} s")
    args = p.parse_args(argv)
    print(run(quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
