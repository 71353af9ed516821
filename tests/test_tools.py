"""Tests for pgboard/tools.py: synthetic pointer and key events in, the right operations out.

Every emitted operation is applied with ``Board.apply`` (the server's authority), so a tool that
produced something the server would refuse fails here, and it is round-tripped through the codec.
"""

from __future__ import annotations

import pygame
import pytest

from pgboard import shortcuts
from pgboard.board import Board
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_POINTS,
    TERMINATOR,
    Add,
    BoardObject,
    Delete,
    Extend,
    Message,
    Move,
    Undo,
    decode_frame,
    encode,
)
from pgboard.tools import (
    DragTool,
    EraserTool,
    PencilTool,
    ShapeTool,
    TextTool,
    ToolContext,
    cluster_after,
    cluster_before,
    constrain_angle,
    id_maker,
)
from pgboard.tooltable import TOOLS, make_tool

ME = "u1"
OTHER = "u2"
SHIFT = pygame.KMOD_LSHIFT


class Harness:
    """A tool context whose emit checks each operation as the server would and applies it."""

    def __init__(self) -> None:
        self.board = Board()
        self.ops: list[Message] = []
        ids, oids = id_maker("obj"), id_maker("op")
        self.ctx = ToolContext(self.board, self.emit, ME, "#ff0000", 5, new_id=ids, new_oid=oids)

    def emit(self, op: Message) -> None:
        wire = encode(op)
        assert decode_frame(wire[: -len(TERMINATOR)]) == op  # valid on the wire
        self.ops.append(op)
        self.board.apply(op, ME)  # type: ignore[arg-type]  # raises if the server would refuse it

    def add_foreign(self, obj: BoardObject, author: str) -> None:
        self.board.apply(Add(oid=f"x{len(self.board)}", obj=obj), author)

    def take(self) -> list[Message]:
        ops, self.ops = self.ops, []
        return ops


@pytest.fixture
def h() -> Harness:
    return Harness()


def stroke(tool: object, points: list[tuple[int, int]], mods: int = 0) -> None:
    tool.pointer_down(points[0], mods)  # type: ignore[attr-defined]
    for p in points[1:-1]:
        tool.pointer_move(p, mods)  # type: ignore[attr-defined]
    tool.pointer_up(points[-1], mods)  # type: ignore[attr-defined]


# -- pencil


def test_pencil_adds_one_point_then_extends_once_per_frame(h: Harness) -> None:
    pencil = PencilTool(h.ctx)
    pencil.pointer_down((10, 10))
    (add,) = h.take()
    assert isinstance(add, Add) and add.obj.kind == "pencil" and add.obj.points == ((10, 10),)
    assert add.obj.color == "#ff0000" and add.obj.width == 5
    pencil.pointer_move((12, 10))
    pencil.pointer_move((12, 10))  # no movement: no point
    pencil.pointer_move((15, 11))
    assert h.take() == []  # nothing until the frame's flush
    pencil.flush()
    (ext,) = h.take()
    assert isinstance(ext, Extend) and ext.id == add.obj.id and ext.points == ((12, 10), (15, 11))
    pencil.flush()
    assert h.take() == []  # nothing new, nothing sent
    pencil.pointer_move((20, 20))
    pencil.pointer_up((25, 20))
    (last,) = h.take()
    assert isinstance(last, Extend) and last.points == ((20, 20), (25, 20))
    assert h.board.get(add.obj.id).points == ((10, 10), (12, 10), (15, 11), (20, 20), (25, 20))  # type: ignore[union-attr]
    pencil.pointer_move((30, 30))  # hovering after release draws nothing
    pencil.flush()
    assert h.take() == []


def test_pencil_click_is_a_dot_and_strokes_get_distinct_ids(h: Harness) -> None:
    pencil = PencilTool(h.ctx)
    stroke(pencil, [(5, 5), (5, 5)])
    stroke(pencil, [(9, 9), (9, 9)])
    ops = h.take()
    assert [type(op) for op in ops] == [Add, Add]
    assert ops[0].obj.id != ops[1].obj.id  # type: ignore[attr-defined]
    assert len(h.board) == 2


