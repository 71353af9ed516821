"""Tests for pgboard/canvas.py on a late join: a board that indexes what the canvas paints.

The App's board measures text with the canvas's own fonts (``Board(text_box=texts.box)``), so when a
caught-up board is installed the canvas paints and indexes each object with the board's box instead of
measuring it again. What the user sees must be what a canvas that measured everything itself shows: the board
surface and the view are compared pixel for pixel with such a canvas (over a copy of the board that
has no measure of its own), after changes made while the join was still being painted, moving and
deleting text whose measured box differs from the estimate.
"""

from __future__ import annotations

import random

import pygame
import pytest
from test_canvas import Ops, pixels, random_object

from pgboard.board import Board
from pgboard.canvas import Canvas, Viewport
from pgboard.protocol import Delete, Move
from pgboard.render import TextCache


@pytest.fixture(scope="module")
def texts() -> TextCache:
    pygame.font.init()
    return TextCache()


def measured_by_itself(board: Board, texts: TextCache) -> Canvas:
    """A canvas over a copy of ``board`` that measures and indexes every object itself."""
    copy = Board()
    copy.load(board.snapshot(), board.seq)
    assert copy.text_box is None  # the path under comparison is not taken: the canvas measures texts
    return Canvas(copy, texts)


@pytest.mark.parametrize("seed", range(3))
def test_a_joined_board_paints_what_a_canvas_measuring_everything_paints(seed: int, texts: TextCache) -> None:
    rng = random.Random(seed)
    board = Board(text_box=texts.box)
    canvas = Canvas(board, texts)
    staged = Board(text_box=texts.box)  # what RoomView stages while the catch-up arrives
    for i in range(400):
        staged.place(random_object(rng, f"o{i}"))
    board.take(staged, 400)
    vp = Viewport((0, 0, 900, 600))
    screen = pygame.Surface(vp.rect.size)
    ops = Ops(board)
    texts_on_board = [o.id for o in board.snapshot() if o.kind == "text"]
    for step in range(6):  # changes while the join is painted, and after
        ops.add(random_object(rng, f"n{step}"), "u2")
        moved = board.get(texts_on_board[step])
        if moved is not None:
            board.apply_echo(
                Move(oid=f"m{step}", id=moved.id, dx=7, dy=-5, author=moved.author, seq=500 + step)
            )
        gone = texts_on_board[-1 - step]
        board.apply_echo(Delete(oid=f"d{step}", id=gone, author="", seq=600 + step))
        canvas.draw(screen, vp)
    while canvas.painting:
        canvas.draw(screen, vp)
    reference = measured_by_itself(board, texts)
    try:
        assert pixels(canvas.surface) == pixels(reference.surface)
        want = pygame.Surface(vp.rect.size)
        reference.draw(want, vp)
        canvas.draw(screen, vp)
        assert pixels(screen) == pixels(want)
    finally:
        reference.close()
        canvas.close()
