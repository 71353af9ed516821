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


def test_the_profile_gives_each_sample_to_its_innermost_stage_and_the_rest_to_outside_the_lock(
    tmp_path: Path,
) -> None:
    from bench import server_profile as sp

    raw = tmp_path / "raw.txt"
    raw.write_text(
        "thread 1;Session._read_loop (session.py:1);Board.apply (board.py:2);replace (dataclasses.py:3) 30\n"
        "thread 1;Session._read_loop (session.py:1);Room._log (room.py:4);Store.append_ops (store.py:5) 10\n"
        "thread 2;Checkpointer._run (checkpoint.py:6) 5\n"
        "thread 3;something_else (x.py:1) 5\n"
    )
    profile = sp.Profile(clients=2, operations=1000, cpu=0.4, seconds=1.0)
    sp.read_raw(raw, profile)
    assert profile.samples[sp.STAGES[3][0]] == 30  # replace under Board.apply: applying
    assert profile.samples[sp.STAGES[5][0]] == 10  # the commit, though under the log's form
    assert profile.samples[sp.OTHER] == 5 and profile.functions["replace"] == 30
    text = sp.section([profile])
    # 50 samples at 250/s = 0.2 s of the lock; the server's 0.4 s CPU leaves 0.2 s outside it: 200 us/op
    outside = next(line for line in text.splitlines() if line.startswith("| outside the interpreter lock"))
    assert outside.endswith("| 50% | 200.0 |")
    assert "| **total: the server's CPU** | 100% | **400.0** |" in text
    assert "Not measured" in sp.section([], missing="py-spy is not installed")


def test_the_codec_comparison_measures_protocol_py_and_says_when_msgspec_is_missing() -> None:
    from bench import codec_bench

    costs = codec_bench.measure()
    assert set(costs) == {"decode and validate", "encode"}
    for ours, theirs in costs.values():
        assert ours > 0
        assert (theirs is None) == (importlib.util.find_spec("msgspec") is None)


def test_the_join_profile_gives_a_sample_to_the_first_stage_its_stack_reaches() -> None:
    from bench import join_profile as jp

    def frame(name: str, path: str) -> str:
        return f"{name} (/work/clone/{path}:12)"

    draft = [frame("FrameLoop.tick", "pgboard/frameloop.py"), frame("Preview.step", "pgboard/preview.py")]
    draft.append(frame("stroke", "pgboard/render.py"))  # the draft's own painting counts as the draft
    assert jp.stage_of(draft) == jp.STAGES[0][0]
    decode = [frame("Net._read", "pgboard/net.py"), frame("decode_blob", "pgboard/protocol_snapshot.py")]
    assert jp.stage_of(decode) == jp.STAGES[2][0]
    install = [frame("CatchUp.install", "pgboard/session_catchup.py"), frame("insert", "pgboard/geometry.py")]
    assert jp.stage_of(install) == jp.STAGES[3][0]
    assert jp.stage_of([frame("App.__init__", "pgboard/app.py")]) == jp.STAGES[4][0]
    main = frame("<module>", "bench/client_bench.py")  # every stack of the main thread begins so
    assert jp.stage_of([main, frame("_find_and_load", "<frozen importlib._bootstrap>")]) == jp.STAGES[4][0]
    assert jp.stage_of([main, frame("UI.draw", "pgboard/ui.py")]) == jp.OTHER
    assert "Not measured" in jp.section(None, 100_000)
