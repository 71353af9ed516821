"""End to end, two real X windows (Xvfb, xdotool): Bob follows Alice, then his window is made smaller
by the window system and he hides his panels with Tab; he is still following: when Alice zooms in
further, her rectangle grows in his window too. (A resize or Tab used to stop following, as if he had
moved the view himself.)"""

from __future__ import annotations

import os
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server
from test_e2e_together import WAIT, until
from xdisplay import missing_tools, start_client, stop_client, xvfb

from pgboard.protocol import UserJoined
from pgboard.widgets import theme

pytestmark = pytest.mark.skipif(
    bool(missing_tools()) and not os.environ.get("CI"),
    reason=f"end-to-end needs {', '.join(missing_tools())} (.ci/run installs them)",
)

W, H = 640, 800
SMALL = (600, 640)  # Bob's window after the resize


def edge(image: pygame.Surface, box: tuple[int, int, int, int]) -> int:
    """The longest dark horizontal run in ``box``: the rectangle's top edge as drawn (text and icons
    make no long run)."""
    x0, y0, x1, y1 = box
    best = 0
    for y in range(y0, y1):
        run = 0
        for x in range(x0, x1):
            run = run + 1 if sum(image.get_at((x, y))[:3]) < 300 else 0
            best = max(best, run)
    return best


def test_following_survives_a_real_window_resize_and_tab(tmp_path: Path) -> None:
    assert not missing_tools(), "the end-to-end tools are missing"
    with running_server() as server, xvfb(f"{2 * W}x{H}x24") as display:
        watcher = RawClient(server.address)
        watcher.join("watcher", room="live")
        alice = start_client(display, tmp_path / "alice", server.address[1], "alice", "live", (W, H))
        bob = None
        try:
            win_a = display.window_of(alice.pid)
            watcher.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice")
            bob = start_client(display, tmp_path / "bob", server.address[1], "bob", "live", (W, H))
            win_b = display.window_of(bob.pid)
            watcher.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "bob", timeout=WAIT)
            display.xdotool("windowmove", "--sync", win_a, "0", "0")
            display.xdotool("windowmove", "--sync", win_b, str(W), "0")
            bob_window = (W, 60, 2 * W, 520)  # under his toolbar, above the toasts, in either size

            display.xdotool("windowfocus", "--sync", win_a)
            display.xdotool("key", "r")
            for _ in range(6):  # a wide pen (36 units): its edges stay dark whatever the zoom
                display.xdotool("key", "bracketright")
            display.drag([(180, 380), (212, 410), (245, 440)])  # about her view's centre, where keys zoom
            first = until(display, tmp_path / "rect.png", lambda im: edge(im, bob_window) > 10)
            display.xdotool("windowfocus", "--sync", win_b)
            display.xdotool("key", "Return")
            display.xdotool("type", "--delay", "20", "/follow alice")
            display.xdotool("key", "Return")
            display.xdotool("windowfocus", "--sync", win_a)
            display.xdotool("key", "ctrl+equal")
            until(
                display,
                tmp_path / "followed.png",
                lambda im: edge(im, bob_window) > 1.1 * edge(first, bob_window),
            )

            display.xdotool("windowsize", "--sync", win_b, str(SMALL[0]), str(SMALL[1]))
            display.xdotool("windowfocus", "--sync", win_b)
            display.xdotool("key", "Tab")  # the panels hidden: a wider board
            header = (W + SMALL[0] - 30, 62)  # in his People panel's header while it shows
            until(display, tmp_path / "tab.png", lambda im: im.get_at(header)[:3] != theme.PANEL_HEADER)
            seen: list[int] = []

            def settled(image: pygame.Surface) -> bool:  # two looks in a row show the same
                seen.append(edge(image, bob_window))
                return len(seen) > 1 and seen[-1] == seen[-2] > 10

            resized = until(display, tmp_path / "resized.png", settled)
            display.xdotool("windowfocus", "--sync", win_a)
            for _ in range(2):
                display.xdotool("key", "ctrl+equal")
            until(  # still following: her next zoom shows in his smaller window too
                display,
                tmp_path / "still-following.png",
                lambda im: edge(im, bob_window) > 1.3 * edge(resized, bob_window),
            )
        finally:
            stop_client(alice)
            if bob is not None:
                stop_client(bob)
            watcher.close()
