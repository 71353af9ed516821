"""End to end: the select tool in real X windows (Xvfb), driven by xdotool, with the X clipboard.

Alice's client (a process) draws two rectangles, box-selects them with V, copies them with Ctrl+C;
Bob's client (another process, another room) pastes them with Ctrl+V through the X clipboard, so the
copy crosses processes and rooms as a user's would. Then Alice duplicates with Ctrl+D and undoes it
with Ctrl+Z: the protocol clients watching each room see ONE batch each time, and Bob's window shows
the pasted rectangles. The screenshot of Alice's selection (frame and handles) is kept as
``selection.png`` in the test's folder.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server
from xdisplay import Display, missing_tools, start_client, stop_client, xvfb

from pgboard.protocol import Add, Batch, Undo, UserJoined

pytestmark = pytest.mark.skipif(
    bool(missing_tools()) and not os.environ.get("CI"),
    reason=f"end-to-end needs {', '.join(missing_tools())} (.ci/run installs them)",
)

SIZE = (1280, 800)
WAIT = 20.0
SELECTION_RGB = (30, 120, 255)  # the canvas's SELECTION_COLOR


def blue_pixels(image: pygame.Surface, box: tuple[int, int, int, int]) -> int:
    x0, y0, x1, y1 = box
    return sum(
        1
        for x in range(x0, x1)
        for y in range(y0, y1)
        if all(abs(a - b) <= 10 for a, b in zip(image.get_at((x, y))[:3], SELECTION_RGB, strict=True))
    )


def shows_edge(display: Display, shot: Path) -> bool:
    """Whether the window shows the first rectangle's top edge, within WAIT (the echo comes first)."""
    deadline = time.monotonic() + WAIT
    while True:
        display.screenshot(str(shot))
        image = pygame.image.load(str(shot))
        if min(sum(image.get_at((200, y))[:3]) for y in range(195, 206)) < 650:
            return True
        if time.monotonic() > deadline:
            return False  # each look takes a screenshot (~0.1 s): no pause between them


def test_box_select_copy_to_another_window_and_room_then_duplicate_and_undo(tmp_path: Path) -> None:
    assert not missing_tools(), "the end-to-end tools are missing"
    with running_server() as server, xvfb(f"{SIZE[0]}x{SIZE[1]}x24") as display:
        port = server.address[1]
        watcher = RawClient(server.address)  # in alice's room
        watcher.join("watcher", room="e2e")
        other = RawClient(server.address)  # in bob's room
        other.join("other", room="elsewhere")
        alice = start_client(display, tmp_path / "alice", port, "alice", "e2e")
        bob = None
        try:
            win_a = display.window_of(alice.pid)
            watcher.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice", timeout=WAIT)
            display.xdotool("windowfocus", "--sync", win_a)
            display.xdotool("key", "r")
            display.drag([(150, 200), (200, 240), (250, 260)])
            display.drag([(300, 200), (350, 240), (400, 260)])
            rects = [watcher.recv_until(Add, timeout=WAIT), watcher.recv_until(Add, timeout=WAIT)]

            display.xdotool("key", "v")
            display.drag([(120, 170), (300, 250), (450, 300)])  # the box holds both
            display.xdotool("key", "ctrl+c")
            shot = tmp_path / "selection.png"
            display.screenshot(str(shot))
            image = pygame.image.load(str(shot))
            assert blue_pixels(image, (100, 150, 470, 320)) > 100, "the selection's frame and handles show"

            bob = start_client(display, tmp_path / "bob", port, "bob", "elsewhere")
            win_b = display.window_of(bob.pid)
            other.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "bob", timeout=WAIT)
            display.xdotool("windowraise", win_b)
            display.xdotool("windowfocus", "--sync", win_b)
            display.xdotool("key", "ctrl+v")
            pasted = other.recv_until(Batch, timeout=WAIT)  # ONE operation, through the X clipboard
            assert sorted(o.points for o in pasted.put) == sorted(r.obj.points for r in rects)
            assert shows_edge(display, tmp_path / "bob.png"), "bob's window shows the pasted rectangle"

            display.xdotool("windowraise", win_a)
            display.xdotool("windowfocus", "--sync", win_a)
            display.xdotool("key", "ctrl+d")
            dup = watcher.recv_until(Batch, timeout=WAIT)
            assert len(dup.put) == 2 and not dup.removed
            display.xdotool("key", "ctrl+z")
            undo = watcher.recv_until(Undo, timeout=WAIT)
            assert undo.target == dup.seq and set(undo.removed) == {o.id for o in dup.put}
        finally:
            stop_client(alice)
            if bob is not None:
                stop_client(bob)
            watcher.close()
            other.close()
