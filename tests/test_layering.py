"""The layers of docs/ARCHITECTURE.md hold: the pure core and the server never import pygame (a headless
server must run where no display library is installed), the server imports no client module and frames
only through pgboard/protocol.py, the pygame we run is pygame-ce, and the pure core and the server
type-checks."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = [
    "pgboard.protocol",
    "pgboard.protocol_base",  # the limits, errors and message base protocol.py re-exports
    "pgboard.codec",  # the frame codec protocol.py re-exports
    "pgboard.wire_fields",
    "pgboard.board",
    "pgboard.geometry",
    "pgboard.names",
    "pgboard.timeline",
]
# what the server may import of pgboard: the codec and the pure model (docs/ARCHITECTURE.md, "Pure core")
SERVER_MAY_IMPORT = {
    "pgboard",
    "pgboard.protocol",
    "pgboard.protocol_base",
    "pgboard.codec",
    "pgboard.protocol_history",  # the history messages (pure, registered by protocol.py)
    "pgboard.wire_fields",
    "pgboard.protocol_presence",  # view and follow (pure wire records, registered by protocol.py)
    "pgboard.protocol_game",  # the game's state message (pure wire record)
    "pgboard.protocol_snapshot",  # the snapshot frame (pure, registered by protocol.py)
    "pgboard.points",  # packed points (pure)
    "pgboard.board",
    "pgboard.board_authority",  # the board as the authority: checks and echoes (pure)
    "pgboard.board_journal",
    "pgboard.board_undo",  # undo and redo of the board, pure like board.py
    "pgboard.board_batch",  # a batch applied whole, pure like board.py
    "pgboard.wire_errors",  # the join and account error lists (protocol.py re-exports them)
    "pgboard.room_list",  # the rooms answer's record (pure)
    "pgboard.protocol_friends",  # the friends messages (pure, registered by protocol.py)
    "pgboard.clearing",
    "pgboard.history",
    "pgboard.geometry",
    "pgboard.ids",
    "pgboard.names",
    "pgboard.fingerprints",
    "pgboard.protocol_cluster",  # the cluster's redirect and peers messages (pure, like protocol.py)
}
TYPED = [
    "pgboard/protocol.py",
    "pgboard/protocol_base.py",
    "pgboard/codec.py",
    "pgboard/wire_fields.py",
    "pgboard/board.py",
    "pgboard/geometry.py",
    "pgboard/names.py",
]


def _server_modules() -> list[str]:
    if importlib.util.find_spec("pgboard_server") is None:
        return []
    return ["pgboard_server"] + [
        f"pgboard_server.{p.stem}" for p in sorted((ROOT / "server").glob("[!_]*.py"))
    ]


def _imported_in_a_fresh_interpreter(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("module", PURE)
def test_the_pure_core_does_not_import_pygame(module: str) -> None:
    loaded = _imported_in_a_fresh_interpreter([module])
    assert module in loaded
    assert not {m for m in loaded if m == "pygame" or m.startswith("pygame.")}


def test_the_server_does_not_import_pygame() -> None:
    modules = _server_modules()
    if not modules:
        pytest.skip("pgboard_server is not installed yet")
    loaded = _imported_in_a_fresh_interpreter(modules)
    assert not {m for m in loaded if m == "pygame" or m.startswith("pygame.")}
    assert not {m for m in loaded if m.split(".")[0] == "PIL"}, "Pillow is the client's (time-lapse exports)"


def test_the_server_imports_no_client_module() -> None:
    modules = _server_modules()
    if not modules:
        pytest.skip("pgboard_server is not installed yet")
    loaded = _imported_in_a_fresh_interpreter(modules)
    client = {m for m in loaded if m.split(".")[0] == "pgboard"} - SERVER_MAY_IMPORT
    assert not client, f"the server imports client modules: {sorted(client)}"


def test_the_server_frames_through_the_protocol_only() -> None:
    """The terminator is the codec's business (protocol.payload_of / frame_of), not the server's."""
    framing = [p.name for p in sorted((ROOT / "server").glob("*.py")) if "TERMINATOR" in p.read_text()]
    assert not framing


def test_the_installed_pygame_is_pygame_ce() -> None:
    pygame = pytest.importorskip("pygame")
    assert getattr(pygame, "IS_CE", False), "plain pygame is installed; pgboard needs pygame-ce"


def test_the_pure_core_is_mypy_clean() -> None:
    if importlib.util.find_spec("mypy") is None and shutil.which("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]' installs it)")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent", *TYPED],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_server_is_mypy_clean() -> None:
    if importlib.util.find_spec("mypy") is None:
        pytest.skip("mypy is not installed (pip install -e '.[test]' installs it)")
    out = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "mypy_server.py")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr
