"""Where the client's late join of a big board spends its time: the profile behind the join rows.

One more late join (a fresh client process, as in the join rows of bench/client_bench.py) is sampled by
py-spy from its start to its board surface complete (`--gil`: the thread holding the interpreter
lock, whichever it is: the frame loop, the network reader or the board cache's; `--nonblocking`). A
sample goes to the first stage of STAGES (bench/join_profile.py) that any frame of its stack belongs
to (by source file), so the draft's calls into pgboard/render.py count as the draft, and the
painting's as painting.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import table
from bench.server_profile import function_of, py_spy, stacks

SAMPLE_RATE = 100  # samples per second (a join takes ~15 s)
TIMEOUT = 120.0  # seconds a profiled join may take

STAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("the view's draft of the whole board (to whole board shown)", ("pgboard/preview.py",)),
    ("the board surface at board resolution (to complete)", ("pgboard/paintjobs.py", "pgboard/boardview.py")),
    (
        "receive and decode the board (frames, the snapshot's blob, its objects)",
        ("pgboard/net.py", "pgboard/codec.py", "pgboard/protocol_snapshot.py", "pgboard/wire_fields.py"),
    ),
    (
        "install it: the board's objects, their order and spatial index",
        ("pgboard/session_catchup.py", "pgboard/board.py", "pgboard/geometry.py", "pgboard/catchup_gc.py"),
    ),
    ("start-up (imports, pygame, fonts, the window)", ("_find_and_load", "App.__init__")),
)
OTHER = "other (the frame loop, the interface, waiting for the server)"


@dataclass
class JoinProfile:
    times: dict[str, float] = field(default_factory=dict)  # the child's own figures (shown, surface, ...)
    samples: Counter[str] = field(default_factory=Counter)  # stage -> samples
    functions: dict[str, Counter[str]] = field(default_factory=dict)  # stage -> innermost function -> n


def _file_of(frame: str) -> str:
    """``"name (/abs/path/pgboard/x.py:12)"`` -> ``"pgboard/x.py"`` (the repository-relative part)."""
    where = frame.rpartition(" (")[2].rstrip(")")
    path = where.rpartition(":")[0] or where
    cut = path.rfind("pgboard/")
    return path[cut:] if cut >= 0 else path


def stage_of(frames: list[str]) -> str:
    """A mark is a source file or a function's qualified name (py-spy names methods ``Class.method``)."""
    found = {function_of(frame) for frame in frames} | {_file_of(frame) for frame in frames}
    for stage, marks in STAGES:
        if not found.isdisjoint(marks):
            return stage
    return OTHER


def read_raw(path: Path, profile: JoinProfile) -> None:
    for frames, count in stacks(path):
        stage = stage_of(frames)
        profile.samples[stage] += count
        if frames:
            profile.functions.setdefault(stage, Counter())[function_of(frames[-1])] += count


def late_join(child_cmd: list[str], workdir: Path, cwd: Path) -> JoinProfile | None:
    """Run ``child_cmd`` (a late-join child printing its times as JSON) under py-spy; None without it."""
    spy = py_spy()
    if spy is None:
        return None
    out = workdir / "join-profile.txt"
    child = subprocess.Popen(child_cmd, cwd=cwd, stdout=subprocess.PIPE, text=True)
    cmd = [spy, "record", "-p", str(child.pid), "-o", str(out), "-f", "raw", "-r", str(SAMPLE_RATE)]
    sampler = subprocess.Popen(
        [*cmd, "--gil", "--nonblocking", "--threads"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        printed, _ = child.communicate(timeout=TIMEOUT)
        sampler.wait(timeout=30)
    finally:
        for proc in (child, sampler):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    profile = JoinProfile(times=json.loads(printed.strip().splitlines()[-1]))
    if out.exists():
        read_raw(out, profile)
    return profile


def section(profile: JoinProfile | None, objects: int) -> str:
    head = [
        f"### Where the {objects:,}-object late join spends its time",
        "",
        __doc__.split("\n\n", 1)[1].replace("\n", " ").strip(),
        "",
    ]
    if profile is None:
        return "\n".join([*head, "Not measured: py-spy is not installed (pip install -e '.[bench]').", ""])
    total = sum(profile.samples.values()) or 1
    rows = []
    for stage in [s for s, _ in STAGES] + [OTHER]:
        n = profile.samples[stage]
        busiest = profile.functions.get(stage, Counter()).most_common(4)
        rows.append(
            [
                stage,
                f"{n / SAMPLE_RATE:.2f}",
                f"{100 * n / total:.0f}%",
                ", ".join(f"`{name}` {k / SAMPLE_RATE:.2f}" for name, k in busiest),
            ]
        )
    t = profile.times
    head.append(
        f"This join: caught up {t.get('caught_up', 0):.2f} s, whole board shown {t.get('shown', 0):.2f} s, "
        f"board surface complete {t.get('surface', 0):.2f} s after `App.connect`; the interpreter busy "
        f"{total / SAMPLE_RATE:.2f} s of it (the process starts before `App.connect`: its start-up counts "
        "here, not in the rows above)."
    )
    return "\n".join(
        [*head, "", table(["stage", "interpreter s", "share", "busiest functions (innermost, s)"], rows)]
    )
