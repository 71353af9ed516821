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

import copy
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from pgboard.board import Board, _History
    from pgboard.protocol import BoardObject

_T = TypeVar("_T")


class Journal:
    """The inverses of the changes made to one board since ``Board.begin()``."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.seq = board.seq
        self.next_z = board._next_z
        self.undo: list[Callable[[], None]] = []
        self._histories: set[str] = set()  # authors whose history is saved already
        self._reinserted: dict[str, int] = {}  # during rollback: objects put back, by their old z

    def save_object(self, oid: str) -> None:
        """Before ``oid`` is put, replaced or removed."""
        board = self.board
        old = board.objects.get(oid)
        if old is None:
            self.undo.append(functools.partial(self._unput, oid))
        else:
            self.undo.append(functools.partial(self._restore, old, board.grid.box(oid), board._z[oid]))

    def save_history(self, author: str) -> None:
        """Before ``author``'s undo history changes (saved once per chunk: the state before it)."""
        if author in self._histories:
            return
        self._histories.add(author)
        histories = self.board._history
        h = histories.get(author)
        saved: _History | None = None
        if h is not None:
            saved = _shallow(h)
            saved.undo, saved.redo = list(h.undo), list(h.redo)
            if saved.undo:
                saved.undo[-1] = _shallow(saved.undo[-1])
        self.undo.append(functools.partial(self._restore_history, author, saved))

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

    def _restore_history(self, author: str, saved: _History | None) -> None:
        if saved is None:
            self.board._history.pop(author, None)
        else:
            self.board._history[author] = saved

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


def _shallow(obj: _T) -> _T:
    """A shallow copy, four times cheaper than copy.copy for an instance with a __dict__ (it runs on
    every chunk the server applies)."""
    fields = getattr(obj, "__dict__", None)
    if fields is None:
        return copy.copy(obj)
    twin = object.__new__(type(obj))
    twin.__dict__.update(fields)
    return twin