def test_pencil_stroke_longer_than_max_points_continues_as_a_new_stroke(h: Harness) -> None:
    pencil = PencilTool(h.ctx)
    pencil.pointer_down((0, 0))
    for i in range(1, MAX_POINTS + 10):
        pencil.pointer_move((i % BOARD_W, i // BOARD_W))
        if i % 100 == 0:
            pencil.flush()
    pencil.pointer_up((0, BOARD_H))
    strokes = h.board.snapshot()
    assert len(strokes) == 2
    assert len(strokes[0].points) == MAX_POINTS
    assert strokes[1].points[0] == strokes[0].points[-1]  # no gap where it continues


def test_colours_are_sent_as_the_protocol_wants_them(h: Harness) -> None:
    h.ctx.color = "#FFA500"
    stroke(ShapeTool(h.ctx, "rect"), [(10, 10), (50, 50)])
    h.ctx.color = "orange"  # not a wire colour: black rather than a refused operation
    stroke(PencilTool(h.ctx), [(10, 10), (50, 50)])
    assert [op.obj.color for op in h.take() if isinstance(op, Add)] == ["#ffa500", "#000000"]


# -- shapes


@pytest.mark.parametrize("kind", ["line", "rect", "oval", "circle", "square"])
def test_shape_drag_adds_one_object_and_previews_while_dragging(h: Harness, kind: str) -> None:
    tool = make_tool(kind, h.ctx)
    tool.pointer_down((100, 100), 0)
    assert tool.preview() == []  # nothing to show before it has a size
    tool.pointer_move((150, 130), 0)
    (shown,) = tool.preview()
    assert shown.kind == kind and shown.points[0] == (100, 100)
    assert h.take() == []  # nothing sent before release
    tool.pointer_up((200, 160), 0)
    (add,) = h.take()
    assert isinstance(add, Add) and add.obj.kind == kind and add.obj.width == 5
    expected_end = (200, 160) if kind in ("line", "rect", "oval") else (200, 200)
    assert add.obj.points == ((100, 100), expected_end)
    assert tool.preview() == []


@pytest.mark.parametrize("kind", ["line", "rect", "oval", "circle", "square"])
def test_click_without_drag_sends_nothing(h: Harness, kind: str) -> None:
    tool = make_tool(kind, h.ctx)
    stroke(tool, [(300, 300), (310, 320), (300, 300)])
    assert h.take() == []


def test_shift_snaps_line_to_45_degree_steps(h: Harness) -> None:
    tool = ShapeTool(h.ctx, "line")
    stroke(tool, [(500, 500), (600, 510)], SHIFT)
    stroke(tool, [(500, 500), (590, 610)], SHIFT)
    stroke(tool, [(500, 500), (495, 400)], SHIFT)
    ends = [op.obj.points[1] for op in h.take()]  # type: ignore[attr-defined]
    assert ends == [(600, 500), (600, 600), (500, 400)]
    assert constrain_angle((10, 10), (-100, -90)) == (0, 0)  # kept on the board, direction kept


def test_shift_makes_rect_and_oval_square(h: Harness) -> None:
    for kind in ("rect", "oval"):
        stroke(ShapeTool(h.ctx, kind), [(500, 500), (400, 580)], SHIFT)
    assert [op.obj.points for op in h.take()] == [((500, 500), (400, 600))] * 2  # type: ignore[attr-defined]


def test_square_near_the_edge_stays_on_the_board(h: Harness) -> None:
    stroke(ShapeTool(h.ctx, "square"), [(BOARD_W - 50, 100), (BOARD_W, 400)])
    (add,) = h.take()
    assert add.obj.points == ((BOARD_W - 50, 100), (BOARD_W, 150))  # type: ignore[attr-defined]


def test_escape_drops_a_shape_and_shift_constrains_without_a_move(h: Harness) -> None:
    tool = ShapeTool(h.ctx, "rect")
    assert not tool.key_down(pygame.K_ESCAPE, 0)  # nothing in progress: Esc is the app's
    tool.pointer_down((100, 100), 0)
    tool.pointer_move((300, 160), 0)
    assert tool.preview()[0].points == ((100, 100), (300, 160))
    assert tool.key_down(pygame.K_LSHIFT, SHIFT)
    assert tool.preview()[0].points == ((100, 100), (300, 300))
    assert tool.key_down(pygame.K_ESCAPE, 0)
    assert tool.preview() == []
    tool.pointer_up((300, 300), 0)
    assert h.take() == []


# -- text


def open_text(h: Harness, at: tuple[int, int] = (40, 50)) -> TextTool:
    tool = TextTool(h.ctx)
    assert not tool.is_typing
    tool.pointer_down(at, 0)
    tool.pointer_up(at, 0)
    assert tool.is_typing
    return tool


def test_text_typed_with_unicode_is_added_on_enter(h: Harness) -> None:
    h.ctx.text_size = 32
    tool = open_text(h)
    for chunk in ["中文", " ", "Ø", " 😀"]:
        tool.text_input(chunk)
    (shown,) = tool.preview()
    assert shown.text == "中文 Ø 😀" and shown.points == ((40, 50),)
    assert tool.caret() == (shown, 6)
    assert h.take() == []
    assert tool.key_down(pygame.K_RETURN, 0)
    (add,) = h.take()
    assert isinstance(add, Add)
    assert add.obj.kind == "text" and add.obj.text == "中文 Ø 😀" and add.obj.size == 32
    assert add.obj.points == ((40, 50),) and add.obj.color == "#ff0000"
    assert not tool.is_typing and tool.preview() == []


def test_text_started_past_the_pages_edge_starts_where_a_line_of_it_shows(h: Harness) -> None:
    h.ctx.text_size = 40
    tool = open_text(h, at=(BOARD_W, BOARD_H))  # a click in the grey below the page: clamped to its corner
    tool.text_input("shown")
    tool.key_down(pygame.K_RETURN, 0)
    (add,) = h.take()
    ((x, y),) = add.obj.points
    assert y + 40 <= BOARD_H and x + 80 <= BOARD_W, "a line of it fits on the board"


def test_text_editing_keys(h: Harness) -> None:
    tool = open_text(h)
    tool.text_input("abd")
    assert tool.key_down(pygame.K_LEFT, 0)
    tool.text_input("c")  # abcd, caret after c
    assert tool.key_down(pygame.K_BACKSPACE, 0)  # abd
    tool.text_input("C")
    assert tool.key_down(pygame.K_RETURN, SHIFT)  # a new line inside the text
    tool.text_input("x")
    assert tool.key_down(pygame.K_HOME, 0)
    assert tool.key_down(pygame.K_DELETE, 0)
    tool.text_input("yz")
    assert tool.key_down(pygame.K_END, 0)
    tool.text_input("!")
    assert tool.preview()[0].text == "abC\nyzd!"
    assert not tool.key_down(pygame.K_F1, 0)  # not the tool's key: the app may use it
    tool.key_down(pygame.K_KP_ENTER, 0)
    assert [op.obj.text for op in h.take()] == ["abC\nyzd!"]  # type: ignore[attr-defined]


def test_text_editing_keys_move_over_whole_characters(h: Harness) -> None:
    tool = open_text(h)
    tool.text_input("ae\u0301\U0001f469\u200d\U0001f4bb\U0001f44d\U0001f3fdz")  # é, 👩‍💻, 👍🏽
    tool.key_down(pygame.K_BACKSPACE, 0)  # z
    tool.key_down(pygame.K_BACKSPACE, 0)  # the thumb with its skin tone
    assert tool.preview()[0].text == "ae\u0301\U0001f469\u200d\U0001f4bb"
    tool.key_down(pygame.K_LEFT, 0)  # before the technologist (three code points)
    assert tool.caret()[1] == 3  # type: ignore[index]
    tool.key_down(pygame.K_BACKSPACE, 0)  # e with its accent
    tool.key_down(pygame.K_HOME, 0)
    tool.key_down(pygame.K_RIGHT, 0)
    tool.key_down(pygame.K_DELETE, 0)  # the technologist, whole
    assert tool.preview()[0].text == "a"
    assert cluster_before("", 0) == 0 and cluster_after("x", 1) == 1
    tool.text_input("\tb\r\u200cc")  # controls dropped, a zero-width non-joiner kept
    assert tool.preview()[0].text == "ab\u200cc"


def test_text_ime_composition_is_shown_but_not_sent(h: Harness) -> None:
    tool = open_text(h)
    tool.text_input("A")
    tool.text_editing("zhong", 2)
    obj, index = tool.caret()  # type: ignore[misc]
    assert obj.text == "Azhong" and index == 3
    assert tool.key_down(pygame.K_RETURN, 0)  # the IME owns Enter while composing
    assert h.take() == [] and tool.is_typing
    tool.text_input("中")  # the IME commits
    assert tool.preview()[0].text == "A中"
    tool.key_down(pygame.K_RETURN, 0)
    assert [op.obj.text for op in h.take()] == ["A中"]  # type: ignore[attr-defined]


def test_text_escape_cancels_and_blank_text_sends_nothing(h: Harness) -> None:
    tool = open_text(h)
    tool.text_input("gone")
    assert tool.key_down(pygame.K_ESCAPE, 0)
    assert not tool.is_typing
    tool = open_text(h)
    tool.text_input("   ")
    tool.key_down(pygame.K_RETURN, 0)
    assert h.take() == []
    assert not tool.key_down(pygame.K_BACKSPACE, 0)  # not typing: keys are not the tool's
    tool.text_input("ignored")
    assert tool.preview() == [] and h.take() == []


def test_text_click_elsewhere_commits_and_starts_a_new_text(h: Harness) -> None:
    tool = open_text(h, (10, 10))
    tool.text_input("first")
    tool.pointer_down((500, 500), 0)
    (add,) = h.take()
    assert add.obj.text == "first" and add.obj.points == ((10, 10),)  # type: ignore[attr-defined]
    assert tool.is_typing and tool.preview()[0].points == ((500, 500),)
    tool.text_input("second")
    tool.finish()  # switching tools keeps the text
    assert [op.obj.text for op in h.take()] == ["second"]  # type: ignore[attr-defined]


def test_text_tool_fed_from_real_pygame_events(h: Harness) -> None:
    """The events pygame delivers (posted here, as the dummy driver allows) carry what the tool takes."""
    pygame.display.init()
    pygame.display.set_mode((200, 100))
    pygame.event.clear()
    tool = TextTool(h.ctx)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(60, 70), button=1))
    pygame.event.post(pygame.event.Event(pygame.TEXTEDITING, text="zhong", start=5, length=0))
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text="中文 Ø 😀"))
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RETURN, mod=0, unicode="\r"))
    for event in pygame.event.get():
        if event.type == pygame.MOUSEBUTTONDOWN:
            tool.pointer_down(event.pos, 0)
        elif event.type == pygame.TEXTEDITING:
            tool.text_editing(event.text, event.start)
            assert tool.caret() == (tool.preview()[0], 5)
        elif event.type == pygame.TEXTINPUT:
            tool.text_input(event.text)
        elif event.type == pygame.KEYDOWN:
            assert tool.key_down(event.key, event.mod)
    (add,) = h.take()
    assert add.obj.text == "中文 Ø 😀" and add.obj.points == ((60, 70),)  # type: ignore[attr-defined]


