"""The client benchmark runs end to end (small boards, short runs) and reports every row it promises.

No timing is asserted: the figures only have to be numbers in a plausible range.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import client_bench

ROOT = Path(__file__).resolve().parent.parent


def _row(section: str, first_cell: str) -> list[str]:
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in:\n{section}")


def _number(cell: str) -> float:
    match = re.search(r"-?\d[\d,]*(\.\d+)?", cell)
    assert match, f"no number in {cell!r}"
    return float(match.group(0).replace(",", ""))


@pytest.mark.timeout(120)
def test_quick_run_reports_every_row_with_plausible_numbers() -> None:
    # in a process of its own, as make bench runs it: the client's memory before and after the join
    # is only its own there (in the test process, earlier tests' memory leaves during the join)
    done = subprocess.run(
        [sys.executable, "-m", "bench.client_bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=110,
        check=True,
    )
    section = done.stdout.strip()
    assert section.startswith("## Client")
    small, big = client_bench.QUICK_BOARDS
    for n in (small, big):
        row = _row(section, f"{n:,}")
        opened, caught, shown, complete, frames = (_number(c) for c in row[1:6])
        assert 0 < opened < client_bench.JOIN_TIMEOUT
        assert 0 < caught <= shown <= complete < client_bench.JOIN_TIMEOUT and frames >= 1
    assert re.fullmatch(r"(met|MISSED) / (met|MISSED)", _row(section, f"{big:,}")[-1])
    for board in (f"{big:,} objects", "empty"):
        row = _row(section, board)
        frames, p50, p99, longest = (_number(c) for c in row[1:5])
        assert frames > 10 and 0 < p50 <= p99 <= longest < 10_000
        assert _number(row[-1]) > 0  # the remote users really drew (remote ops/s)
    assert "p99 big / p99 empty" in section
    target_rows = [line for line in section.splitlines() if line.startswith("| p99")]
    assert len(target_rows) == 2
    assert all(line.rstrip(" |").endswith(("met", "MISSED")) for line in target_rows)
    for name in client_bench.REJOIN_TARGETS:  # the joins again in fresh processes: late, restarts
        row = _row(section, name)
        assert 0 < _number(row[1]) < client_bench.JOIN_TIMEOUT and row[-1] in ("met", "MISSED")
    before = _number(_row(section, "before joining")[1])
    after = _number(_row(section, f"after the {big:,}-object join")[1])
    assert 10 < before <= after < 8000  # MiB
