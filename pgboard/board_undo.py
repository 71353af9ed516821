"""Undo and redo on a Board (pgboard/board.py): the authority's echo of an author's undo or redo, as
far as their rights of today go, and the replay of such echoes by every replica. Pure Python.

The rule (docs/PROTOCOL.md, "Undo and rights"; the bookkeeping is pgboard/history.py's): an undo or
redo does only what its author may do today. An object of someone else's that the step would remove,
put back or shift must be one the board's ``may_edit`` lets them edit now, and nothing a purged author
drew before the purge comes back; the rest of the step is done. A step of which nothing may be done is
refused ``not_allowed`` and forgotten (a replica, which never sees the refusal, drops it when a later
echo names a step below it), so it never stands in the way of the steps below it.
"""

from __future__ import annotations

import dataclasses
from itertools import chain
from typing import TYPE_CHECKING

from pgboard.history import AuthorHistory, Step
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject, EffectMessage, Redo, Undo
from pgboard.wire_fields import shared_ints

if TYPE_CHECKING:
    from pgboard.board import Board


def undo_redo_echo(board: Board, op: Undo | Redo, author: str) -> Undo | Redo:
    """The echo of ``author``'s undo or redo of their last step, as far as their rights of today
    go (pgboard/history.py, "Rights hold over history")."""
    from pgboard.board import BoardError  # noqa: PLC0415 - board.py imports this module

    h = board._history.get(author)
    stack = (h.undo if isinstance(op, Undo) else h.redo) if h else []
    if not stack:
        return dataclasses.replace(op, target=0, removed=(), put=())
    assert h is not None
    step, history = stack[-1], board._history
    if step.move:  # shift the object as it is now: back for undo, forward for redo
        obj = board.objects.get(step.move)
        if obj is None:
            return dataclasses.replace(op, target=step.seq, removed=(), put=())
        if not history.may_change(author, obj, step, board.may_edit):
            forget_step(board, author, h, stack, obj.id)
        sign = -1 if isinstance(op, Undo) else 1
        dx, dy = _clamped_shift(obj, sign * step.dx, sign * step.dy)
        return dataclasses.replace(op, target=step.seq, removed=(), put=(_shifted(obj, dx, dy),))
    if step.too_large:  # refused before: its objects do not change, nor would the answer
        raise BoardError("too_large", "the effect of this step is too large to send")
    removed, put, refused = history.effect(step, author, board.objects, board.may_edit)
    if refused and not removed and not put:
        forget_step(board, author, h, stack, refused)
    echo = dataclasses.replace(op, target=step.seq, removed=removed, put=put)
    try:
        board._check_fits(dataclasses.replace(echo, seq=board.seq + 1, author=author))
    except BoardError:
        step.too_large = True  # the next try is refused at once, not listed and encoded again
        raise
    return echo


def forget_step(board: Board, author: str, h: AuthorHistory, stack: list[Step], oid: str) -> None:
    """Refuse an undo or redo of which nothing may be done today, and forget its step."""
    from pgboard.board import BoardError  # noqa: PLC0415 - board.py imports this module

    if board._journal is not None:
        board._journal.save_history(author)
    board._history.forget(author, h, stack)
    detail = f"object {oid!r} is no longer yours to edit: that step is dropped from your history"
    raise BoardError("not_allowed", detail)


def apply_undo_redo(board: Board, echo: EffectMessage, author: str, hist: AuthorHistory | None) -> None:
    removed, put = echo.effect_fields()
    target = echo.target  # type: ignore[attr-defined]
    source = None
    if hist is not None:
        source = hist.undo if isinstance(echo, Undo) else hist.redo
    step = board._history.find(hist, source, target) if hist and source and target else None
    if step is not None and step.move:
        # the inverse of a move is a move: by the shift this echo made (clamped at the board's
        # edge), or by the step's own when its object is gone
        obj = board.objects.get(step.move)
        moved = next((o for o in put if o.id == step.move), None)
        dx, dy = step.dx, step.dy
        if obj is not None and moved is not None and obj.points and moved.points:
            (x0, y0), (x1, y1) = obj.points[0], moved.points[0]
            sign = -1 if isinstance(echo, Undo) else 1
            dx, dy = sign * (x1 - x0), sign * (y1 - y0)
        inverse = Step(target, move=step.move, dx=dx, dy=dy)
    else:
        # the state of every object the effect touches, in the echo's order, to restore it
        touched = dict.fromkeys(chain(removed, (o.id for o in put)))
        inverse = Step(target, before=tuple((oid, board.objects.get(oid)) for oid in touched))
    for oid in removed:
        board._remove(oid)
    for obj in put:
        board._put(obj)
    if target == 0:
        return
    if step is not None:
        assert hist is not None and source is not None
        board._history.pop(hist, source)
    hist = board._history.open(author)
    dest = hist.redo if isinstance(echo, Undo) else hist.undo
    board._history.push(author, dest, inverse, board.objects.get)


def _extent(obj: BoardObject) -> tuple[tuple[int, ...], tuple[int, ...], int, int, int, int]:
    """The x and y coordinates of ``obj``'s points and their least and greatest, by C loops."""
    flat = tuple(chain.from_iterable(obj.points))
    xs, ys = flat[0::2], flat[1::2]
    return xs, ys, min(xs), min(ys), max(xs), max(ys)


def _shifted(obj: BoardObject, dx: int, dy: int) -> BoardObject:
    """``obj`` moved by (dx, dy), its coordinates the shared int objects (wire_fields.shared_ints)
    when they are on the board: a moved 5,000-point stroke then costs its tuples, not 10,000 ints."""
    xs, ys, x0, y0, x1, y1 = _extent(obj)
    ints = shared_ints(max(BOARD_W, BOARD_H))
    top = len(ints) - 1
    if 0 <= x0 + dx and x1 + dx <= top and 0 <= y0 + dy and y1 + dy <= top:
        # a table whose item v is ints[v + d]: the shift and the sharing in one C loop
        tx = ints[dx:] if dx >= 0 else (0,) * -dx + ints
        ty = ints[dy:] if dy >= 0 else (0,) * -dy + ints
        points = tuple(zip(map(tx.__getitem__, xs), map(ty.__getitem__, ys), strict=True))
    else:  # off the board: only from an echo no server of ours sends; follow it as it is
        points = tuple(zip([x + dx for x in xs], [y + dy for y in ys], strict=True))
    return dataclasses.replace(obj, points=points)


def _clamped_shift(obj: BoardObject, dx: int, dy: int) -> tuple[int, int]:
    """(dx, dy), shortened so that every point of ``obj`` stays on the board (an undo of a move of an
    object someone else moved since, towards an edge)."""
    _, _, x0, y0, x1, y1 = _extent(obj)
    return min(max(dx, -x0), BOARD_W - x1), min(max(dy, -y0), BOARD_H - y1)
