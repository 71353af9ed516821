"""End to end: the history timeline in a real X window (Xvfb), driven by xdotool as a person would.

Bob (a protocol client) draws ten red lines; Alice's client (a real ``pgboard`` process) joins, presses
H, clicks the middle of the scrubber: her screen shows the first half of the lines only; Bob draws
another line meanwhile, and Esc brings the live board back with all of them.
Every wait is a screenshot polled until it shows what is expected, bounded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server
from xdisplay import Display, missing_tools, xvfb

from pgboard.protocol import Add, BoardObject, UserJoined

pytestmark = pytest.mark.skipif(
    bool(missing_tools()) and not os.environ.get("CI"),
    reason=f"end-to-end needs {', '.join(missing_tools())} (.ci/run installs them)",
)

SIZE = (1280, 800)
WAIT = 20.0
# The board (3200x1800) fitted into the board's rect at this window size: 980x726 under the 48 px tool
# bar, beside the 300 px panel, scaled 980/3200 and centred vertically.
SCALE = 980 / 3200
TOP = 48 + (726 - 1800 * SCALE) / 2


def screen_x(i: int) -> int:
    return round(200 * i * SCALE)


def red(image: pygame.Surface, i: int) -> bool:
    p = image.get_at((screen_x(i), round(TOP + 900 * SCALE)))
    return p.r > 180 and p.g < 120 and p.b < 120


def shot_until(display: Display, path: Path, cond: Callable[[pygame.Surface], bool]) -> pygame.Surface:
    deadline = time.monotonic() + WAIT
    while True:
        display.screenshot(str(path))
        image = pygame.image.load(str(path))
        if cond(image):
            return image
        if time.monotonic() > deadline:
            raise AssertionError(f"the screen did not show it within {WAIT} s (see {path})")


def draw_line(bob: RawClient, i: int) -> None:
    obj = BoardObject(bob.obj_id(f"l{i}"), "line", ((200 * i, 300), (200 * i, 1500)), "#e03131", 16)
    bob.send(Add(f"o{i}", obj))
    bob.recv_until(lambda m: isinstance(m, Add) and m.oid == f"o{i}")


def test_the_timeline_in_a_real_window_replays_half_the_board_and_esc_returns_to_now(tmp_path: Path) -> None:
    assert not missing_tools(), "the end-to-end tools are missing"
    with running_server() as server, xvfb(f"{SIZE[0]}x{SIZE[1]}x24") as display:
        bob = RawClient(server.address)
        bob.join("bob", room="e2e")
        for i in range(1, 11):
            draw_line(bob, i)
        env = display.env(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
        client = subprocess.Popen(
            [sys.executable, "-m", "pgboard.cli", "--connect", f"127.0.0.1:{server.address[1]}"]
            + ["--nick", "alice", "--room", "e2e", "--size", f"{SIZE[0]}x{SIZE[1]}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "client.log", "wb"),  # noqa: SIM115  (closed with the process)
        )
        try:
            window = display.window_of(client.pid)
            bob.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice", timeout=WAIT)
            display.xdotool("windowfocus", "--sync", window)
            shot = tmp_path / "window.png"
            shot_until(display, shot, lambda im: all(red(im, i) for i in range(1, 11)))
            display.xdotool("mousemove", "400", "400", "key", "h")
            # the replay starts at the empty board: no line shows
            shot_until(display, shot, lambda im: not any(red(im, i) for i in range(1, 11)))
            display.xdotool("mousemove", str((110 + 648) // 2), "752", "click", "1")  # the scrubber's middle
            shot_until(display, shot, lambda im: red(im, 5) and not red(im, 6))
            image = shot_until(display, shot, lambda im: all(red(im, i) for i in range(1, 6)))
            assert not any(red(image, i) for i in range(6, 11)), "half the board: the first five lines"
            draw_line(bob, 12)  # live, while the timeline is open (test_app_timeline.py holds that
            # the replay never shows it; here the window cannot say when it arrived)
            display.xdotool("key", "Escape")
            shot_until(display, shot, lambda im: all(red(im, i) for i in (*range(1, 11), 12)))
        finally:
            client.terminate()
            client.wait(10)
            bob.close()
