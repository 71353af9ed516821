"""The board as the authority (the server's board): an operation checked against the board as it is
and its echo made (sequence number, author, effect), or the typed refusal. Board.apply calls
:func:`echo_of` and applies the echo; every replica applies echoes only (Board.apply_echo).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pgboard import board_batch, board_undo, clearing
from pgboard.board_undo import _extent
from pgboard.history import PURGE_PREFIX, purged_by
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_POINTS,
    Add,
    Batch,
    BoardObject,
    Clear,
    Delete,
    EffectMessage,
    Extend,
    LocalProtocolError,
    Message,
    Move,
    Operation,
    Redo,
    Undo,
    encode,
)

if TYPE_CHECKING:
    from pgboard.board import Board


class BoardError(Exception):
    """An operation the board refuses. ``code`` is the word sent in the error frame."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class DuplicateOperation(Exception):
    """The author already sent this operation id; it was applied as ``seq``."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"already applied as {seq}")
        self.seq = seq


def echo_of(board: Board, op: Operation, author: str, device: str = "") -> Operation:
    """The echo of ``op`` from ``author`` on ``device`` (its own when empty), checked against ``board``
    as it is now, which it does not change; BoardError or DuplicateOperation if it is refused."""
    done = board._oids.get((device or author, op.oid))
    if done is not None:
        raise DuplicateOperation(done)
    if purged_by(op.oid):  # the server's own: a client's clear must never pass for a purge
        raise BoardError("bad_field", f"oid: {PURGE_PREFIX!r} begins only the server's oids")
    seq = board.seq + 1
    echo: Operation
    if isinstance(op, Add):
        check_add(board, op.obj)
        echo = dataclasses.replace(op, obj=dataclasses.replace(op.obj, author=author))
    elif isinstance(op, Extend):
        obj = existing(board, op.id)
        if obj.kind != "pencil" or obj.author != author:
            raise BoardError("not_allowed", "only the author of a pencil stroke extends it")
        if len(obj.points) + len(op.points) > MAX_POINTS:
            raise BoardError("too_many_points", f"a stroke has at most {MAX_POINTS} points")
        echo = op
    elif isinstance(op, Move):
        obj = editable(board, op.id, author)
        if not _fits(obj, op.dx, op.dy):
            raise BoardError("bad_coordinates", "the move would take the object off the board")
        echo = op
    elif isinstance(op, Delete):
        editable(board, op.id, author)
        echo = op
    elif isinstance(op, Clear):  # as many as one echo lists, bottom first: pgboard/clearing.py
        echo = dataclasses.replace(op, removed=clearing.clearable(board.iter_editable(author)), put=())
    elif isinstance(op, (Undo, Redo)):
        echo = board_undo.undo_redo_echo(board, op, author)
    elif isinstance(op, Batch):  # all or nothing, one undo step: pgboard/board_batch.py
        echo = board_batch.batch_echo(board, op, author)
    else:
        raise BoardError("unknown_operation", type(op).__name__)
    echo = dataclasses.replace(echo, seq=seq, author=author, device="" if device == author else device)
    if isinstance(echo, EffectMessage):
        check_fits(echo)
    return echo


def check_fits(echo: Message) -> None:
    """An effect (clear, undo, redo) is refused before it changes anything if its echo cannot be
    sent: an applied operation that cannot be echoed would leave every replica behind for good."""
    try:
        encode(echo)
    except LocalProtocolError as exc:
        raise BoardError("too_large", f"the effect of this operation is too large to send ({exc})") from None


def check_add(board: Board, obj: BoardObject) -> None:
    # Only an id on the board now is refused: nothing is kept per id ever used (that grew ~60 bytes
    # an id for ever). Ids are scoped to their author's device (pgboard/ids.py, checked by the
    # server), so an id deleted earlier can only come back from the client it belongs to, which
    # never reuses one; reusing one harms nobody else.
    if obj.id in board.objects:
        raise BoardError("duplicate_id", f"object id {obj.id!r} is on this board already")
    if len(board.objects) >= board.max_objects:
        raise BoardError("board_full", f"a board holds at most {board.max_objects} objects")


def existing(board: Board, oid: str) -> BoardObject:
    obj = board.objects.get(oid)
    if obj is None:
        raise BoardError("no_such_object", f"there is no object {oid!r} on this board")
    return obj


def editable(board: Board, oid: str, author: str) -> BoardObject:
    obj = existing(board, oid)
    if not board.may_edit(author, obj):
        raise BoardError("not_allowed", f"object {oid!r} is not yours to edit")
    return obj


def _fits(obj: BoardObject, dx: int, dy: int) -> bool:
    """Whether ``obj`` moved by (dx, dy) is still on the board (every point)."""
    _, _, x0, y0, x1, y1 = _extent(obj)
    return 0 <= x0 + dx and x1 + dx <= BOARD_W and 0 <= y0 + dy and y1 + dy <= BOARD_H
