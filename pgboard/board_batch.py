"""A ``batch`` on a Board (pgboard/board.py): several changes as ONE operation, checked whole by the
authority, applied by every replica, and ONE step of its author's undo history. Pure Python.

A batch erases the objects it lists in ``removed`` and then adds the objects in ``put`` as its
author's (docs/PROTOCOL.md, "batch"). It is all or nothing: one object its author may not edit, one
id not on the board, one add the board refuses, and nothing of it is applied; the error names that
object. Opening a board file in place of the board (pgboard/boardfile.py) and, later, a change to a
selection of objects are batches, so that one undo takes the whole change back and one redo brings
it again (the undo of a batch removes what it put and puts back what it removed: history.py's
``Step.before`` holds both).

An object put with the id of one it removes *replaces* it (a selection moved, recoloured or resized,
pgboard/selection.py): the object keeps its id and its author, so an operator's move of someone's
drawing leaves it theirs, and it must keep its kind, its text and its number of points (else
``bad_field``): a replacement changes where an object is and how it looks, never what it says, so
nobody can put words under another's name. The server's id scope check (an ``add``'s id must be the
sender's) does not apply to a replacement's id, which is the replaced object's own.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pgboard.history import Step
from pgboard.protocol import Batch, BoardObject

if TYPE_CHECKING:
    from pgboard.board import Board


def batch_echo(board: Board, op: Batch, author: str) -> Batch:
    """The echo of ``author``'s batch, or BoardError naming the first object that refuses it whole."""
    from pgboard.board import BoardError  # noqa: PLC0415 - board.py imports this module

    removed: dict[str, BoardObject] = {}
    for oid in op.removed:
        if oid in removed:
            raise BoardError("bad_field", f"removed: object {oid!r} is listed twice")
        removed[oid] = board._editable(oid, author)  # no_such_object or not_allowed, naming it
    put = set()
    stamped = []
    for obj in op.put:
        if obj.id in put or (obj.id in board.objects and obj.id not in removed):
            raise BoardError("duplicate_id", f"object id {obj.id!r} is on this board already")
        put.add(obj.id)
        old = removed.get(obj.id)
        if old is not None:
            check_replacement(old, obj)
        stamped.append(dataclasses.replace(obj, author=author if old is None else old.author))
    if len(board.objects) - len(removed) + len(put) > board.max_objects:
        raise BoardError("board_full", f"a board holds at most {board.max_objects} objects")
    return dataclasses.replace(op, put=tuple(stamped))


def replaced_ids(op: Batch) -> frozenset[str]:
    """The ids of ``op``'s replacements: put with the id of an object it removes (kept, not new)."""
    gone = frozenset(op.removed)
    return frozenset(obj.id for obj in op.put if obj.id in gone)


def check_replacement(old: BoardObject, new: BoardObject) -> None:
    """BoardError unless ``new`` may replace ``old``: the same kind, text and number of points."""
    from pgboard.board import BoardError  # noqa: PLC0415 - board.py imports this module

    if new.kind != old.kind or new.text != old.text or len(new.points) != len(old.points):
        raise BoardError(
            "bad_field",
            f"put: object {new.id!r} replaces one of another kind, text or number of points "
            "(a replacement may move, restyle or resize an object, not change what it is)",
        )


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
