"""The tool API shared by every drawing tool: :class:`ToolContext` (what a tool may see and do) and
:class:`Tool` (the events it receives). The tools themselves live in pgboard/tools.py and
pgboard/text_tool.py; import everything from pgboard.tools.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import ClassVar

import pygame

from pgboard.board import Board
from pgboard.protocol import BOARD_H, BOARD_W, MAX_TEXT_SIZE, MAX_WIDTH, MIN_TEXT_SIZE, BoardObject, Message
from pgboard.sizes import DEFAULT_WIDTH, TEXT_SIZE

Point = tuple[int, int]

PREVIEW_ID = "preview"  # id of preview objects; never sent
HEX = frozenset("0123456789abcdef")


def id_maker(prefix: str | None = None) -> Callable[[], str]:
    """A source of unique ids: a random prefix (unique per client run) and a counter."""
    head = prefix if prefix is not None else secrets.token_hex(4)
    counter = itertools.count(1)
    return lambda: f"{head}.{next(counter)}"


@dataclass
class ToolContext:
    """What a tool may see and do. ``emit(op)``: the app queues ``op`` and applies it optimistically."""

    board: Board
    emit: Callable[[Message], None]
    me: str = ""  # the author id the server gave us (objects we drew carry it)
    color: str = "#000000"
    width: int = DEFAULT_WIDTH
    text_size: int = TEXT_SIZE  # board units (about 16 screen pixels when a 1280-pixel view fits the board)
    new_id: Callable[[], str] = field(default_factory=id_maker)
    new_oid: Callable[[], str] = field(default_factory=id_maker)
    # told when the user erases or drags an object they may not edit (the object, "erase" or "move")
    refused: Callable[[BoardObject, str], None] = lambda obj, verb: None
    # the laser pointer is at this board point (its button held): shown to every member, never logged
    laser: Callable[[tuple[int, int]], None] = lambda point: None
    tell: Callable[[str], None] = lambda text: None  # a line for the user (the app's toast)
    # oids of my operations the server has not echoed yet (the select tool builds on its own batches)
    pending_oids: Callable[[], Collection[str]] = lambda: ()

    def may_edit(self, obj: BoardObject) -> bool:
        return self.board.may_edit(self.me, obj)

    def wire_color(self) -> str:
        """The colour as the protocol wants it ("#rrggbb", lower case; black if it is not one)."""
        color = self.color.strip().lower()
        return (
            color if len(color) == 7 and color[0] == "#" and all(c in HEX for c in color[1:]) else "#000000"
        )

    def stroke_width(self) -> int:
        return min(max(int(self.width), 1), MAX_WIDTH)

    def font_size(self) -> int:
        return min(max(int(self.text_size), MIN_TEXT_SIZE), MAX_TEXT_SIZE)


def clamp_point(p: tuple[float, float]) -> Point:
    return (min(max(round(p[0]), 0), BOARD_W), min(max(round(p[1]), 0), BOARD_H))


def shift_held(mods: int) -> bool:
    return bool(mods & pygame.KMOD_SHIFT)


class Tool:
    """The tool API. Every method has a do-nothing default; positions are board points."""

    name: ClassVar[str] = ""
    edits: ClassVar[bool] = True  # sends operations (False: the laser, which a watcher may use too)

    def __init__(self, ctx: ToolContext) -> None:
        self.ctx = ctx

    @property
    def is_typing(self) -> bool:
        """True while keys belong to the tool (an open text): the app disables its shortcuts."""
        return False

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        pass

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        """The pointer moved, with the button held or not (hover)."""

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        pass

    def key_down(self, key: int, mod: int = 0) -> bool:
        """A key press; True when the tool used it."""
        return False

    def text_input(self, text: str) -> None:
        pass

    def text_editing(self, text: str, start: int) -> None:
        pass

    def flush(self) -> None:
        """Once per frame: send what accumulated (pencil points, live drag moves)."""

    def cancel(self) -> None:
        """Abandon what is in progress (Esc)."""

    def finish(self) -> None:
        """The user switches tools: keep what is worth keeping (a typed text), drop the rest."""
        self.cancel()

    def preview(self) -> list[BoardObject]:
        """Objects to draw in the overlay (not on the board yet)."""
        return []

    def caret(self) -> tuple[BoardObject, int] | None:
        """(the text being typed, the caret's index in it), for the overlay."""
        return None

    def selection(self) -> list[BoardObject]:
        """Objects to highlight (drag: the one under the pointer or being moved)."""
        return []
