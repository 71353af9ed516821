"""pgboard installed as users install it: a wheel built from this tree, installed into a fresh virtual
environment, started headless from outside the checkout. ``pip install -e .`` hides packaging mistakes
(files found beside the source tree); this does not. About 10 s (a wheel build and an install)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pygame
import pytest
import regex

pytestmark = pytest.mark.slow  # a build and an install: ~10 s alone, a minute on a busy machine
ROOT = Path(__file__).resolve().parents[1]
SKIPPED = (".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "shots")
BOUND = 120  # seconds for any one step (a build on a busy 2-core machine takes ~10)

# started in the fresh environment: the App as `pgboard` builds it, a few frames, every tool's icon
STARTUP = r"""
import logging, sys, pathlib
logging.basicConfig(level=logging.WARNING)
import pygame
import pgboard
print("PACKAGE", pathlib.Path(pgboard.__file__).resolve().parent)
pygame.display.init(); pygame.font.init()
from pgboard.app import App
from pgboard.tooltable import TOOL_BUTTONS
from pgboard.widgets.toolbar import load_icon
app = App(pygame.display.set_mode((1280, 800)), settings_path=pathlib.Path(sys.argv[1]), save_settings=False)
for _ in range(3):
    app.frame(pygame.event.get())
missing = [icon for *_, icon in TOOL_BUTTONS if load_icon(icon) is None]
print("MISSING", missing)
print("AUDIO", pygame.mixer.get_init() if pygame.mixer else None)
app.shutdown()
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(the fresh environment's python, the build's output)"""
    tmp = tmp_path_factory.mktemp("wheel")
    # built from a copy: setuptools' build/ folder in the checkout would put stale files (a module or an
    # asset since removed) into the wheel, and two runs at once would share it
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIPPED))
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(tmp)]
        + [str(source)],
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=tmp,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = tmp.glob("pgboard-*.whl")
    env_dir = tmp / "fresh"
    venv.create(env_dir, with_pip=False)  # pip from this environment installs into it (--python)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=BOUND,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    # the dependencies (pygame-ce, regex) from this environment, without its editable pgboard: a plain
    # path line in a .pth file adds the folder but runs none of that folder's own .pth files
    site = next(env_dir.glob("lib/python*/site-packages"))
    deps = {Path(pygame.__file__).parents[1], Path(regex.__file__).parents[1]}
    (site / "deps.pth").write_text("".join(f"{d}\n" for d in deps))
    return python, build.stdout + build.stderr


def test_wheel_installed_in_a_fresh_venv_starts_with_every_asset(
    installed: tuple[Path, str], tmp_path: Path
) -> None:
    python, _ = installed
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", HOME=str(tmp_path), PYTHONPATH="")
    env.pop("SDL_AUDIODRIVER", None)  # as a user starts it: nothing may open the audio device
    run = subprocess.run(
        [str(python), "-c", STARTUP, str(tmp_path / "settings.json")],
        capture_output=True,
        text=True,
        timeout=BOUND,
        cwd=tmp_path,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    package = run.stdout.split("PACKAGE ", 1)[1].splitlines()[0]
    assert Path(package).is_relative_to(python.parents[1])  # the installed copy, not the checkout
    assert "MISSING []" in run.stdout
    assert "is missing" not in run.stderr
    assert "AUDIO None" in run.stdout  # the client plays no sound: no audio device, no ALSA lines
    help_run = subprocess.run(  # the console script the wheel installs
        [str(python.parent / "pgboard"), "--help"], capture_output=True, text=True, timeout=BOUND, env=env
    )
    assert help_run.returncode == 0 and "--connect" in help_run.stdout


def test_building_the_wheel_warns_about_nothing(installed: tuple[Path, str]) -> None:
    _, output = installed
    for warning in ("SetuptoolsDeprecationWarning", "License classifiers", "TOML table", "Warning:"):
        assert warning not in output
