"""Where pgboard's server spends its time at maximum rate: the profile behind the fan-out ratios.

The real server (a fresh process, SQLite on a file) under the fan-out load of bench/server_bench.py
(N clients, 8 operations each in flight) is sampled by py-spy (`--gil`: only the thread holding the
interpreter lock, so a sample is interpreter time; `--nonblocking`: the server is never paused, its
rate is unchanged). Each sample's stack is given to the stage of its innermost frame that names one
(STAGES in bench/server_profile.py), so time in `dataclasses.replace` under `Board.apply` counts as
applying.

What the samples do not see is the server's CPU outside the interpreter lock: SQLite's C writing the
WAL, the kernel's receive, handing the lock between threads. That is the server's CPU (from /proc)
less the sampled time, shown as its own row. The kernel's send is sampled: the broadcast writes with
libc's write() holding the lock (server/fastwrite.py), so it counts in the write stage.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench.loadgen import LoadSpec, run_load
from bench.peers import ServerProcess
from bench.report import table

PROFILE_NS = (2, 10)  # the rows where pgboard is furthest behind a byte relay
PROFILE_SECONDS = 4
SAMPLE_RATE = 250  # samples per second
WINDOW = 8  # each client's operations in flight, as in the fan-out table

# (stage, the functions that begin it); a sample belongs to the stage of its innermost such frame
STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("read and split the input (recv, framing, rate limits)", ("Session._read_loop",)),
    ("decode and validate (json, the protocol's checks)", ("Codec.next_message", "RawCodec.next_message")),
    ("group into rounds, locks, bookkeeping", ("Session._apply", "Rounds.submit", "apply_round")),
    ("apply: the board's authority, its objects and index", ("Room._apply_one", "Board.apply")),
    ("the log's form of each echo (points packed)", ("Room._log",)),
    ("commit to SQLite (the Python side of the transaction)", ("Store.append_ops",)),
    ("the echo's frame (spliced from the received bytes)", ("splice", "encode")),
    (
        "queue and write to every member's socket",
        ("Session.send_frames", "Session.flush", "Session._write_loop"),
    ),
    ("compaction (a snapshot of the board)", ("LogCompactor.compact",)),
    (
        "background threads (checkpoint, idle watch, heartbeat, accept)",
        ("Checkpointer._run", "IdleWatch._run", "BoardServer._heartbeat_loop", "BoardServer._accept_loop"),
    ),
)
OTHER = "other"
_STAGE_OF = {name: stage for stage, names in STAGES for name in names}


@dataclass
class Profile:
    clients: int
    operations: float = 0.0  # operations applied during the sampled seconds
    cpu: float = 0.0  # server CPU seconds during them (from /proc)
    samples: Counter[str] = field(default_factory=Counter)  # stage -> samples
    functions: Counter[str] = field(default_factory=Counter)  # innermost function -> samples
    seconds: float = PROFILE_SECONDS

    @property
    def sampled(self) -> float:
        """Interpreter seconds seen (each sample stands for 1/SAMPLE_RATE s)."""
        return sum(self.samples.values()) / SAMPLE_RATE

    def per_op(self, seconds: float) -> float:
        return 1e6 * seconds / self.operations if self.operations else 0.0


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def stage_of(frames: list[str]) -> str:
    """The stage of a stack (outermost first), by its innermost frame that begins one."""
    for frame in reversed(frames):
        stage = _STAGE_OF.get(function_of(frame))
        if stage is not None:
            return stage
    return OTHER


def stacks(path: Path) -> Iterator[tuple[list[str], int]]:
    """py-spy's raw (collapsed) output, ``thread;frame;frame;... count`` a line: each stack's frames
    (outermost first, ``"name (file:line)"``) and its samples."""
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            yield stack.split(";")[1:], int(count)  # the first names the thread


def function_of(frame: str) -> str:
    return frame.split(" (", 1)[0]


def read_raw(path: Path, profile: Profile) -> None:
    for frames, count in stacks(path):
        profile.samples[stage_of(frames)] += count
        if frames:
            profile.functions[function_of(frames[-1])] += count


def profile_run(clients: int, workdir: Path, spy: str) -> Profile:
    profile = Profile(clients)
    out = workdir / f"profile{clients}.txt"
    srv = ServerProcess("pgboard", workdir / f"profile{clients}.sqlite3", log_path=workdir / "servers.log")
    try:
        sampler: list[subprocess.Popen[bytes]] = []
        cpu: list[float] = []

        def start() -> None:
            cpu.append(srv.cpu())
            cmd = [spy, "record", "-p", str(srv.pid), "-o", str(out), "-f", "raw", "-r", str(SAMPLE_RATE)]
            cmd += ["-d", str(PROFILE_SECONDS), "--gil", "--nonblocking", "--threads"]
            sampler.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        spec = LoadSpec(
            port=srv.port,
            clients=clients,
            mode="max",
            duration=PROFILE_SECONDS,
            window=WINDOW,
            processes=1 if clients <= 2 else 2,
            tag=f"p{clients}",
        )
        result = run_load(spec, on_start=start, on_end=lambda: cpu.append(srv.cpu()))
        for proc in sampler:
            proc.wait(timeout=PROFILE_SECONDS + 30)
        profile.cpu = cpu[1] - cpu[0]
        profile.seconds = result.elapsed or PROFILE_SECONDS
        profile.operations = result.sent * min(1.0, PROFILE_SECONDS / profile.seconds)
        if not result.ok:
            raise RuntimeError(f"the profiled run lost or reordered deliveries: {result}")
    finally:
        srv.stop()
    if out.exists():
        read_raw(out, profile)
    return profile


def section(profiles: list[Profile], missing: str = "") -> str:
    head = [
        "## The server's profile at maximum rate",
        "",
        __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "",
    ]
    if missing:
        return "\n".join([*head, f"Not measured: {missing}.", ""])
    head.append(
        f"{PROFILE_SECONDS} s of the fan-out load per row, sampled {SAMPLE_RATE} times a second. "
        "Microseconds are per operation (each operation is then delivered to every client)."
    )
    stages = [stage for stage, _ in STAGES] + [OTHER]
    cols = ["stage"]
    for p in profiles:
        cols += [f"N={p.clients}: share of the server's CPU", f"N={p.clients}: us per operation"]
    rows = []
    for stage in stages:
        row: list[object] = [stage]
        for p in profiles:
            seconds = p.samples[stage] / SAMPLE_RATE
            row += [f"{100 * seconds / p.cpu:.0f}%" if p.cpu else "-", f"{p.per_op(seconds):.1f}"]
        rows.append(row)
    outside: list[object] = ["outside the interpreter lock (SQLite's C, the kernel's recv, lock handoffs)"]
    total: list[object] = ["**total: the server's CPU**"]
    for p in profiles:
        rest = max(0.0, p.cpu - p.sampled)
        outside += [f"{100 * rest / p.cpu:.0f}%" if p.cpu else "-", f"{p.per_op(rest):.1f}"]
        total += ["100%", f"**{p.per_op(p.cpu):.1f}**"]
    rows += [outside, total]
    lines = [*head, "", table(cols, rows)]
    for p in profiles:
        rate = p.operations / p.seconds if p.seconds else 0.0
        lines.append(
            f"N={p.clients}: {rate:,.0f} operations/s ({rate * p.clients:,.0f} deliveries/s) on "
            f"{p.cpu / p.seconds:.2f} cores; the interpreter lock held {100 * p.sampled / p.seconds:.0f}% "
            "of the time. Its busiest functions (innermost frame, us per operation): "
            + ", ".join(f"`{name}` {p.per_op(n / SAMPLE_RATE):.1f}" for name, n in p.functions.most_common(8))
            + f". At {p.per_op(p.cpu):.0f} us of CPU an operation, one core caps the server at "
            f"{p.clients * 1e6 / p.per_op(p.cpu):,.0f} deliveries/s with {p.clients} clients, whatever the "
            "threads: the bound of the fan-out row against a relay that only copies bytes."
        )
        lines.append("")
    return "\n".join(lines)


def run(log=print) -> str:  # noqa: ANN001
    spy = py_spy()
    if spy is None:
        return section([], missing="py-spy is not installed (pip install -e '.[bench]')")
    profiles = []
    with tempfile.TemporaryDirectory(prefix="pgboard-profile-") as tmp:
        for n in PROFILE_NS:
            log(f"  profile N={n}")
            profiles.append(profile_run(n, Path(tmp), spy))
    return section(profiles)


if __name__ == "__main__":
    print(run(log=lambda line: print(line, file=sys.stderr)))
