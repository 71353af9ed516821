"""Board.begin / rollback (pgboard/board_journal.py): a chunk of operations applied and then taken back
leaves the board exactly as a replay of the operations kept would build it, and the board keeps
working the same afterwards."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from pgboard import board as board_module
from pgboard.board import Board, BoardError, DuplicateOperation, Operation
from pgboard.protocol import (
    Add as AddOp,
)
from pgboard.protocol import (
    BoardObject,
    Clear,
    Delete,
    Extend,
    Move,
    Redo,
    Undo,
)

AUTHORS = ("ann", "bob", "cy")


def state(b: Board) -> dict[str, Any]:
    """Everything a board holds, in comparable form (the authors' recency of their ids aside)."""
    hist = {
        a: (
            [(s.seq, s.before, s.move, s.dx, s.dy, s.dragging, s.cost) for s in h.undo],
            [(s.seq, s.before, s.move, s.dx, s.dy, s.dragging, s.cost) for s in h.redo],
            h.cost,
        )
        for a, h in b._history.saved()[0].items()
    }
    return copy.deepcopy(
        {
            "objects": list(b.objects.items()),
            "z": b._z,
            "next_z": b._next_z,
            "seq": b.seq,
            "history cost": b._history.cost,
            "boxes": b.grid._boxes,
            "cells": {k: v for k, v in b.grid._cells.items() if v},
            "history": hist,
            "oids": b._oids,
            "oid_order": {a: list(d) for a, d in b._oid_order.items()},
        }
    )


class Script:
    """Random valid-looking operations from a few authors (some refused: that is part of it)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    def op(self, board: Board) -> tuple[Operation, str]:
        rng = self.rng
        self.n += 1
        oid = f"o{self.n}"
        author = rng.choice(AUTHORS)
        ids = list(board.objects)
        kind = rng.choice("aaaemmldcur" if ids else "a")
        if kind == "a":
            x, y = rng.randrange(100, 3000), rng.randrange(100, 1700)
            obj = BoardObject(f"{author}-{self.n}", rng.choice(("pencil", "rect")), ((x, y), (x + 9, y + 7)))
            return AddOp(oid, obj), author
        target = rng.choice(ids)
        if kind == "e":
            return Extend(oid, target, ((rng.randrange(50, 3100), rng.randrange(50, 1750)),)), author
        if kind in "ml":
            return Move(oid, target, rng.randint(-5, 5), rng.randint(-5, 5), live=kind == "l"), author
        if kind == "d":
            return Delete(oid, target), author
        if kind == "c":
            return Clear(oid), author
        return (Undo(oid) if kind == "u" else Redo(oid)), author


def apply(board: Board, op: Operation, author: str) -> Operation | None:
    try:
        return board.apply(op, author)
    except (BoardError, DuplicateOperation):
        return None


def may_edit_all(user: str, obj: BoardObject) -> bool:
    return True


def replay_of(log: list[Operation]) -> Board:
    board = Board(may_edit=may_edit_all)
    for echo in log:
        board.apply_echo(echo)
    return board


@pytest.mark.parametrize("tight", [False, True], ids=["defaults", "ids-forgotten"])
@pytest.mark.parametrize("seed", range(20))
def test_a_chunk_taken_back_leaves_the_board_as_its_log_builds_it(
    seed: int, tight: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tight:  # operation ids forgotten all the time: the journal puts the forgotten ones back too
        monkeypatch.setattr(board_module, "MAX_REMEMBERED_OPS", 4)
        monkeypatch.setattr(board_module, "MAX_REMEMBERED_AUTHORS", 2)
    script = Script(seed)
    board = Board(may_edit=may_edit_all)
    log: list[Operation] = []
    for _round in range(6):
        for _ in range(script.rng.randrange(5, 40)):  # kept
            op, author = script.op(board)
            echo = apply(board, op, author)
            if echo is not None:
                log.append(echo)
        before = state(board)
        assert before == state(replay_of(log))
        board.begin()
        chunk = []
        for _ in range(script.rng.randrange(1, 30)):  # applied, then taken back
            op, author = script.op(board)
            chunk.append((op, author))
            apply(board, op, author)
        board.rollback()
        assert state(board) == before
        # sent again, the chunk gets the echoes it gets on a board that never saw it
        replay = replay_of(log)
        for op, author in chunk:
            echo = apply(board, op, author)
            assert echo == apply(replay, op, author)
            if echo is not None:
                log.append(echo)
        assert state(board) == state(replay)


def test_an_object_deleted_then_taken_back_returns_to_its_place_in_the_drawing_order() -> None:
    board = Board()
    for i in range(5):
        board.apply(AddOp(f"a{i}", BoardObject(f"x{i}", "rect", ((10 * i, 10), (10 * i + 5, 20)))), "ann")
    order = list(board.objects)
    board.begin()
    board.apply(Delete("d1", "x1"), "ann")
    board.apply(Delete("d3", "x3"), "ann")
    board.apply(AddOp("a9", BoardObject("x9", "rect", ((1, 1), (2, 2)))), "ann")
    board.apply(Undo("u1"), "ann")  # takes the add back
    board.apply(Undo("u2"), "ann")  # puts x3 back, on top
    board.rollback()
    assert list(board.objects) == order
    assert board.in_order(order) == [board.objects[i] for i in order]
    assert board.apply(AddOp("a9", BoardObject("x9", "rect", ((1, 1), (2, 2)))), "ann").seq == 6
