"""One place for each fact (issue 12, point 5): the tools, the widths and text sizes, the default port,
the set of operations and the settings each have one owner, and everything else reads it.

The App tests drive a real App under the dummy driver with a real server on loopback."""

from __future__ import annotations

import re
import tokenize
from pathlib import Path

import pygame
from fixtures import SIZE
from support import running_server
from test_app import joined, key, make_app

from pgboard import protocol, shortcuts, sizes
from pgboard.app import App
from pgboard.protocol import OPERATIONS
from pgboard.tools import ToolContext
from pgboard.tooltable import TOOL_BUTTONS, TOOLS
from pgboard.ui import UI

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "pgboard").rglob("*.py")) + sorted((ROOT / "server").rglob("*.py"))


def _where(pattern: str) -> list[str]:
    found = []
    for path in SOURCES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(ROOT)}:{n}")
    return found


# -- the tools


def test_the_readme_shortcut_table_is_the_one_the_overlay_shows() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert shortcuts.markdown_table() in readme, "README.md: paste `python -m pgboard.shortcuts` output"


def test_every_tool_of_the_table_is_a_button_a_key_and_an_overlay_row(screen, tmp_path) -> None:
    ui = UI(SIZE, settings_path=tmp_path / "settings.json", save_settings=False)
    assert ui.toolbar.tools == list(TOOL_BUTTONS)  # the tool bar's default: the table's hints and icons
    shown = {(title.lower(), key, hint) for _, title, key, hint in ui.toolbar.hints()}
    for info in TOOLS.values():
        assert (info.name, info.key, info.hint) in shown
        assert (info.key, info.label) in shortcuts.HELP_ROWS
        assert shortcuts.action_for(info.keycode, 0, info.key.lower()) == f"tool:{info.name}"


def test_each_tool_key_picks_its_tool_in_the_app(screen, tmp_path) -> None:
    app = make_app(screen, tmp_path)
    app.ui.show_board()
    for info in TOOLS.values():
        app.frame([key(info.keycode, unicode=info.key.lower())])
        assert app.tool_name == info.name and app.tool.name == info.name
        assert app.ui.toolbar.active_tool == info.name


# -- widths and text sizes


def test_the_keys_and_the_width_buttons_step_through_the_same_widths(screen, tmp_path) -> None:
    app = make_app(screen, tmp_path)
    app.ui.show_board()
    app.pick_width(1)
    by_key = [app.ctx.width]
    for _ in range(len(sizes.WIDTH_STEPS)):
        app.frame([key(pygame.K_RIGHTBRACKET, unicode="]")])
        by_key.append(app.ctx.width)
    app.pick_width(1)
    plus = app.ui.width_control.plus_rect.center
    by_button = [app.ctx.width]
    for _ in range(len(sizes.WIDTH_STEPS)):
        app.frame([pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=plus, button=1, mod=0)])
        app.frame([pygame.event.Event(pygame.MOUSEBUTTONUP, pos=plus, button=1, mod=0)])
        by_button.append(app.ctx.width)
    assert by_key == by_button == [*sizes.WIDTH_STEPS, sizes.WIDTH_STEPS[-1]]
    assert app.ctx.width == protocol.MAX_WIDTH


def test_a_text_is_the_same_size_whoever_makes_the_tool_context(screen, tmp_path) -> None:
    app = make_app(screen, tmp_path)
    assert (
        ToolContext(board=app.board, emit=lambda op: None).text_size == app.ctx.text_size == sizes.TEXT_SIZE
    )


# -- the port and the operations


def test_the_default_port_is_written_once() -> None:
    numbers = []  # the number 5151 in code (docstrings and comments may say it)
    for path in SOURCES:
        with path.open("rb") as f:
            for tok in tokenize.tokenize(f.readline):
                if tok.type == tokenize.NUMBER and tok.string == "5151":
                    numbers.append(f"{path.relative_to(ROOT)}:{tok.start[0]}")
    assert numbers == [f"pgboard/protocol_base.py:{_line_of('pgboard/protocol_base.py', 'DEFAULT_PORT =')}"]


def _line_of(rel: str, text: str) -> int:
    lines = (ROOT / rel).read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if text in line)


def test_the_set_of_operations_is_written_once_in_the_protocol() -> None:
    names = [cls.__name__ for cls in OPERATIONS]
    assert names == ["Add", "Extend", "Move", "Delete", "Clear", "Batch", "Undo", "Redo"]
    spelled = r"\b" + r"\s*[,|]\s*".join(names[:5])  # "Add, Extend, Move, Delete, Clear" or "Add | ..."
    assert _where(spelled) == [f"pgboard/protocol.py:{_line_of('pgboard/protocol.py', 'Operation = ')}"]


# -- the settings


def test_an_app_that_must_not_save_settings_writes_nothing(screen, tmp_path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    app = App(screen, settings_path=folder / "settings.json", save_settings=False, export_dir=tmp_path)
    with running_server() as server:
        joined(app, server)
        app.frame([key(pygame.K_3, unicode="3"), key(pygame.K_RIGHTBRACKET, unicode="]")])  # colour, width
        app.trust("ab" * 32)  # a certificate trusted (remembered only where settings may be written)
        app.shutdown()
    assert list(folder.iterdir()) == []
    assert app.client_secret  # it still has an identity for this run


def test_an_app_that_saves_settings_keeps_its_identity_across_runs(screen, tmp_path) -> None:
    first = make_app(screen, tmp_path)
    secret = first.client_secret
    first.pick_width(12)
    first.shutdown()
    second = make_app(screen, tmp_path)
    assert second.client_secret == secret and second.ui.settings.width == 12
    second.shutdown()
