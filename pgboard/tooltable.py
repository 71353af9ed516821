"""The one table of drawing tools: each tool's name, shortcut key, icon, help label, hint and class.

Everything that names a tool reads it here: the tool bar (buttons, icons, tooltips), the shortcut keys
(pgboard/shortcuts.py), the F1 overlay and the README's shortcut table (both made from
shortcuts.HELP_ROWS, which starts with these rows; tests/test_tooltable.py checks the README), and the
app, which makes the active tool with :func:`make_tool`. Adding a tool is one row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from pgboard.select_tool import SelectTool
from pgboard.tools import DragTool, EraserTool, LaserTool, PencilTool, ShapeTool, TextTool, Tool, ToolContext

ToolButton = tuple[str, str, str, str]  # (name, key, hint, icon): what the tool bar draws


@dataclass(frozen=True)
class ToolInfo:
    """One tool. ``key`` is its shortcut letter (drawn in its button's corner too); ``icon`` names
    pgboard/assets/icons/ICON.png; ``label`` is what the help overlay and the README call it."""

    name: str
    key: str
    label: str
    hint: str
    make: Callable[[ToolContext], Tool]
    icon: str = ""  # "": the tool's name

    @property
    def keycode(self) -> int:
        return int(getattr(pygame, f"K_{self.key.lower()}"))

    @property
    def button(self) -> ToolButton:
        return (self.name, self.key, self.hint, self.icon or self.name)


def _shape(kind: str) -> Callable[[ToolContext], Tool]:
    return lambda ctx: ShapeTool(ctx, kind)


TOOLS: dict[str, ToolInfo] = {
    info.name: info
    for info in (
        ToolInfo("pencil", "P", "pencil", "Draw freehand", PencilTool),
        ToolInfo("line", "L", "line", "Drag a straight line; Shift snaps to 45 degrees", _shape("line")),
        ToolInfo("rect", "R", "rectangle", "Drag a rectangle; Shift makes it square", _shape("rect")),
        ToolInfo("oval", "O", "oval", "Drag an oval; Shift makes it round", _shape("oval")),
        ToolInfo("circle", "C", "circle", "Drag a circle from one corner of its box", _shape("circle")),
        ToolInfo("square", "S", "square", "Drag a square from one corner", _shape("square")),
        ToolInfo(
            "text",
            "T",
            "text (Enter adds, Esc cancels)",
            "Click and type; Enter adds, Shift+Enter new line, Esc cancels",
            TextTool,
        ),
        ToolInfo(
            "eraser",
            "E",
            "eraser (whole objects)",
            "Click or sweep over your objects to delete them",
            EraserTool,
        ),
        ToolInfo(
            "drag",
            "D",
            "drag (move an object)",
            "Drag one of your objects to move it; Esc puts it back",
            DragTool,
        ),
        ToolInfo(
            "select",
            "V",
            "select (click, Shift+click, box)",
            "Click, Shift+click or box objects; drag or arrows move them, corners resize",
            SelectTool,
        ),
        ToolInfo(
            "laser",
            "K",
            "laser pointer (everyone sees it fade)",
            "Hold the button and point: everyone sees a trail that fades; nothing is drawn",
            LaserTool,
        ),
    )
}
TOOL_BUTTONS: tuple[ToolButton, ...] = tuple(t.button for t in TOOLS.values())
TOOL_KEYS: dict[int, str] = {t.keycode: t.name for t in TOOLS.values()}


def make_tool(name: str, ctx: ToolContext) -> Tool:
    """A new tool by its name in :data:`TOOLS` (raises KeyError for an unknown one)."""
    return TOOLS[name].make(ctx)
