"""Time-lapse export rate: the 10,000-object board of the client benchmark (bench/client_bench.py
``make_objects``: 70% pencil strokes of 20-90 points, 20% shapes, 10% text) as a log of 10,000 add
echoes, exported by pgboard/timelapse.py as an animated GIF and WebP (MAX_EXPORT_FRAMES frames of
MAX_EXPORT_SIDE px, rendered offscreen by the canvas, encoded by Pillow in its worker thread).

Reported: wall-clock seconds of the whole export (``TimelapseExport.run``: the steps the window would
spread over frames, back to back, and the encoder's thread), frames per second and logged operations
per second, and the file's size. Headless (SDL's dummy driver).

Run alone: ``python bench/timelapse_bench.py [--quick] [--objects N]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pygame  # noqa: E402

from bench.client_bench import make_objects  # noqa: E402
from pgboard import timelapse  # noqa: E402
from pgboard.protocol import Add  # noqa: E402
from pgboard.render import TextCache  # noqa: E402

AUTHOR = "0123456789abcdef"


def log_of(n: int) -> list[Add]:
    return [
        Add(oid=f"o{seq}", obj=obj, seq=seq, author=AUTHOR)
        for seq, obj in enumerate(make_objects(n, 1, AUTHOR), start=1)
    ]


def measure(n: int, suffix: str) -> dict[str, float]:
    ops = log_of(n)
    texts = TextCache()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{suffix}"
        start = time.perf_counter()
        export = timelapse.TimelapseExport(path, [], 0, ops, texts)
        export.run()
        seconds = time.perf_counter() - start
        size = path.stat().st_size
        export.close()
    frames = len(export.samples)
    return {"seconds": seconds, "frames": frames, "fps": frames / seconds, "ops": n / seconds, "bytes": size}


def report(n: int, rows: dict[str, dict[str, float]]) -> str:
    lines = [
        "## Time-lapse export",
        "",
        f"Time-lapse export of the {n:,}-object board ({n:,} logged adds; "
        f"{timelapse.MAX_EXPORT_FRAMES} frames at most, {timelapse.MAX_EXPORT_SIDE} px):",
        "",
        "| format | seconds | frames | frames/s | ops/s | file |",
        "|---|---|---|---|---|---|",
    ]
    for fmt, r in rows.items():
        lines.append(
            f"| {fmt} | {r['seconds']:.1f} | {r['frames']:.0f} | {r['fps']:.1f} | {r['ops']:,.0f} "
            f"| {r['bytes'] / 1024:,.0f} KiB |"
        )
    lines += [
        "",
        "Rendered in steps (the window spreads them one a frame, REPLAY_BUDGET and PAINT_BUDGET each), "
        "encoded by Pillow in a worker thread; here the steps run back to back "
        "(python bench/timelapse_bench.py).",
    ]
    return "\n".join(lines)


def run(n: int) -> str:
    pygame.display.init()
    pygame.font.init()
    try:
        return report(n, {"GIF": measure(n, ".gif"), "WebP": measure(n, ".webp")})
    finally:
        pygame.quit()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--objects", type=int, default=10_000)
    p.add_argument("--quick", action="store_true", help="300 objects (a smoke run)")
    args = p.parse_args(argv)
    print(run(300 if args.quick else args.objects))
    return 0


if __name__ == "__main__":
    sys.exit(main())
