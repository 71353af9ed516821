"""The select tool and its group changes without a socket (pgboard/select_tool.py, pgboard/selection.py):
each change is ONE batch the board (as the server's authority) accepts; what a box picks; the bounds
of a group change, of a paste and of a frame's drawing."""

from __future__ import annotations

import pygame
import pytest
from test_tools import ME, Harness

from pgboard import selection
from pgboard.protocol import BOARD_W, MAX_POINTS, Add, Batch, BoardObject, Message
from pgboard.select_tool import ARROW_STEP, MAX_SELECTED, OUTLINES_DRAWN, SelectTool
from pgboard.tool_base import ToolContext, id_maker


def square(oid: str, x: int, y: int, side: int = 20) -> BoardObject:
    return BoardObject(oid, "square", ((x, y), (x + side, y + side)), "#000000", 3)


def setup(h: Harness, *objects: BoardObject) -> SelectTool:
    for obj in objects:
        h.ctx.emit(Add(oid=f"add-{obj.id}", obj=obj))
    h.take()
    return SelectTool(h.ctx)


def click(tool: SelectTool, pos: tuple[int, int], mods: int = 0) -> None:
    tool.pointer_down(pos, mods)
    tool.pointer_up(pos, mods)


def drag(tool: SelectTool, a: tuple[int, int], b: tuple[int, int], mods: int = 0) -> None:
    tool.pointer_down(a, mods)
    tool.pointer_move(((a[0] + b[0]) // 2, (a[1] + b[1]) // 2), mods)
    tool.pointer_move(b, mods)
    tool.pointer_up(b, mods)


def test_click_shift_click_and_a_box_that_takes_only_what_lies_wholly_inside() -> None:
    h = Harness()
    long_line = BoardObject("long", "line", ((50, 150), (900, 150)), "#000000", 3)
    tool = setup(h, square("a", 100, 100), square("b", 200, 100), long_line)
    click(tool, (110, 100))
    assert list(tool.ids) == ["a"]
    click(tool, (210, 100), pygame.KMOD_LSHIFT)
    assert list(tool.ids) == ["a", "b"]
    click(tool, (110, 100), pygame.KMOD_LSHIFT)
    assert list(tool.ids) == ["b"]
    click(tool, (600, 600))  # empty board: nothing
    assert not tool.ids
    drag(tool, (80, 80), (400, 300))  # crosses the long line, holds both squares
    assert list(tool.ids) == ["a", "b"]
    assert not h.take()  # selecting sends nothing


def test_a_drag_moves_the_selection_as_one_batch_kept_on_the_board() -> None:
    h = Harness()
    tool = setup(h, square("a", 100, 100), square("b", 3100, 100))
    tool.select(["a", "b"])
    drag(tool, (115, 100), (915, 150))  # b would leave the board: the whole group stops at the edge
    (op,) = h.take()
    assert isinstance(op, Batch) and set(op.removed) == {"a", "b"}
    assert h.board.get("b").points[1][0] == BOARD_W
    assert h.board.get("a").points[0] == (100 + BOARD_W - 3120, 150)


def test_arrows_resize_restyle_delete_and_duplicate_are_each_one_batch() -> None:
    h = Harness()
    text = BoardObject("t", "text", ((400, 400),), "#000000", 3, text="hi", size=20)
    tool = setup(h, square("a", 100, 100), text)
    tool.select(["a", "t"])
    assert tool.key_down(pygame.K_RIGHT)
    tool.restyle(color="#00ff00", width=9)
    (move, style) = h.take()
    assert isinstance(move, Batch) and isinstance(style, Batch)
    assert h.board.get("a").points[0] == (100 + ARROW_STEP, 100)
    assert h.board.get("a").width == 9 and h.board.get("t").width == 3  # a text has no stroke
    x0, y0, x1, y1 = tool._group_box(tool.objects())
    drag(tool, (x1, y1), (x0 + 2 * (x1 - x0), y0 + 2 * (y1 - y0)))  # the bottom right handle
    (resize,) = h.take()
    assert isinstance(resize, Batch)
    assert h.board.get("t").size == 40  # the text's size scales with the box
    assert tool.key_down(pygame.K_d, pygame.KMOD_LCTRL)
    (dup,) = h.take()
    assert len(dup.put) == 2 and not dup.removed and set(tool.ids) == {o.id for o in dup.put}
    assert tool.key_down(pygame.K_DELETE)
    (gone,) = h.take()
    assert set(gone.removed) == {o.id for o in dup.put} and len(h.board) == 2


def test_others_objects_stay_put_and_the_user_is_told_whose_they_are() -> None:
    h = Harness()
    refused: list[tuple[str, str]] = []
    h.ctx.refused = lambda obj, verb: refused.append((obj.id, verb))
    tool = setup(h, square("mine", 100, 100))
    h.add_foreign(square("theirs", 200, 100), "someone")
    tool.select(["mine", "theirs"])
    tool.key_down(pygame.K_DOWN)
    (op,) = h.take()
    assert op.removed == ("mine",) and refused == [("theirs", "move")]


class Pending:
    """A context whose batches wait for their echo (as on a real link): nothing applies until told."""

    def __init__(self) -> None:
        self.h = Harness()
        self.sent: list[Message] = []
        self.ctx = ToolContext(
            self.h.board, self.sent.append, ME, new_id=id_maker("n"), new_oid=id_maker("o")
        )
        self.ctx.pending_oids = lambda: {op.oid for op in self.sent}


def test_quick_arrow_presses_build_on_the_batches_not_yet_echoed() -> None:
    p = Pending()
    p.h.ctx.emit(Add(oid="x", obj=square("a", 100, 100)))
    tool = SelectTool(p.ctx)
    tool.select(["a"])
    for _ in range(3):
        tool.key_down(pygame.K_LEFT)
    assert [op.put[0].points[0] for op in p.sent] == [(100 - ARROW_STEP * i, 100) for i in (1, 2, 3)]
    assert tool.preview()  # where it goes is shown until the echoes come
    for op in p.sent:  # the echoes arrive
        p.h.board.apply(op, ME)
    p.sent.clear()
    tool.key_down(pygame.K_LEFT)
    assert p.sent[0].put[0].points[0] == (100 - 4 * ARROW_STEP, 100)


@pytest.mark.reliability
def test_a_group_change_too_large_for_one_operation_is_refused_with_a_message() -> None:
    h = Harness()
    told: list[str] = []
    h.ctx.tell = told.append
    stroke = tuple((x % 3000, 10 + x // 3000) for x in range(MAX_POINTS))
    tool = setup(h, *(BoardObject(f"s{i}", "pencil", stroke, "#000000", 2) for i in range(12)))
    tool.key_down(pygame.K_a, pygame.KMOD_LCTRL)
    tool.key_down(pygame.K_RIGHT)
    assert not h.take() and "too large" in told[-1]


@pytest.mark.reliability
def test_a_frame_with_a_whole_full_board_selected_draws_a_bounded_overlay() -> None:
    h = Harness()
    tool = setup(h, *(square(f"q{i}", (i * 7) % 3000, (i * 13) % 1700, 5) for i in range(10_000)))
    told: list[str] = []
    h.ctx.tell = told.append
    tool.key_down(pygame.K_a, pygame.KMOD_LCTRL)
    assert len(tool.ids) == MAX_SELECTED and "At most" in told[-1]  # a frame looks at these, no more
    assert len(tool.selection()) == 1  # one frame around everything
    assert tool.preview() == []  # past OUTLINES_DRAWN: no outline per object
    tool.pointer_down((2, 2))
    tool.pointer_move((50, 50))
    assert len(tool.preview()) <= OUTLINES_DRAWN * 2 and len(tool.selection()) == 1


@pytest.mark.reliability
def test_from_clipboard_checks_by_the_wires_rules() -> None:
    good = selection.to_clipboard([square("a", 1, 1)])
    assert selection.from_clipboard(good) == [square("a", 1, 1)]
    for bad in ("", "[" * 50_000, '{"format": "pgboard-board", "version": 1, "objects": [1]}', "x" * 10**6):
        with pytest.raises(selection.GroupError):
            selection.from_clipboard(bad)
