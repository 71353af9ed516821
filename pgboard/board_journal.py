"""Taking back what a board applied but could not keep: Board.begin(), .end(), .rollback().

The server applies a chunk of operations to a room's board, then commits their echoes to its store in
one transaction; when the commit fails (a full disk) nobody has seen the echoes, and the board must
equal its log again. Replaying the whole log from the store did that in O(log) under the room's lock
(290-570 ms per refused chunk at 8,000 operations). The journal does it in O(what the chunk changed):
every primitive change of the board records its inverse as it happens, and a rollback runs them in
reverse order.

- ``Board._put`` and ``Board._remove``: the object's previous state, its box and its drawing position
  (an object removed and put back returns to its old place in the drawing order, not on top);
- ``Board._remember``: the operation id it added, and what it forgot to make room for it;
- ``Board.apply_echo``: each author's undo history as it was before the chunk first touched it (its
  lists copied, at most MAX_HISTORY references, and the last step, which a live drag changes in place).

What is not put back: the recency of the authors whose operation ids are remembered (an author whose
operations were taken back counts as having drawn last, so their ids are forgotten later, not sooner).
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgboard.board import Board
    from pgboard.history import AuthorHistory
    from pgboard.protocol import BoardObject


class Journal:
    """The inverses of the changes made to one board since ``Board.begin()``."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.seq = board.seq
        self.next_z = board._next_z
        self.undo: list[Callable[[], None]] = []
        self._histories: set[str] = set()  # authors whose history is saved already
        self._kept: set[str] = set()  # objects whose state before the chunk is recorded
        self._table: tuple[OrderedDict[str, AuthorHistory], int] | None = None  # Histories.saved()
        self._saved: dict[str, AuthorHistory] = {}  # each changed author's record as it was
        self._reinserted: dict[str, int] = {}  # during rollback: objects put back, by their old z

    def save_object(self, oid: str) -> None:
        """Before ``oid`` is put, replaced or removed. An object present now whose restoring is
        recorded already is not recorded again: that earlier inverse, run later in a rollback, puts
        it back as it was, box and place included. So a chunk of 1,000 moves of a 5,000-point stroke
        keeps one old copy of it, not 1,000 (~600 MB)."""
        board = self.board
        old = board.objects.get(oid)
        if old is None:
            self.undo.append(functools.partial(self._unput, oid))
        elif oid not in self._kept:
            self._kept.add(oid)
            self.undo.append(functools.partial(self._restore, old, board.grid.box(oid), board._z[oid]))

    def save_history(self, author: str) -> None:
        """Before ``author``'s undo history changes (saved once per chunk: the state before it). The
        first call keeps the board's table of histories as it was (its order and its charge: a new
        step may push out whole histories of others, which are not changed, only dropped); each
        author's record is copied as it was in that table (its lists, and the last step, which a
        live drag changes in place)."""
        if author in self._histories:
            return
        self._histories.add(author)
        if self._table is None:
            self._table = self.board._history.saved()
            self.undo.append(self._restore_histories)
        h = self._table[0].get(author)
        if h is not None:  # unchanged since the table was kept: only this author's steps change it
            self._saved[author] = _copy_history(h)

    def rollback(self) -> None:
        """Put the board back as it was at ``begin()`` (called with the board's journal detached)."""
        board = self.board
        for inverse in reversed(self.undo):
            inverse()
        self._reorder()
        board._next_z = self.next_z
        board.seq = self.seq

    # -- the inverses

    def _unput(self, oid: str) -> None:
        self.board._remove(oid)  # the id may be used again, as in the log (only ids on the board are)
        self._reinserted.pop(oid, None)

    def _restore(self, old: BoardObject, box: tuple[int, int, int, int] | None, z: int) -> None:
        board = self.board
        present = old.id in board.objects
        board._put(old, box)
        if not present:  # it was removed: it goes back to its place (see _reorder), not on top
            board._z[old.id] = z
            self._reinserted[old.id] = z

    def _restore_histories(self) -> None:
        assert self._table is not None
        table, cost = self._table
        for author, saved in self._saved.items():
            table[author] = saved  # the same key: its place in the order is kept
        self.board._history.restore(table, cost)

    def _reorder(self) -> None:
        """Objects put back were appended to the board's dict (its drawing order): move them, and the
        objects drawn after them, back into z order. O(objects drawn after the lowest one put back)."""
        if not self._reinserted:
            return
        board = self.board
        z = board._z
        low = min(self._reinserted.values())
        tail: list[str] = []
        for oid in reversed(board.objects):  # the ones put back, then the others above the lowest
            if oid not in self._reinserted and z[oid] < low:
                break
            tail.append(oid)
        tail.sort(key=z.__getitem__)
        moved = [(oid, board.objects.pop(oid)) for oid in tail]
        board.objects.update(moved)
        self._reinserted.clear()


def _copy_history(h: AuthorHistory) -> AuthorHistory:
    """``h`` as it is now, safe from the changes a chunk makes to it: new lists (at most MAX_HISTORY
    references) and a copy of the last undo step (a live drag changes it in place)."""
    undo = list(h.undo)
    if undo:
        undo[-1] = dataclasses.replace(undo[-1])
    return dataclasses.replace(h, undo=undo, redo=list(h.redo))
