"""What the user asks for, from a shortcut, a tool bar button or the chat box: tools, colours and
widths, the chat line, the named actions (pgboard.shortcuts), full screen, the PNG export and the
board files (a mixin of :class:`pgboard.app.App`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pygame

from pgboard import app_input, board_open, boardfile, room_commands
from pgboard import select_tool as selecting
from pgboard.app_input import ZOOM_STEP
from pgboard.protocol import MAX_WIDTH, Message, Say
from pgboard.sizes import WINDOW_SIZE, step_width
from pgboard.tooltable import TOOLS, make_tool
from pgboard.widgets import theme
from pgboard.widgets.clipboard import CLIPBOARD

if TYPE_CHECKING:
    from pgboard.app import App


def emit(app: App, op: Message) -> None:
    if app.room is not None:
        app.room.submit(op)


def pick_tool(app: App, name: str) -> None:
    if name not in TOOLS:
        return
    app.tool.finish()
    app.tool_name = name
    app.tool = make_tool(name, app.ctx)
    app.ui.set_tool(name)


def pick_color(app: App, color: str) -> None:
    app.ctx.color = color
    app.ui.set_color(color)
    selecting.restyle(app, color=color)


def pick_width(app: App, width: int) -> None:
    app.ctx.width = max(1, min(MAX_WIDTH, width))
    app.ui.set_width(app.ctx.width)
    selecting.restyle(app, width=app.ctx.width)


def send_chat(app: App, text: str) -> None:  # /join /leave /rooms /quit: room_commands; /ignore: ignores
    if room_commands.handle(app, text) or not text.strip() or app.ignores.command(text):
        return
    if app.follow.command(app, text):
        return
    if app.conn is not None:
        app.conn.send(Say(text=text))


def do_action(app: App, action: str) -> None:
    """A named action, from a shortcut (pgboard.shortcuts) or a tool bar button."""
    kind, _, arg = action.partition(":")
    if kind == "tool":
        pick_tool(app, arg)
    elif kind == "color":
        pick_color(app, theme.PALETTE[int(arg) - 1][1])
    elif action in ("thinner", "thicker"):
        pick_width(app, step_width(app.ctx.width, -1 if action == "thinner" else 1))
    elif action in ("undo", "redo", "clear") and app.room is not None:
        app.tool.finish()
        getattr(app.room, action)()
    elif action == "clear_all":
        app.ui.ask_clear()
    elif action == "toggle_panels":
        app.ui.toggle_panels()
        app.viewport.resize(app.ui.board_rect)
    elif action == "focus_chat":
        app.ui.focus_chat()
        app.viewport.resize(app.ui.board_rect)
    elif action == "cancel":
        app.tool.cancel()
        app.ui.leave_chat()
        app.follow.stop(app, "Stopped following")
    elif action == "help":
        app.ui.toggle_help()
    elif action == "toggle_cursors":
        settings = app.ui.settings
        settings.cursors = not settings.cursors
        app.ui.toast("Others' cursors shown" if settings.cursors else "Others' cursors hidden (N shows them)")
    elif action == "fullscreen":
        toggle_fullscreen(app)
    elif action == "reconnect" and app.conn is not None:
        app.conn.retry_now()
    elif action in ("zoom_in", "zoom_out"):
        factor = ZOOM_STEP if action == "zoom_in" else 1 / ZOOM_STEP
        app.viewport.zoom_at(app.viewport.rect.center, factor)
    elif action == "zoom_fit":
        app.viewport.fit(app.ui.board_rect)
    elif action == "export_png":
        export_png(app)
    elif action == "timeline":
        app.timeline.toggle()
    elif action == "save_board":
        save_board(app)
    elif action == "open_board":
        choose_board_file(app)
    elif action == "copy_join" and app.join_line:
        CLIPBOARD.put(app.join_line)
        app.ui.toast(f"Copied: {app.join_line}")


def toggle_fullscreen(app: App) -> None:
    app.fullscreen = not app.fullscreen
    flags = pygame.FULLSCREEN if app.fullscreen else pygame.RESIZABLE
    size = (0, 0) if app.fullscreen else WINDOW_SIZE
    app.screen = pygame.display.set_mode(size, flags)
    app_input.resized(app)


def file_stem(app: App) -> str:
    room = app.conn.room if app.conn is not None and app.conn.room else "board"
    return f"pgboard-{room}-{time.strftime('%Y%m%d-%H%M%S')}"


def export_png(app: App) -> Path | None:
    path = app.export_dir / f"{file_stem(app)}.png"
    try:
        pygame.image.save(app.canvas.surface, str(path))
    except (OSError, pygame.error) as exc:
        app.ui.toast(f"Could not save {path.name}: {exc}")
        return None
    app.ui.toast(f"Saved {path}")
    return path


def save_board(app: App) -> Path | None:
    path = app.export_dir / f"{file_stem(app)}.pgboard"
    try:
        boardfile.save(path, app.board.snapshot())
    except OSError as exc:
        app.ui.toast(f"Could not save {path.name}: {exc}")
        return None
    app.ui.toast(f"Saved the board to {path}")
    return path


def open_board(app: App, path: Path, *, replace: bool = False) -> int:
    """Bring a board file's objects into this room as mine, as one batch; returns how many."""
    objects = board_open.load(app, path)
    if objects is None or app.room is None:
        return 0
    return board_open.open_objects(app, path.name, objects, replace=replace)


def choose_board_file(app: App) -> None:
    """Ctrl+O: pick or type a board file, then add it or replace the board with it."""
    board_open.choose_file(app)
