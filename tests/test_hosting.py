"""Host mode as the person hosting sees it: where others join stays in the status bar (with the port
really used), Ctrl+C copies the line to give them, the zoom is shown, and Ctrl+C in the terminal quits
cleanly. Real App under the dummy driver, a real embedded server, a real ``pgboard --host`` process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest
from fixtures import SIZE
from support import RawClient
from test_app import WAIT, key, run_until

from bench import fdselect
from pgboard import hosting
from pgboard.app import App
from pgboard.protocol import UserJoined
from pgboard.widgets import theme
from pgboard.widgets.clipboard import CLIPBOARD
from pgboard.widgets.statusbar import FIELD_GAP, StatusBar
from pgboard.widgets.text import FontSet


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    pygame.init()
    screen = pygame.display.set_mode(SIZE)
    settings = tmp_path / "settings.json"
    app = App(screen, settings_path=settings, export_dir=tmp_path, host_db=str(tmp_path / "h.db"))
    yield app
    app.shutdown()
    pygame.quit()


def test_the_host_sees_where_others_join_with_the_port_really_used_when_the_first_is_taken(app: App) -> None:
    taken = socket.socket()
    taken.bind(("0.0.0.0", 0))  # someone else holds the port asked for (as 5151 can be)
    taken.listen()
    asked = taken.getsockname()[1]
    try:
        app.host("alice", "r", asked)
        run_until(app, lambda: app.conn is not None and app.conn.state == "online")
        used = app.server.address[1]
        assert used != asked
        address = hosting.lan_addresses()[0]
        line = f"pgboard --connect {address}:{used}"
        app.scheduler.now = lambda: time.monotonic() + 3600  # an hour on: every toast has faded
        app.frame([])
        assert any(line in text for text in app.ui.status.texts())  # still shown, not only a toast
        friend = RawClient((address, used))  # what the status bar says works for a friend
        assert friend.join("bob", room="r").room == "r"
        friend.close()
    finally:
        taken.close()


def test_ctrl_c_copies_the_line_others_join_with(app: App) -> None:
    app.host("alice", "r", 0)
    run_until(app, lambda: app.conn is not None and app.conn.state == "online")
    CLIPBOARD.put("something else")
    app.frame([key(pygame.K_c, mod=pygame.KMOD_CTRL)])
    copied = CLIPBOARD.get()
    assert copied == f"pgboard --connect {hosting.lan_addresses()[0]}:{app.server.address[1]}"
    assert any(copied in text for text in app.ui.status.texts())


def test_the_status_bar_shows_the_zoom(app: App) -> None:
    app.host("alice", "r", 0)
    app.frame([])
    assert app.ui.status.extra == "Zoom 100%"  # the board fits the window
    app.frame([key(pygame.K_EQUALS, unicode="=")])
    assert app.ui.status.extra == "Zoom 125%"
    app.frame([key(pygame.K_0, mod=pygame.KMOD_CTRL)])
    assert app.ui.status.extra == "Zoom 100%"


def _read_until(proc: subprocess.Popen[bytes], marker: bytes, timeout: float) -> bytes:
    """stderr of ``proc`` up to the line holding ``marker`` (bounded)."""
    assert proc.stderr is not None
    fd, data = proc.stderr.fileno(), b""
    deadline = time.monotonic() + timeout
    while marker not in data or not data.endswith(b"\n"):
        ready, _, _ = fdselect.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 65536) if ready else b""
        if not chunk:
            raise AssertionError(f"no {marker!r} within {timeout} s: {data.decode(errors='replace')}")
        data += chunk
    return data


def test_ctrl_c_while_the_window_is_still_opening_quits_cleanly_too(tmp_path: Path) -> None:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    cmd = [sys.executable, "-m", "pgboard.cli", "--host", "--port", "0", "--db", str(tmp_path / "h.db")]
    proc = subprocess.Popen(
        [*cmd, "--nick", "alice", "--room", "r", "--log-level", "INFO"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        head = _read_until(proc, b"starting: opening the window", WAIT * 2)
        proc.send_signal(signal.SIGINT)  # pygame, the window, the app and the server are still to come
        code = proc.wait(WAIT * 2)
        assert proc.stderr is not None
        rest = head + proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
    assert b"Traceback" not in rest and b"KeyboardInterrupt" not in rest, rest.decode(errors="replace")
    assert code == 0


def test_ctrl_c_in_the_terminal_quits_cleanly_stopping_the_server_and_saving_settings(tmp_path: Path) -> None:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    env.pop("SDL_AUDIODRIVER", None)  # as a user starts it
    env.pop("PYGAME_HIDE_SUPPORT_PROMPT", None)
    cmd = [sys.executable, "-m", "pgboard.cli", "--host", "--port", "0", "--db", str(tmp_path / "h.db")]
    proc = subprocess.Popen(
        [*cmd, "--nick", "alice", "--room", "r", "--log-level", "INFO"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        head = _read_until(proc, b"hosting on", WAIT * 2)
        port = int(head.split(b"hosting on ", 1)[1].split(b" ", 1)[0].rpartition(b":")[2])
        watcher = RawClient(("127.0.0.1", port))
        welcome = watcher.join("watcher", room="r")
        if not any(u.nick == "alice" for u in welcome.users):  # alice joins from the running loop
            watcher.recv_until(lambda m: isinstance(m, UserJoined) and m.nick == "alice")
        proc.send_signal(signal.SIGINT)
        code = proc.wait(WAIT * 2)
        assert proc.stderr is not None
        rest = head + proc.stderr.read()
        assert proc.stdout is not None
        printed = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
    assert code == 0
    assert b"Traceback" not in rest and b"KeyboardInterrupt" not in rest, rest.decode(errors="replace")
    assert b"ALSA" not in rest  # no audio device opened
    assert printed == b""  # nothing in the terminal but what was asked for (no pygame greeting)
    saved = json.loads((tmp_path / "cfg" / "pgboard" / "settings.json").read_text())
    assert saved["nick"] == "alice" and saved["room"] == "r"
    with pytest.raises(OSError):  # the embedded server stopped with the window
        socket.create_connection(("127.0.0.1", port), timeout=WAIT).close()
    watcher.close()


def test_a_long_status_line_stops_before_the_zoom_instead_of_running_under_it() -> None:
    pygame.font.init()
    fonts = FontSet()
    shown = []
    for state in ("Online", "Online " + "and a very long line " * 10):
        bar = StatusBar(fonts)
        bar.rect = pygame.Rect(0, 0, 800, theme.STATUS_H)
        bar.set_status(state)
        bar.extra = "Zoom 100%"
        surface = pygame.Surface(bar.rect.size)
        bar.draw(surface)
        zoom_w = fonts.width(bar.extra, theme.FONT_SMALL) + FIELD_GAP // 2
        shown.append(pygame.image.tobytes(surface.subsurface(800 - zoom_w, 0, zoom_w, theme.STATUS_H), "RGB"))
    assert shown[0] == shown[1]  # the zoom reads the same whatever the fields on its left say
