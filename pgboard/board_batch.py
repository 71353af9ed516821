"""A ``batch`` on a Board (pgboard/board.py): several changes as ONE operation, checked whole by the
authority, applied by every replica, and ONE step of its author's undo history. Pure Python.

A batch erases the objects it lists in ``removed`` and then adds the objects in ``put`` as its
author's (docs/PROTOCOL.md, "batch"). It is all or nothing: one object its author may not edit, one
id not on the board, one add the board refuses, and nothing of it is applied; the error names that
object. Opening a board file in place of the board (pgboard/boardfile.py) and, later, a change to a
selection of objects are batches, so that one undo takes the whole change back and one redo brings
it again (the undo of a batch removes what it put and puts back what it removed: history.py's
``Step.before`` holds both).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pgboard.history import Step
from pgboard.protocol import Batch

if TYPE_CHECKING:
    from pgboard.board import Board


def batch_echo(board: Board, op: Batch, author: str) -> Batch:
    """The echo of ``author``'s batch, or BoardError naming the first object that refuses it whole."""
    from pgboard.board import BoardError  # noqa: PLC0415 - board.py imports this module

    removed = set()
    for oid in op.removed:
        if oid in removed:
            raise BoardError("bad_field", f"removed: object {oid!r} is listed twice")
        board._editable(oid, author)  # no_such_object or not_allowed, naming it
        removed.add(oid)
    put = set()
    for obj in op.put:
        if obj.id in put or (obj.id in board.objects and obj.id not in removed):
            raise BoardError("duplicate_id", f"object id {obj.id!r} is on this board already")
        put.add(obj.id)
    if len(board.objects) - len(removed) + len(put) > board.max_objects:
        raise BoardError("board_full", f"a board holds at most {board.max_objects} objects")
    return dataclasses.replace(op, put=tuple(dataclasses.replace(o, author=author) for o in op.put))


def apply_batch(board: Board, echo: Batch) -> Step | None:
    """Apply a batch's echo; its undo step (None for an empty batch, which is no step)."""
    if not echo.removed and not echo.put:
        return None
    objects = board.objects
    before = [(oid, objects.get(oid)) for oid in echo.removed]
    before += [(obj.id, None) for obj in echo.put if obj.id not in echo.removed]
    for oid in echo.removed:
        board._remove(oid)
    for obj in echo.put:
        board._put(obj)
    return Step(echo.seq, before=tuple(before))