# -- eraser


def test_eraser_deletes_each_touched_own_object_once(h: Harness) -> None:
    mine = [BoardObject(f"m{i}", "line", ((100 * i + 100, 100), (100 * i + 100, 300))) for i in range(4)]
    for obj in mine:
        h.board.apply(Add(oid=f"a{obj.id}", obj=obj), ME)
    h.add_foreign(BoardObject("theirs", "line", ((150, 100), (150, 300)), width=3), OTHER)
    eraser = EraserTool(h.ctx)
    eraser.pointer_down((90, 200), 0)
    eraser.pointer_move((120, 200), 0)
    eraser.pointer_move((80, 200), 0)  # back over m0: no second delete
    eraser.pointer_move((320, 200), 0)  # one fast move across m1 and m2 and the foreign line
    eraser.pointer_up((320, 200), 0)
    ops = h.take()
    assert all(isinstance(op, Delete) for op in ops)
    assert [op.id for op in ops] == ["m0", "m1", "m2"]  # type: ignore[attr-defined]
    assert {o.id for o in h.board.snapshot()} == {"m3", "theirs"}
    eraser.pointer_move((400, 200), 0)  # hovering does not erase
    assert h.take() == [] and eraser.preview()[0].kind == "circle"


def test_eraser_tolerance_grows_with_the_width(h: Harness) -> None:
    h.board.apply(Add(oid="a", obj=BoardObject("dot", "pencil", ((500, 500),), width=1)), ME)
    h.ctx.width = 1
    stroke(EraserTool(h.ctx), [(500, 530), (500, 530)])
    assert h.take() == []
    h.ctx.width = 30
    stroke(EraserTool(h.ctx), [(500, 530), (500, 530)])
    assert [op.id for op in h.take()] == ["dot"]  # type: ignore[attr-defined]


