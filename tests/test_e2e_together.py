"""End to end, two people in two real X windows side by side (Xvfb, xdotool): Alice points with the
laser (K) and Bob's window shows her trail; Bob types /follow alice and his view zooms in with hers;
Alice starts a game of one turn and picks a word with a key: her banner shows the word, Bob's only the
blanks (underscores, under the text's baseline where "Draw: lighthouse" has no ink).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server
from xdisplay import Display, missing_tools, start_client, stop_client, xvfb

from pgboard.protocol import Cursor, Say, UserJoined
from pgboard.widgets import theme

pytestmark = pytest.mark.skipif(
    bool(missing_tools()) and not os.environ.get("CI"),
    reason=f"end-to-end needs {', '.join(missing_tools())} (.ci/run installs them)",
)

W, H = 640, 800  # each window; the screen holds both side by side
WAIT = 20.0
HAND_PACE = 0.03  # seconds between two of a moving hand's pointer positions
BANNER = (8, 50, 415, 92)  # the game's banner over the board, in a window (x0, y0, x1, y1)


def shot(display: Display, path: Path) -> pygame.Surface:
    display.screenshot(str(path))
    return pygame.image.load(str(path))


def until(display: Display, path: Path, seen: Callable[[pygame.Surface], bool]) -> pygame.Surface:
    """A bounded wait on what the screen shows (each look is a screenshot: no sleep in between)."""
    deadline = time.monotonic() + WAIT
    while True:
        image = shot(display, path)
        if seen(image):
            return image
        assert time.monotonic() < deadline, f"the screen never showed it ({path.name})"


@contextmanager
def moving(display: Display, points: Sequence[tuple[int, int]]) -> Iterator[None]:
    """A hand that keeps moving the pointer through ``points`` (a hover, a laser held) while the test
    looks: on a busy machine one look takes seconds, longer than a still cursor shows or a trail lasts."""
    stop = threading.Event()

    def move() -> None:
        for x, y in itertools.cycle(points):
            display.xdotool("mousemove", str(x), str(y))
            if stop.wait(HAND_PACE):
                return

    hand = threading.Thread(target=move, daemon=True)
    hand.start()
    try:
        yield
    finally:
        stop.set()
        hand.join(timeout=WAIT)


def steady(display: Display, path: Path, box: tuple[int, int, int, int]) -> pygame.Surface:
    """The screen once ``box`` shows the same in two looks in a row (a moved window has repainted)."""
    rect = pygame.Rect(box[0], box[1], box[2] - box[0], box[3] - box[1])
    last = b""
    deadline = time.monotonic() + WAIT
    while True:
        image = shot(display, path)
        now = pygame.image.tobytes(image.subsurface(rect), "RGB")
        if now == last:
            return image
        last = now
        assert time.monotonic() < deadline, f"the screen never settled ({path.name})"


def changed(image: pygame.Surface, before: pygame.Surface, box: tuple[int, int, int, int]) -> int:
    """Pixels in ``box`` that differ from ``before`` (a user's colour may be one of the greys: a cursor
    and a trail are found by what they change, not by how colourful they are)."""
    x0, y0, x1, y1 = box
    return sum(
        1
        for x in range(x0, x1)
        for y in range(y0, y1)
        if sum(abs(a - b) for a, b in zip(image.get_at((x, y))[:3], before.get_at((x, y))[:3], strict=True))
        > 60
    )


def ink_extent(image: pygame.Surface, box: tuple[int, int, int, int]) -> int:
    """The height of the dark drawing in ``box`` (a rectangle's edges, at the window's scale)."""
    x0, y0, x1, y1 = box
    ys = [y for y in range(y0, y1) for x in range(x0, x1, 3) if sum(image.get_at((x, y))[:3]) < 450]
    return max(ys) - min(ys) if ys else 0


def underscore_runs(image: pygame.Surface, left: int) -> int:
    """Blanks on the banner: dark runs 5 pixels or longer with nothing dark right above, below or
    beside them (an underscore stands alone; a letter's strokes join its stems or its round sides)."""
    x0, y0, x1, y1 = BANNER

    def dark(x: int, y: int) -> bool:
        return sum(image.get_at((x, y))[:3]) < 300

    best = 0
    for y in range(y0 + 10, y1 - 2):
        runs, run = 0, []
        for x in range(left + x0, left + x1 + 1):
            if x < left + x1 and dark(x, y):
                run.append(x)
                continue
            around = range(run[0] - 3, run[-1] + 4) if run else range(0)  # a round letter's sides too
            alone = not any(dark(c, y + d) for c in around for d in (*range(-7, -1), 2, 3, 4))
            if len(run) >= 5 and alone:
                runs += 1
            run = []
        best = max(best, runs)
    return best


def ink(image: pygame.Surface) -> bool:
    """The drawer's banner has its text (the choice buttons)."""
    x0, y0, x1, y1 = BANNER
    return any(sum(image.get_at((x, y))[:3]) < 300 for x in range(x0, x1, 2) for y in range(y0, y1, 2))


def buttons(image: pygame.Surface) -> bool:
    """The drawer's three word buttons (their soft accent fill) are on her banner: still choosing."""
    x0, y0, x1, y1 = BANNER
    soft = theme.ACCENT_SOFT
    return any(image.get_at((x, y))[:3] == soft for x in range(x0, x1, 2) for y in range(y0, y1, 2))


def test_laser_follow_and_a_game_turn_between_two_windows(tmp_path: Path) -> None:
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
            bob_board = (W + 4, 140, W + 420, H - 60)  # his board's part of the window (panels right)
            watcher.send(Say("/op alice"))  # the watcher came first: the room's operator

            # the laser: held across Alice's board, her colour shows in Bob's window
            display.xdotool("windowfocus", "--sync", win_a)
            still = steady(display, tmp_path / "still.png", bob_board)  # Bob's board before she points
            with moving(display, [(200, 400), (210, 410)]):  # her cursor and its label show at Bob's first
                hover = until(display, tmp_path / "hover.png", lambda im: changed(im, still, bob_board) > 100)
            cursor_only = changed(hover, still, bob_board)
            display.xdotool("key", "k")
            display.xdotool("mousemove", "40", "400")
            display.xdotool("mousedown", "1")
            trail = [(x, 380 + x % 60) for x in range(40, 400, 30)]
            with moving(display, trail):  # a trail fades: she keeps moving while Bob's window is looked at
                trailed = cursor_only + 300  # a trail, not only her cursor
                until(display, tmp_path / "laser.png", lambda im: changed(im, still, bob_board) > trailed)
            display.xdotool("mouseup", "1")
            assert watcher.recv_until(lambda m: isinstance(m, Cursor) and m.laser, timeout=WAIT).laser

            # follow: Alice's rectangle, then Bob follows and Alice zooms in: it grows in Bob's window
            display.xdotool("key", "r")
            display.drag([(250, 300), (300, 340), (350, 380)])
            before = until(display, tmp_path / "rect.png", lambda im: ink_extent(im, bob_board) > 10)
            width_before = ink_extent(before, bob_board)
            display.xdotool("windowfocus", "--sync", win_b)
            display.xdotool("key", "Return")
            display.xdotool("type", "--delay", "20", "/follow alice")
            display.xdotool("key", "Return")
            display.xdotool("windowfocus", "--sync", win_a)
            display.xdotool("mousemove", "300", "340")
            for _ in range(4):
                display.xdotool("key", "ctrl+equal")
            until(
                display,
                tmp_path / "followed.png",
                lambda im: ink_extent(im, bob_board) > 2 * width_before,
            )

            # a game turn: the drawer's banner shows the word, the guesser's only blanks
            display.xdotool("key", "Escape")
            display.xdotool("key", "Return")
            watcher.close()  # the game's players: alice (who came first, she draws) and bob
            # three words of 8-10 letters and no descender: only blanks reach under the baseline
            display.xdotool("type", "--delay", "20", "/game words lighthouse, teakettle, sailboat")
            display.xdotool("key", "Return")
            display.xdotool("key", "Return")
            display.xdotool("type", "--delay", "20", "/game start 1 60 custom")
            display.xdotool("key", "Return")
            until(display, tmp_path / "choosing.png", ink)  # her three words to pick from
            display.xdotool("key", "1")
            # the drawer's banner: the word, no blanks; the guesser's: 8 to 10 blanks
            game = until(
                display,
                tmp_path / "game.png",
                lambda im: (
                    underscore_runs(im, W) >= 8
                    and underscore_runs(im, 0) == 0
                    and ink(im)
                    and not buttons(im)
                ),
            )
            assert underscore_runs(game, W) in (8, 9, 10)
        finally:
            stop_client(alice)
            if bob is not None:
                stop_client(bob)
            watcher.close()
