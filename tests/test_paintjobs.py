"""Tests for pgboard/paintjobs.py and its use by the canvas: huge strokes painted a frame's budget at a time.

Each test paints the biggest valid strokes (MAX_POINTS points, MAX_WIDTH wide, every segment across the
board) the way they reach a canvas (added live, grown by one huge extend, crossed by a small change)
and checks two things: no frame paints more than PAINT_BUDGET work units (plus the one segment it began
last), and what the board surface and the view end up showing is, pixel for pixel, what a canvas
painting the same board in one go shows.
"""

from __future__ import annotations

import math
import random

import pygame
import pytest
from test_canvas import Ops, pixels

from pgboard import render
from pgboard.board import Board
from pgboard.canvas import PAINT_BUDGET, Canvas, Viewport
from pgboard.paintjobs import OBJECT_WORK
from pgboard.points import Points
from pgboard.protocol import BOARD_H, BOARD_W, MAX_POINTS, MAX_WIDTH, BoardObject, Delete, Extend, Move

LONGEST_SEGMENT = 1 + (BOARD_W + BOARD_H + MAX_WIDTH - render.SEGMENT_FREE) / render.SEGMENT_PIXELS
MOST_PAINTED = PAINT_BUDGET + OBJECT_WORK + LONGEST_SEGMENT
VIEW = (0, 0, 1000, 600)