# -- drag


def add_mine(h: Harness, obj: BoardObject) -> None:
    h.board.apply(Add(oid=f"a{obj.id}", obj=obj), ME)


def test_drag_sends_live_moves_per_frame_and_a_final_move(h: Harness) -> None:
    add_mine(h, BoardObject("r", "rect", ((100, 100), (200, 200))))
    drag = DragTool(h.ctx)
    drag.pointer_down((100, 150), 0)
    drag.pointer_move((110, 150), 0)
    drag.pointer_move((120, 160), 0)
    assert h.take() == []
    drag.flush()
    drag.flush()
    (live,) = h.take()
    assert isinstance(live, Move) and (live.id, live.dx, live.dy, live.live) == ("r", 20, 10, True)
    drag.pointer_move((150, 150), 0)
    drag.pointer_up((160, 150), 0)
    (final,) = h.take()
    assert isinstance(final, Move) and (final.dx, final.dy, final.live) == (40, -10, False)
    assert h.board.get("r").points == ((160, 100), (260, 200))  # type: ignore[union-attr]
    h.board.apply(Undo(oid="u"), ME)  # one undo puts the whole drag back
    assert h.board.get("r").points == ((100, 100), (200, 200))  # type: ignore[union-attr]


def test_drag_that_ends_where_it_began_closes_the_drag(h: Harness) -> None:
    add_mine(h, BoardObject("r", "rect", ((100, 100), (200, 200))))
    drag = DragTool(h.ctx)
    drag.pointer_down((100, 150), 0)
    drag.pointer_move((130, 150), 0)
    drag.flush()
    drag.pointer_up((130, 150), 0)
    ops = h.take()
    assert [(op.dx, op.dy, op.live) for op in ops] == [(30, 0, True), (0, 0, False)]  # type: ignore[attr-defined]


