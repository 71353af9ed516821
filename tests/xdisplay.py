"""A real X display for end-to-end tests: Xvfb on a free display number, xdotool to drive windows.

Kept apart from tests/support.py because only the end-to-end tests need X; everything here is bounded
in time and ends only the processes it started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench import fdselect

START_TIMEOUT = 10.0
COMMAND_TIMEOUT = 15.0


@dataclass
class Display:
    number: int
    process: subprocess.Popen[bytes]

    @property
    def name(self) -> str:
        return f":{self.number}"

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, DISPLAY=self.name, SDL_VIDEODRIVER="x11", **extra)
        env.pop("SDL_AUDIODRIVER", None)
        env["SDL_AUDIODRIVER"] = "dummy"
        return env

    def xdotool(self, *args: str) -> str:
        out = subprocess.run(
            ["xdotool", *args], env=self.env(), capture_output=True, timeout=COMMAND_TIMEOUT, check=True
        )
        return out.stdout.decode()

    def window_of(self, pid: int) -> str:
        """The id of the first window the process maps (waits, bounded)."""
        return self.xdotool("search", "--sync", "--onlyvisible", "--pid", str(pid)).split()[0]

    def screenshot(self, path: str, window: str = "root") -> None:
        subprocess.run(
            ["import", "-display", self.name, "-window", window, path],
            timeout=COMMAND_TIMEOUT,
            check=True,
            capture_output=True,
        )

    def drag(self, points: Sequence[tuple[int, int]], step_delay: float = 0.05) -> None:
        """Press at the first point, move through the rest, release: as a hand would draw."""
        x, y = points[0]
        self.xdotool("mousemove", str(x), str(y))
        self.xdotool("mousedown", "1")
        for x, y in points[1:]:
            self.xdotool("sleep", str(step_delay), "mousemove", str(x), str(y))
        self.xdotool("sleep", str(step_delay), "mouseup", "1")


def missing_tools() -> list[str]:
    return [t for t in ("Xvfb", "xdotool", "import") if shutil.which(t) is None]


@contextmanager
def xvfb(size: str = "1280x800x24") -> Iterator[Display]:
    """Start Xvfb on a free display (it picks one and writes it to a pipe we read to the newline)."""
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd, proc)
        yield Display(number, proc)
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _read_display_number(fd: int, proc: subprocess.Popen[bytes]) -> int:
    data = b""
    deadline = time.monotonic() + START_TIMEOUT
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise RuntimeError("Xvfb did not start")
        ready, _, _ = fdselect.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise RuntimeError("Xvfb closed its display pipe without a number")
            data += chunk
    return int(data.strip())


def start_client(
    display: Display, home: Path, port: int, nick: str, room: str, size: tuple[int, int] = (1280, 800)
) -> subprocess.Popen[bytes]:
    """The real ``pgboard`` client in a window of ``display``, joined to 127.0.0.1:``port``; ``home``
    (made if missing) holds its settings, exports and ``client.log``."""
    home.mkdir(parents=True, exist_ok=True)
    env = display.env(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    return subprocess.Popen(
        [sys.executable, "-m", "pgboard.cli", "--connect", f"127.0.0.1:{port}", "--nick", nick]
        + ["--room", room, "--size", f"{size[0]}x{size[1]}", "--export-dir", str(home)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(home / "client.log", "wb"),  # noqa: SIM115  (closed with the process)
    )


def stop_client(client: subprocess.Popen[bytes]) -> None:
    """SIGTERM (the client quits as on a window close), SIGKILL if it has not within 10 s."""
    client.terminate()
    try:
        client.wait(timeout=10)
    except subprocess.TimeoutExpired:
        client.kill()
        client.wait(timeout=5)
