"""The soak (bench/soak.py, ``make soak``: 50 clients for 10 minutes) in a few seconds, so it cannot rot.

It runs the soak's own function with two clients for six seconds: the server is a subprocess and the
load generator's workers are processes of their own (bench/loadgen.py spawns them), as in ``make soak``.
Nothing here is timed and the memory verdict is not asserted (six seconds say nothing about a slope):
the run must complete, take its samples, lose nothing, erase strokes, and leave the server's threads
as it found them.
"""

from __future__ import annotations

import pytest

from bench import soak


@pytest.mark.timeout(120)
def test_a_short_soak_completes_samples_and_loses_nothing() -> None:
    lines: list[str] = []

    result = soak.run_soak(minutes=0.1, clients=2, every=1.0, log=lines.append)

    load, verdict = result.load, result.verdict
    assert load is not None and verdict is not None
    assert len(result.samples) >= 3 and all(s.rss_mib > 0 and s.threads > 0 for s in result.samples)
    assert len(lines) == len(result.samples) + 1  # a header, then a line per sample
    assert load.sent > 0 and load.delivered == load.expected == load.sent * 2
    assert (load.lost, load.out_of_order, load.errors, load.join_failed) == (0, 0, 0, 0)
    assert result.deleted > 0 and not verdict.janitor_errors  # finished strokes were erased
    assert verdict.threads_end <= verdict.threads_start and verdict.threads_flat  # no thread left behind
    report = soak.report(result)
    assert report[-1] in ("verdict: PASS", "verdict: FAIL")
    assert any(line.startswith("memory: ") for line in report)