def test_drag_of_zero_and_drag_of_what_is_not_mine_send_nothing(h: Harness) -> None:
    add_mine(h, BoardObject("r", "rect", ((100, 100), (200, 200))))
    h.add_foreign(BoardObject("f", "line", ((500, 500), (600, 500))), OTHER)
    drag = DragTool(h.ctx)
    stroke(drag, [(100, 150), (100, 150)])
    stroke(drag, [(550, 500), (700, 700), (700, 700)])
    drag.flush()
    stroke(drag, [(1000, 1000), (1100, 1000)])  # empty space
    assert h.take() == []
    assert h.board.get("f").points == ((500, 500), (600, 500))  # type: ignore[union-attr]


def test_drag_is_clamped_to_the_board(h: Harness) -> None:
    add_mine(h, BoardObject("l", "line", ((100, 100), (300, 200))))
    drag = DragTool(h.ctx)
    drag.pointer_down((200, 150), 0)
    drag.pointer_move((0, 0), 0)
    drag.flush()
    drag.pointer_up((BOARD_W, BOARD_H), 0)  # every step was accepted by Board.apply
    assert h.board.get("l").points == ((BOARD_W - 200, BOARD_H - 100), (BOARD_W, BOARD_H))  # type: ignore[union-attr]


def test_drag_escape_puts_the_object_back_and_highlights_what_it_would_move(h: Harness) -> None:
    add_mine(h, BoardObject("r", "rect", ((100, 100), (200, 200))))
    drag = DragTool(h.ctx)
    drag.pointer_move((200, 150), 0)
    assert [o.id for o in drag.selection()] == ["r"]
    drag.pointer_down((200, 150), 0)
    drag.pointer_move((400, 150), 0)
    drag.flush()
    assert drag.key_down(pygame.K_ESCAPE, 0)
    assert not drag.key_down(pygame.K_ESCAPE, 0)  # nothing left to cancel
    assert [(op.dx, op.live) for op in h.take()] == [(200, True), (-200, False)]  # type: ignore[attr-defined]
    assert h.board.get("r").points == ((100, 100), (200, 200))  # type: ignore[union-attr]


# -- the registry


def test_registry_has_every_tool_with_its_design_shortcut() -> None:
    drawing = ["pencil", "line", "rect", "oval", "circle", "square", "text", "eraser", "drag"]
    assert list(TOOLS) == [*drawing, "select", "laser"]
    assert [t.key for t in TOOLS.values()] == list("PLROCSTEDVK")
    assert {t.keycode: name for name, t in TOOLS.items()} == shortcuts.TOOL_KEYS
    ctx = Harness().ctx
    for name, info in TOOLS.items():
        assert info.hint and len(info.hint) < 80
        assert make_tool(name, ctx).name == name
