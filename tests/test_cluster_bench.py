"""The cluster row is part of the benchmark suite (bench/run.py): its section lists one process and two
cluster processes on one Redis, with nothing lost or doubled (a short run, ~10 s)."""

from __future__ import annotations

from test_cluster import pytestmark  # noqa: F401 - the skip marks (no redis-server, no redis-py)

from bench import run


def test_the_benchmark_suite_has_the_cluster_row() -> None:
    section = run.cluster_section(quick=True)
    assert section.startswith("## Cluster: 4 rooms x 5 clients")
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in section.splitlines()}
    for name in (
        "1 process, cluster (Redis)",
        "2 processes, cluster (Redis)",
        "1 process, embedded (no Redis)",
    ):
        assert name in rows, section
        assert rows[name][5:7] == ["0", "0 |"], f"lost, doubled or refused: {rows[name]}"
