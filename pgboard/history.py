"""Undo history per author, bounded in bytes as well as in steps: what pgboard/board.py keeps so that
an author's ``undo`` and ``redo`` have something to undo and redo. Pure Python.

The board builds it from echoes alone (``Board.apply_echo``), so the server (live, or replaying its
log after a restart) and every client keep the same history within the same bound. The bound:

- A step keeps no copy of what is still on the board. An add keeps the id; a move keeps the id and
  its dx/dy (undo shifts the object as it is now back, redo forward, stopping at the board's edge);
  only a delete, a clear, or an undo/redo that takes objects off the board keeps those objects.
- Each step is charged ``STEP_BYTES`` plus, for each object it keeps that is not the very object on
  the board, ``OBJECT_BYTES + POINT_BYTES * points + TEXT_CHAR_BYTES * characters`` (kept_bytes);
  each author with any history ``AUTHOR_BYTES`` more (measured: 457 bytes an author with one move
  step, charged 768; a move step measured 170 bytes, charged 256).
- An author keeps at most ``MAX_HISTORY`` steps (undo and redo together) and ``MAX_HISTORY_BYTES``
  (6 MiB). One undo echo must fit MAX_FRAME, so it restores at most 256 KiB / 6 bytes a point =
  43,690 points, 5.2 MB at 120 bytes a point: every step that can be undone at all fits one author's
  budget. Past either bound the author's oldest steps are dropped first (undo before redo).
- A board keeps at most ``MAX_BOARD_HISTORY_BYTES`` (32 MiB: five authors' full budgets, or some
  130,000 steps that keep nothing) for every author together. Past it, the whole history of the
  author who drew least recently is dropped first, so a crowd of made-up authors (a client picks its
  own secret) can push old histories out but never grow the board's.

So one board's history holds at most 32 MiB (plus Python's allocator slack) whatever is sent, and
one author's at most 6 MiB; a 5,000-point stroke moved 500 times is 500 small steps (~85 KB by
tracemalloc), not 500 copies of the stroke (~305 MiB on the server and on every client before).

Rights hold over history (docs/PROTOCOL.md, "Undo and rights"). An undo or redo does only what its
author may do today: an object of someone else's that a step would remove, put back or shift must be
one its author may edit now (``may_edit``, the board's policy: a ``/deny`` or a ``/deop`` since the
step holds), and nothing a purged author drew before their purge comes back, for anyone
(:meth:`Histories.effect`). What may not change is left as it is and the rest of the step is done;
a step of which nothing may be done is refused (``not_allowed``) and forgotten, so the next undo
reaches the step below it (:meth:`Histories.forget`; replicas, which never see the refusal, drop it
when a later echo names a step below it: :meth:`Histories.find`). The check costs what the step holds,
which its echo lists anyway. A ``/purge`` (a ``clear`` echo whose oid :func:`purged_by` reads) is no
step of the operator's: it forgets the purged author's whole history and remembers its seq
(``purged``, at most ``MAX_PURGES`` authors: past it every history on the board is forgotten), so a
log replayed after a restart makes the same purge just as final.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pgboard.protocol import BoardObject

MAX_HISTORY = 500  # undo and redo steps kept per author (the oldest go first)
# What one kept thing costs, measured with tracemalloc on CPython 3.11 and rounded up: a point is a
# 2-tuple (56) in its object's tuple (8) of two ints of its own (2 x 28) when it came from a JSON
# list; a step is its record, its tuple and the id it names; an object's record, id and colour
# besides its points and text.
POINT_BYTES = 120
STEP_BYTES = 256
AUTHOR_BYTES = 512  # an author's history record, its two lists and its entry in the board's table
OBJECT_BYTES = 400
TEXT_CHAR_BYTES = 4  # a str of non-Latin-1 text: 4 bytes a character at worst
MAX_HISTORY_BYTES = 6 * 1024 * 1024  # per author: a step whose undo fits one frame always fits
MAX_BOARD_HISTORY_BYTES = 32 * 1024 * 1024  # per board, every author's together
# Purged authors a board remembers (with the seq of their purge), so that no step older than the purge
# puts back what they drew: ~150 bytes each. Past it, every history on the board is forgotten at once
# (O(1), and just as final), so an operator purging author after author cannot grow a board's memory.
MAX_PURGES = 1_000
PURGE_PREFIX = "purge."  # a /purge's oid: "purge.", the purged author id, ".", 8 hex digits (the server's)

EditPolicy = Callable[[str, BoardObject], bool]  # pgboard.board's: may this author edit this object?


def purge_oid(author: str, token: str) -> str:
    """The oid of the ``clear`` echo of a /purge of ``author`` (``token``: random, 8 hex digits)."""
    return f"{PURGE_PREFIX}{author}.{token}"


def purged_by(oid: str) -> str:
    """The author a /purge echo with this oid purged ("" when it is no purge's)."""
    if not oid.startswith(PURGE_PREFIX):
        return ""
    return oid[len(PURGE_PREFIX) :].rpartition(".")[0]


@dataclass(slots=True)
class Step:
    """One undoable step. A move step (``move``: the id) keeps the shift it made, (dx, dy); any
    other keeps the state before it of each object it touched (None: it did not exist), in order."""

    seq: int
    before: tuple[tuple[str, BoardObject | None], ...] = ()
    move: str = ""
    dx: int = 0
    dy: int = 0
    dragging: bool = False  # a move step whose drag is still in progress (live moves merge here)
    too_large: bool = False  # its undo (or redo) was refused: its echo does not fit one frame
    cost: int = 0  # bytes charged to the budgets (STEP_BYTES and what it keeps)


@dataclass(slots=True)
class AuthorHistory:
    """One author's steps: ``undo`` oldest first, ``redo`` the next to redo last; ``cost`` in bytes."""

    undo: list[Step] = field(default_factory=list)  # lists, not deques: an empty deque is ~600 bytes
    redo: list[Step] = field(default_factory=list)
    cost: int = AUTHOR_BYTES


def kept_bytes(obj: BoardObject) -> int:
    """What keeping ``obj`` in a step costs when nothing else holds it (see POINT_BYTES)."""
    return OBJECT_BYTES + POINT_BYTES * len(obj.points) + TEXT_CHAR_BYTES * len(obj.text)


class Histories:
    """Every author's history on one board, the author who drew least recently first, and the bytes
    charged to all of them (``cost``)."""

    def __init__(self) -> None:
        self._by_author: OrderedDict[str, AuthorHistory] = OrderedDict()
        self.cost = 0
        self.purged: dict[str, int] = {}  # purged author -> the seq of their (last) purge

    def get(self, author: str) -> AuthorHistory | None:
        return self._by_author.get(author)

    def touch(self, author: str) -> AuthorHistory | None:
        """``author`` just drew: theirs is the last history to go. Returns it, if they have one."""
        hist = self._by_author.get(author)
        if hist is not None:
            self._by_author.move_to_end(author)
        return hist

    def open(self, author: str) -> AuthorHistory:
        """``author``'s history, a new (charged) one if they had none."""
        hist = self._by_author.get(author)
        if hist is None:
            hist = self._by_author[author] = AuthorHistory()
            self.cost += hist.cost
        return hist

    def bytes(self, author: str | None = None) -> int:
        if author is None:
            return self.cost
        hist = self._by_author.get(author)
        return hist.cost if hist else 0

    def clear(self) -> None:
        self._by_author.clear()
        self.cost = 0
        self.purged.clear()

    def saved(self) -> tuple[OrderedDict[str, AuthorHistory], int]:
        """The table as it is now, for :meth:`restore` (pgboard/board_journal.py): the order and the
        charge; the authors' records are shared, not copied (the journal copies those it changes)."""
        return OrderedDict(self._by_author), self.cost

    def restore(self, table: OrderedDict[str, AuthorHistory], cost: int) -> None:
        self._by_author, self.cost = table, cost

    def push(
        self,
        author: str,
        stack: list[Step],
        step: Step,
        on_board: Callable[[str], BoardObject | None],
    ) -> None:
        """Put ``step`` on top of ``stack`` (one of ``author``'s), charged with what it keeps
        (``on_board``: the object now on the board with an id, which it holds for free), then drop
        the author's oldest steps past their budgets, and the histories of the authors who drew
        least recently past the board's."""
        hist = self.open(author)
        step.cost = STEP_BYTES + sum(
            kept_bytes(o) for _, o in step.before if o is not None and on_board(o.id) is not o
        )
        stack.append(step)
        hist.cost += step.cost
        self.cost += step.cost
        while len(hist.undo) + len(hist.redo) > MAX_HISTORY or hist.cost > MAX_HISTORY_BYTES:
            old = hist.undo.pop(0) if hist.undo else hist.redo.pop(0)  # at most MAX_HISTORY to shift
            hist.cost -= old.cost
            self.cost -= old.cost
        while self.cost > MAX_BOARD_HISTORY_BYTES:
            oldest = next(iter(self._by_author))
            if oldest == author:  # cannot happen while MAX_HISTORY_BYTES < MAX_BOARD_HISTORY_BYTES
                break
            self.cost -= self._by_author.pop(oldest).cost
        if not hist.undo and not hist.redo:
            self.cost -= hist.cost
            del self._by_author[author]

    def pop(self, hist: AuthorHistory, stack: list[Step]) -> Step:
        """Take the top step of ``stack`` (one of ``hist``'s) off, and its charge with it."""
        step = stack.pop()
        hist.cost -= step.cost
        self.cost -= step.cost
        return step

    def drop_redo(self, hist: AuthorHistory) -> None:
        """A new step: what was undone can no longer be redone."""
        if hist.redo:
            cost = sum(s.cost for s in hist.redo)
            hist.redo.clear()
            hist.cost -= cost
            self.cost -= cost

    # -- rights over history (see the module's docstring)

    def may_change(self, author: str, obj: BoardObject, step: Step, may_edit: EditPolicy) -> bool:
        """Whether ``author``'s undo or redo of ``step`` may remove, put back or shift ``obj``: an
        object they may edit today, and none a purge after ``step`` took away."""
        return may_edit(author, obj) and step.seq > self.purged.get(obj.author, -1)

    def effect(
        self, step: Step, author: str, objects: Mapping[str, BoardObject], may_edit: EditPolicy
    ) -> tuple[tuple[str, ...], tuple[BoardObject, ...], str]:
        """What undoing (or redoing) a step that keeps objects does today: the ids it removes, the
        objects it puts, and the id of one object it would change but may not ("" if none). O(step)."""
        removed: list[str] = []
        put: list[BoardObject] = []
        refused = ""
        for oid, before in step.before:
            obj = before if before is not None else objects.get(oid)
            if obj is None:
                continue  # gone already: nothing to remove
            if not self.may_change(author, obj, step, may_edit):
                refused = refused or oid
            elif before is None:
                removed.append(oid)
            else:
                put.append(before)
        return tuple(removed), tuple(put), refused

    def forget(self, author: str, hist: AuthorHistory, stack: list[Step]) -> None:
        """Drop the top step of ``stack`` (one of ``author``'s): a step of which nothing may be done
        today is refused once and forgotten, so it does not stand in the way of the steps below it."""
        self.pop(hist, stack)
        if not hist.undo and not hist.redo:
            self.cost -= hist.cost
            del self._by_author[author]

    def find(self, hist: AuthorHistory, stack: list[Step], seq: int) -> Step | None:
        """The step ``seq`` that an echo undoes or redoes: the top of ``stack``, or one below the
        steps the authority refused and forgot (dropped here too, O(them)); None if ``stack`` does
        not hold it (history from before this replica joined, or beyond the bounds)."""
        for i in range(len(stack) - 1, -1, -1):
            if stack[i].seq == seq:
                for _ in range(len(stack) - 1 - i):
                    self.pop(hist, stack)
                return stack[-1]
        return None

    def purge(self, author: str, seq: int) -> Callable[[], None]:
        """A /purge of ``author`` as ``seq``: their history goes, and no step older than ``seq`` puts
        back what they drew. Returns how to take it back (Board.rollback)."""
        table, cost, purged = self._by_author, self.cost, dict(self.purged)  # O(MAX_PURGES), rare

        def undo() -> None:
            self._by_author, self.cost, self.purged = table, cost, purged

        self._by_author = OrderedDict(self._by_author)
        hist = self._by_author.pop(author, None)
        if hist is not None:
            self.cost -= hist.cost
        self.purged.pop(author, None)
        self.purged[author] = seq
        if len(self.purged) > MAX_PURGES:
            self._by_author, self.cost, self.purged = OrderedDict(), 0, {}
        return undo