def zigzag(k: int, n: int = MAX_POINTS) -> tuple[tuple[int, int], ...]:
    top, bottom = 3 * k, BOARD_H - 1 - 3 * k
    return tuple(((i * (BOARD_W - 1)) // (n - 1), bottom if i % 2 else top) for i in range(n))


def huge(oid: str, k: int = 0, color: str = "#c82828") -> BoardObject:
    return BoardObject(oid, "pencil", zigzag(k), color, MAX_WIDTH)


def frames_until_painted(
    canvas: Canvas, screen: pygame.Surface, vp: Viewport, limit: int = 400
) -> list[float]:
    """Draw frames until nothing waits; the work each one painted."""
    work = []
    while True:
        before = canvas.stats["paint_work"]
        canvas.draw(screen, vp)
        work.append(canvas.stats["paint_work"] - before)
        if not canvas.behind:
            return work
        assert len(work) < limit


def assert_as_painted_at_once(board: Board, canvas: Canvas, vp: Viewport) -> None:
    fresh = Canvas(board, canvas.texts)
    try:
        assert pixels(canvas.surface) == pixels(fresh.surface), "the board surface"
        a, b = pygame.Surface(vp.rect.size), pygame.Surface(vp.rect.size)
        canvas.draw(a, vp)
        fresh.draw(b, vp)
        assert pixels(a) == pixels(b), "the view"
    finally:
        fresh.close()


@pytest.mark.parametrize("width", [1, 2, 5, MAX_WIDTH])
def test_a_stroke_painted_part_by_part_paints_what_it_paints_whole(width: int) -> None:
    rng = random.Random(width)
    pts = [(rng.randrange(-20, 380), rng.randrange(-20, 260)) for _ in range(300)]
    color = pygame.Color("#1e50dc")
    for cull in (None, (120, 60, 200, 140)):
        whole, parts = pygame.Surface((360, 240)), pygame.Surface((360, 240))
        for s in (whole, parts):
            s.fill((255, 255, 255))
            s.set_clip(None if cull is None else pygame.Rect(120, 60, 80, 80))
        render.draw_segments(whole, color, pts, width, cull)
        start, pieces, total = 0, 0, 0.0
        while start < len(pts) - 1:
            end, work = render.stroke_part(pts, width, start, 40, cull)
            assert end > start and (work >= 40 or end == len(pts) - 1)
            render.draw_segments(parts, color, pts[start : end + 1], width, cull)
            start, pieces, total = end, pieces + 1, total + work
        assert pieces > 2
        assert pixels(parts) == pixels(whole), cull
        assert total == pytest.approx(render.stroke_part(pts, width, 0, cull=cull)[1])


@pytest.mark.parametrize("step", [1, 8, 40, 300])
def test_a_packed_stroke_is_split_and_counted_as_its_pairs_are(step: int) -> None:
    # packed points (a snapshot's) take a shortcut when every segment is short: same parts, same work
    rng = random.Random(step)
    x, y, pts = 1000, 900, []
    for _ in range(200):
        x = max(0, min(BOARD_W, x + rng.randint(-step, step)))
        y = max(0, min(BOARD_H, y + rng.randint(-step, step)))
        pts.append((x, y))
    packed = Points.of(pts)
    for width in (1, 3, 8, MAX_WIDTH):
        for start in (0, 1, 57, 198, 199):
            for budget in (0.0, 0.5, 1.0, 7.0, 7.5, 141.0, 198.0, 199.0, math.inf):
                assert render.stroke_part(packed, width, start, budget) == render.stroke_part(
                    pts, width, start, budget
                ), (width, start, budget)


def test_the_work_of_a_stroke_grows_with_its_segments_length_not_only_its_points() -> None:
    short = tuple((100 + i % 7, 100 + i % 5) for i in range(MAX_POINTS))
    assert render.stroke_part(short, 8)[1] == MAX_POINTS - 1  # ordinary strokes: a unit a point
    tall = render.stroke_part(zigzag(0), MAX_WIDTH)[1]
    assert tall > 40 * MAX_POINTS  # each segment crosses the board: ~55 units, as its polygon costs
    assert render.stroke_part(zigzag(0), MAX_WIDTH, cull=(0, 0, 10, 10))[1] < MAX_POINTS  # culled away


def test_a_huge_stroke_added_live_is_painted_over_frames_under_the_budget() -> None:
    board = Board()
    ops = Ops(board)
    ops.add(BoardObject("under", "rect", ((100, 100), (900, 700)), "#0000ff", 20))
    canvas = Canvas(board)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    for k in range(3):
        ops.add(huge(f"h{k}", k, ("#c82828", "#28c828", "#2828c8")[k]), "guest")
    ops.add(BoardObject("above", "circle", ((1600, 900), (1700, 1000)), "#ffa500", 30))
    work = frames_until_painted(canvas, screen, vp)
    assert max(work) <= MOST_PAINTED, max(work)
    assert len(work) > 3 * 40 * MAX_POINTS / PAINT_BUDGET  # spread over frames, every segment painted
    assert_as_painted_at_once(board, canvas, vp)


def test_one_huge_extend_of_a_live_stroke_is_painted_over_frames() -> None:
    board = Board()
    ops = Ops(board)
    canvas = Canvas(board)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    points = zigzag(1)
    ops.add(BoardObject("s", "pencil", points[:1], "#c82828", MAX_WIDTH), "guest")
    canvas.draw(screen, vp)
    ops(Extend, "guest", id="s", points=points[1:])
    work = frames_until_painted(canvas, screen, vp)
    assert max(work) <= MOST_PAINTED and len(work) > 10
    assert_as_painted_at_once(board, canvas, vp)


def test_changes_under_and_between_huge_strokes_while_they_are_painted_end_as_one_paint() -> None:
    board = Board()
    ops = Ops(board)
    rng = random.Random(3)
    for i in range(40):
        x, y = rng.randrange(0, BOARD_W - 200), rng.randrange(0, BOARD_H - 200)
        ops.add(BoardObject(f"r{i}", "rect", ((x, y), (x + 150, y + 90)), "#00a000", 6))
    canvas = Canvas(board)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    ops.add(huge("h0", 0), "guest")
    ops.add(huge("h1", 5, "#2828c8"), "guest")
    work = []
    for i in range(12):  # a user keeps working under them meanwhile
        ops(Move, id=f"r{i}", dx=15, dy=-10)
        ops(Delete, id=f"r{20 + i}")
        ops.add(BoardObject(f"n{i}", "pencil", ((200 + 40 * i, 300), (260 + 40 * i, 330)), "#000000", 5))
        if i == 6:
            ops(Move, "guest", id="h1", dx=0, dy=-3)  # a huge one moves while still being painted
        before = canvas.stats["paint_work"]
        canvas.draw(screen, vp)
        work.append(canvas.stats["paint_work"] - before)
    work += frames_until_painted(canvas, screen, vp, limit=800)
    assert max(work) <= MOST_PAINTED, max(work)
    assert_as_painted_at_once(board, canvas, vp)


def test_a_small_change_under_huge_strokes_repaints_within_the_budget() -> None:
    board = Board()
    ops = Ops(board)
    ops.add(BoardObject("dot", "circle", ((1500, 800), (1540, 840)), "#000000", 8))
    for k in range(4):
        ops.add(huge(f"h{k}", k), "guest")
    canvas = Canvas(board)
    canvas.update(land_all=True)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    ops(Delete, id="dot")  # its region crosses about 50 segments of each huge stroke
    work = frames_until_painted(canvas, screen, vp)
    assert max(work) <= MOST_PAINTED
    assert_as_painted_at_once(board, canvas, vp)
