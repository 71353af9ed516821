"""End to end: the real client in a real X window (Xvfb), driven by xdotool as a person would.

Alice's client is a separate process joined to a server on loopback; Bob is a protocol client in the
test. Alice picks tools by their shortcuts, draws with the mouse and chats; Bob must receive every
object and the chat line, and a screenshot of Alice's window must show the stroke.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server
from xdisplay import missing_tools, start_client, stop_client, xvfb

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
        client = start_client(display, tmp_path, server.address[1], "alice", "e2e")
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
            stop_client(client)
            bob.close()


def test_a_second_room_from_inside_the_window_and_back_by_the_room_picker(tmp_path: Path) -> None:
    assert not missing_tools(), "the end-to-end tools are missing"
    with running_server() as server, xvfb(f"{SIZE[0]}x{SIZE[1]}x24") as display:
        carol, bob = RawClient(server.address), RawClient(server.address)
        carol.join("carol", room="maths")  # keeps maths open (the picker lists rooms someone is in)
        bob.join("bob", room="art")
        client = start_client(display, tmp_path, server.address[1], "alice", "maths")
        try:
            window = display.window_of(client.pid)
            alice = carol.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice", timeout=WAIT)
            display.xdotool("windowfocus", "--sync", window)
            display.xdotool("key", "r")
            display.drag([(150, 200), (250, 260), (350, 320)])
            assert carol.recv_until(Add, timeout=WAIT).author == alice.user

            # /join art, typed in the chat box: bob sees alice arrive, and what she draws there
            display.xdotool("key", "Return")
            display.xdotool("type", "--delay", "30", "/join art")
            display.xdotool("key", "Return")
            bob.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice", timeout=WAIT)
            display.xdotool("key", "p", "bracketright", "bracketright", "bracketright", "bracketright")
            display.drag([(420 + 20 * i, 500) for i in range(16)])
            assert bob.recv_until(Add, timeout=WAIT).obj.kind == "pencil"
            in_art = tmp_path / "art.png"
            _until(lambda: _shows_stroke(display, in_art))  # art's board shows alice's stroke
            assert not _rect_edge(pygame.image.load(str(in_art))), "and not maths' rectangle"

            # back by the picker: /rooms, then the number of maths' row (busiest first: art has 2)
            display.xdotool("key", "Return")
            display.xdotool("type", "--delay", "30", "/rooms")
            display.xdotool("key", "Return")
            listed = tmp_path / "picker.png"
            _until(lambda: _picker_open(display, listed))
            display.xdotool("key", "2")
            carol.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice", timeout=WAIT)
            back = tmp_path / "maths.png"
            _until(lambda: _shows_rect(display, back))
            assert not _shows_stroke(display, back), "art's stroke stayed in art"
        finally:
            stop_client(client)
            bob.close()
            carol.close()


def _until(seen: Callable[[], bool]) -> None:
    """A bounded wait on what the window shows (each look is a screenshot: no sleep in between)."""
    deadline = time.monotonic() + WAIT
    while not seen():
        assert time.monotonic() < deadline, "the window never showed it"


def _picker_open(display, shot: Path) -> bool:
    """The picker is up: the white board beside it is dimmed (a modal's scrim)."""
    display.screenshot(str(shot))
    return sum(pygame.image.load(str(shot)).get_at((200, 400))[:3]) < 600


def _rect_edge(image: pygame.Surface) -> bool:
    """The top edge of the rectangle dragged from (150, 200) shows (thin, scaled down to fit)."""
    return min(sum(image.get_at((250, y))[:3]) for y in range(195, 206)) < 650


def _shows_stroke(display, shot: Path) -> bool:
    display.screenshot(str(shot))
    return _dark(pygame.image.load(str(shot)).get_at((560, 500)))


def _shows_rect(display, shot: Path) -> bool:
    display.screenshot(str(shot))
    return _rect_edge(pygame.image.load(str(shot)))
