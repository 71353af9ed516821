"""End to end: the real client in a real X window (Xvfb), driven by xdotool as a person would.

Alice's client is a separate process joined to a server on loopback; Bob is a protocol client in the
test. Alice picks tools by their shortcuts, draws with the mouse and chats; Bob must receive every
object and the chat line, and a screenshot of Alice's window must show the stroke.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server
from xdisplay import missing_tools, xvfb

from pgboard.protocol import Add, Chat, UserJoined

pytestmark = pytest.mark.skipif(
    bool(missing_tools()) and not os.environ.get("CI"),
    reason=f"end-to-end needs {', '.join(missing_tools())} (.ci/run installs them)",
)

SIZE = (1280, 800)
WAIT = 20.0


def _dark(pixel: tuple[int, ...]) -> bool:
    return sum(pixel[:3]) < 200


def test_draw_and_chat_in_a_real_window_reach_another_user(tmp_path: Path) -> None:
    assert not missing_tools(), "the end-to-end tools are missing"
    with running_server() as server, xvfb(f"{SIZE[0]}x{SIZE[1]}x24") as display:
        bob = RawClient(server.address)
        bob.join("bob", room="e2e")
        env = display.env(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"))
        client = subprocess.Popen(
            [sys.executable, "-m", "pgboard.cli", "--connect", f"127.0.0.1:{server.address[1]}"]
            + ["--nick", "alice", "--room", "e2e", "--size", f"{SIZE[0]}x{SIZE[1]}"]
            + ["--export-dir", str(tmp_path)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(tmp_path / "client.log", "wb"),  # noqa: SIM115  (closed with the process)
        )
        try:
            window = display.window_of(client.pid)
            alice = bob.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice", timeout=WAIT)
            display.xdotool("windowfocus", "--sync", window)

            # a rectangle, picked by its shortcut
            display.xdotool("key", "r")
            display.drag([(150, 200), (250, 260), (350, 320)])
            rect = bob.recv_until(Add, timeout=WAIT)
            assert rect.obj.kind == "rect" and rect.author == alice.user

            # a pencil stroke along a straight path, so the screenshot can be checked along it
            display.xdotool("key", "p", "bracketright", "bracketright", "bracketright", "bracketright")
            path = [(420 + 20 * i, 500) for i in range(16)]
            display.drag(path)
            stroke = bob.recv_until(Add, timeout=WAIT)
            assert stroke.obj.kind == "pencil" and stroke.author == alice.user
            assert stroke.obj.width == 18, "] made the pen thicker, step by step (3, 5, 8, 12, 18)"

            # a chat line: Enter focuses the chat, Enter sends
            display.xdotool("key", "Return")
            display.xdotool("type", "--delay", "30", "hello from alice")
            display.xdotool("key", "Return")
            line = bob.recv_until(Chat, timeout=WAIT)
            assert line.text == "hello from alice" and line.nick == "alice"

            shot = tmp_path / "window.png"
            display.screenshot(str(shot))
            image = pygame.image.load(str(shot))
            on_stroke = [image.get_at((x, 500)) for x in range(450, 700, 10)]
            assert all(_dark(p) for p in on_stroke), "the pencil stroke shows along the mouse's path"
            assert not _dark(image.get_at((560, 560))), "and the board is white beside it"
            edge = [sum(image.get_at((250, y))[:3]) for y in range(195, 206)]
            assert min(edge) < 650, "the rectangle's thin top edge shows, scaled down to fit the window"
        finally:
            client.terminate()
            try:
                client.wait(timeout=10)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait(timeout=5)
            bob.close()
