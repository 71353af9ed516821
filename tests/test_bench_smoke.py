"""The benchmark harness in a few seconds (bench/, ``make bench`` runs the full suite): pgboard and the
asyncio peer with 2 clients, every delivery counted, and the report sections produced. It never writes
docs/PERFORMANCE.md; Twisted is not needed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bench import report, server_bench

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_smoke_run_counts_every_delivery_and_reports(tmp_path: Path) -> None:
    performance = DOCS / "PERFORMANCE.md"
    before = performance.stat().st_mtime_ns if performance.exists() else None
    lines: list[str] = []

    result = server_bench.run(server_bench.SMOKE, log=lines.append)

    names = [name for name, _ in result.runs]
    assert {"pgboard N=2 max", "pgboard N=2 rate", "asyncio N=2 max", "asyncio N=2 rate"} <= set(names)
    for name, run in result.runs:
        assert run.sent > 0, name
        assert run.expected == run.sent * run.spec.clients, name  # everyone receives every operation
        assert run.delivered == run.expected, name
        assert (run.lost, run.out_of_order, run.errors, run.join_failed) == (0, 0, 0, 0), name
        assert len(run.latencies) == run.delivered, name
    assert result.all_ok
    text = "\n".join(result.sections)
    for title in ("## Fan-out throughput", "## Latency at a realistic rate", "## Reconnect after"):
        assert title in text
    assert "| target | measured | ratio | result |" in text
    assert set(result.latency) == {"pgboard", "asyncio"}
    if importlib.util.find_spec("matplotlib") is not None:
        report.plot(tmp_path / "latency.png", result.latency, "smoke")
        assert (tmp_path / "latency.png").stat().st_size > 0
    after = performance.stat().st_mtime_ns if performance.exists() else None
    assert before == after, "the smoke test must not write docs/PERFORMANCE.md"


def test_twisted_peer_is_skipped_cleanly_when_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(server_bench, "twisted_available", lambda: False)
    bench = server_bench.Bench(
        server_bench.Profile(peers=("twisted", "asyncio")), tmp_path, log=lambda _: None
    )
    assert bench.kinds == ["pgboard", "asyncio"]
