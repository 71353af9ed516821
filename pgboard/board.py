"""The board model: objects, operations, undo/redo per user, hit tests and compaction. Pure Python.

The server uses it as the authority: :meth:`Board.apply` checks an operation from a client and returns
the echo to broadcast (sequence number, author and, for clear/undo/redo, the concrete effect). Clients
and a restarting server replay echoes with :meth:`Board.apply_echo`, which needs no history to work: an
echo says exactly what changed, so a late joiner who only has the compacted board applies it too.

Undo history is built by :meth:`Board.apply_echo` alone, so the server (live, or replaying its log
after a restart) and every client keep the same history, bounded in bytes (pgboard/history.py says
how and why).

Clearing costs what it removes: the board keeps the ids of each author's objects (:meth:`ids_of`),
and :meth:`iter_editable` reads them for the authors the ``edit_scope`` names (your own by default; a
server's operator edits everyone's), so an empty clear is O(1) on a board of any size; one clear
removes as many as its echo can list (pgboard/clearing.py).
"""

from __future__ import annotations

import dataclasses
import functools
import heapq
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Protocol

from pgboard import board_authority, board_batch, board_undo, geometry
from pgboard.board_authority import BoardError as BoardError
from pgboard.board_authority import DuplicateOperation as DuplicateOperation
from pgboard.board_journal import Journal
from pgboard.board_undo import _shifted
from pgboard.history import (  # noqa: F401 - the history's limits, read where they always were
    MAX_BOARD_HISTORY_BYTES,
    MAX_HISTORY,
    MAX_HISTORY_BYTES,
    PURGE_PREFIX,
    STEP_BYTES,
    AuthorHistory,
    Histories,
    Step,
    kept_bytes,
    purged_by,
)
from pgboard.protocol import (
    OPERATIONS,
    Add,
    Batch,
    BoardObject,
    Delete,
    Extend,
    Message,
    Move,
    Operation,
    Redo,
    Undo,
)
from pgboard.wire_fields import shared_ints  # noqa: F401 - read here by tests, where it always was

MAX_OBJECTS = 200_000  # objects on one board at once
# Operation ids remembered to answer a resend with ack instead of applying it twice, per device (an
# oid is unique per client secret only: two machines of one account count alike). Only operations in
# flight when a connection drops are ever resent (pgboard's client keeps at most 100 in flight), so a
# window of a device's latest ids is enough; and only the devices that drew last are remembered, so
# neither a long session nor a crowd of made-up devices (a client picks its own secret) grows a board's
# memory without bound (about 230 bytes an id: at most ~90 MiB a board, ~7 MiB for a class of 30).
MAX_REMEMBERED_OPS = 1_000  # per device: ten times what a client has in flight
MAX_REMEMBERED_AUTHORS = 400  # devices: twice the members a room holds (limits.py MAX_ROOM_MEMBERS)

EditPolicy = Callable[[str, BoardObject], bool]
# the authors whose objects an author may edit under the policy (None: everyone's): lets a clear read
# the index of objects by author instead of asking the policy about every object on the board
EditScope = Callable[[str], Collection[str] | None]
TextMeasure = Callable[[BoardObject], geometry.Box]
Box = geometry.Box


class BoardListener(Protocol):
    """Told of every change, so a renderer can redraw only what changed."""

    def object_changed(self, old: BoardObject | None, new: BoardObject | None, old_box: Box | None) -> None:
        """``old`` None: added on top; ``new`` None: removed; both: replaced (same id); ``old_box``: old's."""

    def board_reset(self) -> None:
        """Everything was replaced (load): redraw it all."""


def own_objects_only(author: str, obj: BoardObject) -> bool:
    """The default policy, as in the original whiteboard: you edit what you drew."""
    return obj.author == author


class Board:
    """The objects now on a board, in drawing order, and what each author can undo."""

    max_objects = MAX_OBJECTS  # a server may set a smaller cap on its boards (Limits.max_objects)

    def __init__(
        self,
        may_edit: EditPolicy = own_objects_only,
        text_box: TextMeasure | None = None,
        *,
        edit_scope: EditScope | None = None,
    ) -> None:
        """``text_box``: what a text object paints, measured with the font it is drawn in (a client
        passes its renderer's measure so hit tests match the screen); without it, an estimate.
        ``edit_scope``: whose objects ``may_edit`` lets an author edit (None: everyone's); without it,
        the default policy's scope (your own) or, for another policy, a look at every object."""
        self.objects: dict[str, BoardObject] = {}  # insertion order is drawing order
        self.seq = 0
        self.may_edit = may_edit
        self.edit_scope = edit_scope
        self.text_box = text_box
        self.grid = geometry.SpatialGrid()
        self._z: dict[str, int] = {}
        self._next_z = 0
        self._oids: dict[tuple[str, str], int] = {}
        # per author, oldest first, to forget the oldest; the authors in the order they last drew
        self._oid_order: OrderedDict[str, deque[str]] = OrderedDict()
        self._history = Histories()
        self._by_author: dict[str, dict[str, None]] = {}  # author -> ids of their objects, drawing order
        self.listeners: list[BoardListener] = []
        self._journal: Journal | None = None  # between begin() and end(): how to undo what changed

    # -- reading

    def __len__(self) -> int:
        return len(self.objects)

    def get(self, oid: str) -> BoardObject | None:
        return self.objects.get(oid)

    def snapshot(self) -> list[BoardObject]:
        """The compacted board: each object now present, once, bottom first."""
        return list(self.objects.values())

    def in_order(self, ids: Iterable[str]) -> list[BoardObject]:
        """The given objects in drawing order (bottom first)."""
        z = self._z
        return [self.objects[i] for i in sorted((i for i in ids if i in z), key=z.__getitem__)]

    def objects_in(self, box: geometry.Box) -> list[BoardObject]:
        """Objects whose boxes meet ``box``, bottom first: what must be redrawn in a damaged region."""
        return self.in_order(self.grid.query(box))

    def hit(self, x: float, y: float, tolerance: float = 4.0) -> list[BoardObject]:
        """Objects whose painted shape passes within ``tolerance`` of (x, y), topmost first."""
        t = int(tolerance) + 1
        near = self.objects_in((int(x) - t, int(y) - t, int(x) + t + 1, int(y) + t + 1))
        if self.text_box is None:
            return [o for o in reversed(near) if geometry.touches(o, x, y, tolerance)]
        boxes = self.grid.box
        return [o for o in reversed(near) if geometry.touches(o, x, y, tolerance, boxes(o.id))]

    def ids_of(self, author: str) -> tuple[str, ...]:
        """The ids of ``author``'s objects now on the board, in drawing order: O(their number)."""
        return tuple(self._by_author.get(author, ()))

    def _scope(self, author: str) -> Collection[str] | None | bool:
        """The authors whose objects ``author`` may edit (None: everyone's; False: the policy does
        not say, so only asking it about every object tells)."""
        if self.edit_scope is not None:
            return self.edit_scope(author)
        return (author,) if self.may_edit is own_objects_only else False

    def editable_by(self, author: str) -> list[str]:
        """The ids ``author`` may edit, in drawing order (see :meth:`iter_editable`)."""
        return list(self.iter_editable(author))

    def iter_editable(self, author: str) -> Iterator[str]:
        """The ids ``author`` may edit, in drawing order, lazily: O(what is read) through the index by
        author, unless a policy other than the default comes without its ``edit_scope``. Read it
        whole before the board changes."""
        scope = self._scope(author)
        if scope is False:
            return (i for i, o in self.objects.items() if self.may_edit(author, o))
        if scope is None:
            return iter(self.objects)
        assert not isinstance(scope, bool)
        found = [ids for a in scope if (ids := self._by_author.get(a))]
        if len(found) <= 1:
            return iter(found[0] if found else ())
        return heapq.merge(*found, key=self._z.__getitem__)  # each author's ids are in drawing order

    def history_bytes(self, author: str | None = None) -> int:
        """Bytes charged to ``author``'s history (to every author's, when None): pgboard/history.py."""
        return self._history.bytes(author)

    def can_undo(self, author: str) -> bool:
        h = self._history.get(author)
        return bool(h and h.undo)

    def can_redo(self, author: str) -> bool:
        h = self._history.get(author)
        return bool(h and h.redo)

    def seen(self, device: str, oid: str) -> int | None:
        """The seq an operation id of this device (an echo's ``device``, else its author) was applied as."""
        return self._oids.get((device, oid))

    # -- the authority: check an operation and make its echo (pgboard/board_authority.py)

    def apply(self, op: Operation, author: str, device: str = "") -> Operation:
        """Check ``op`` from ``author`` on ``device`` (its own when empty), apply it, and return its echo."""
        echo = board_authority.echo_of(self, op, author, device)
        self.apply_echo(echo)
        return echo

    def _editable(self, oid: str, author: str) -> BoardObject:
        return board_authority.editable(self, oid, author)

    @staticmethod
    def _check_fits(echo: Message) -> None:
        board_authority.check_fits(echo)

    def _undo_redo_echo(self, op: Undo | Redo, author: str) -> Undo | Redo:
        return board_undo.undo_redo_echo(self, op, author)

    # -- taking back what was applied but could not be kept (pgboard/board_journal.py)

    def begin(self) -> None:
        """Record from now on how to undo what is applied, until :meth:`end` or :meth:`rollback`."""
        self._journal = Journal(self)

    def end(self) -> None:
        """Keep what was applied since :meth:`begin` (and stop recording)."""
        self._journal = None

    def rollback(self) -> None:
        """Undo everything applied since :meth:`begin`, in O(what changed): the objects, their drawing
        order, the seq, the undo histories and the operation ids are as they were."""
        journal, self._journal = self._journal, None
        if journal is None:
            raise RuntimeError("rollback() without begin()")
        journal.rollback()

    # -- applying echoes (the server after apply, clients always, anyone replaying a log)

    def apply_echo(self, echo: Message) -> None:
        """Apply an echoed operation as the server decided it. Tolerant by design: an echo that
        refers to an object this board does not have (history before a compacted join) changes
        only what it can."""
        if not isinstance(echo, OPERATIONS):
            raise TypeError(f"not an operation: {echo!r}")
        author = echo.author
        self._remember(echo.device or author, echo.oid, echo.seq)  # resends are per device
        self.seq = max(self.seq, echo.seq)
        if self._journal is not None:
            self._journal.save_history(author)
        hist = self._history.touch(author)  # drew most recently: the last whose history goes
        if isinstance(echo, (Undo, Redo)):
            board_undo.apply_undo_redo(self, echo, author, hist)
            return
        if isinstance(echo, Add):
            step = Step(echo.seq, before=((echo.obj.id, None),))
            self._put(echo.obj)
        elif isinstance(echo, Extend):
            obj = self.objects.get(echo.id)
            if obj is not None:
                grown = dataclasses.replace(obj, points=obj.points + echo.points)
                box = self.grid.box(obj.id)
                if obj.kind == "pencil" and box is not None:
                    # the box of the added points joins the old one: O(new points), not O(stroke)
                    box = geometry.union(box, geometry.points_box(echo.points, obj.width // 2 + 2))
                    self._put(grown, box)
                else:
                    self._put(grown)
            return  # growing a stroke is part of its add: one undo removes the whole stroke
        elif isinstance(echo, Move):
            obj = self.objects.get(echo.id)
            if obj is None:
                return
            box = self.grid.box(obj.id)
            if box is not None:  # every box moves with its object: O(1), not a look at every point
                box = (box[0] + echo.dx, box[1] + echo.dy, box[2] + echo.dx, box[3] + echo.dy)
            self._put(_shifted(obj, echo.dx, echo.dy), box)
            last = hist.undo[-1] if hist is not None and hist.undo else None
            if last is not None and last.dragging and last.move == echo.id:
                last.dx += echo.dx  # one drag, one undo step
                last.dy += echo.dy
                last.dragging = echo.live
                self._history.drop_redo(hist)  # type: ignore[arg-type]
                return
            step = Step(echo.seq, move=echo.id, dx=echo.dx, dy=echo.dy, dragging=echo.live)
        elif isinstance(echo, Delete):
            step = Step(echo.seq, before=((echo.id, self.objects.get(echo.id)),))
            self._remove(echo.id)
        elif isinstance(echo, Batch):
            if (batch_step := board_batch.apply_batch(self, echo)) is None:
                return  # an empty batch is no step
            step = batch_step
        else:  # Clear
            if purged_by(echo.oid):  # a /purge: final, no step (history.py); rollback restores it
                undo = self._history.purge(purged_by(echo.oid), echo.seq)
                self._journal.undo.append(undo) if self._journal is not None else None
                for oid in echo.removed:
                    self._remove(oid)
                return
            if not echo.removed:
                return  # clearing nothing is no step: the next undo still undoes what the user did
            objects = self.objects
            step = Step(echo.seq, before=tuple((oid, objects.get(oid)) for oid in echo.removed))
            for oid in echo.removed:
                self._remove(oid)
        hist = self._history.open(author)
        self._history.drop_redo(hist)
        self._history.push(author, hist.undo, step, self.objects.get)

    def _remember(self, author: str, oid: str, seq: int) -> None:
        """Record that ``author``'s (a device's) ``oid`` was applied as ``seq``, forgetting its oldest beyond
        MAX_REMEMBERED_OPS, and every id of the one that drew least recently beyond MAX_REMEMBERED_AUTHORS."""
        key = (author, oid)
        prev = self._oids.get(key)
        new_author = False
        evicted: tuple[str, deque[str], list[int]] | None = None
        popped: tuple[str, int] | None = None
        if prev is None:
            orders = self._oid_order
            order = orders.get(author)
            if order is None:
                new_author = True
                order = orders[author] = deque()
                if len(orders) > MAX_REMEMBERED_AUTHORS:
                    gone, ids = orders.popitem(last=False)
                    evicted = (gone, ids, [self._oids.pop((gone, old)) for old in ids])
            else:
                orders.move_to_end(author)
            order.append(oid)
            if len(order) > MAX_REMEMBERED_OPS:
                first = order.popleft()
                popped = (first, self._oids.pop((author, first)))
        self._oids[key] = seq
        if self._journal is not None:
            self._journal.undo.append(
                functools.partial(self._unremember, key, prev, new_author, evicted, popped)
            )

    def _unremember(
        self,
        key: tuple[str, str],
        prev: int | None,
        new_author: bool,
        evicted: tuple[str, deque[str], list[int]] | None,
        popped: tuple[str, int] | None,
    ) -> None:
        """Undo one _remember (rollback). The author's recency among authors is not put back."""
        if prev is not None:
            self._oids[key] = prev
            return
        del self._oids[key]
        author = key[0]
        order = self._oid_order[author]
        order.pop()
        if popped is not None:
            order.appendleft(popped[0])
            self._oids[(author, popped[0])] = popped[1]
        if new_author:
            del self._oid_order[author]
        if evicted is not None:
            gone, ids, seqs = evicted
            self._oid_order[gone] = ids
            self._oid_order.move_to_end(gone, last=False)
            self._oids.update(((gone, i), s) for i, s in zip(ids, seqs, strict=True))

    def _put(self, obj: BoardObject, box: geometry.Box | None = None) -> None:
        old = self.objects.get(obj.id)
        if self._journal is not None:
            self._journal.save_object(obj.id)
        if old is None:
            self._z[obj.id] = self._next_z
            self._next_z += 1
            self._index(obj)
        elif old.author != obj.author:  # never from a server of ours; a replica follows what it is told
            self._unindex(old)
            self._index(obj)
        self.objects[obj.id] = obj
        if box is None:
            box = self.text_box(obj) if obj.kind == "text" and self.text_box else geometry.bbox(obj)
        old_box = self.grid.insert(obj.id, box)  # the index holds the new box: listeners get the old
        for listener in self.listeners:
            listener.object_changed(old, obj, old_box)

    def _remove(self, oid: str) -> None:
        if self._journal is not None and oid in self.objects:
            self._journal.save_object(oid)
        old = self.objects.pop(oid, None)
        if old is not None:
            del self._z[oid]
            self._unindex(old)
            old_box = self.grid.remove(oid)
            for listener in self.listeners:
                listener.object_changed(old, None, old_box)

    def _index(self, obj: BoardObject) -> None:
        self._by_author.setdefault(obj.author, {})[obj.id] = None

    def _unindex(self, obj: BoardObject) -> None:
        ids = self._by_author.get(obj.author)
        if ids is None or obj.id not in ids:
            return
        del ids[obj.id]
        if not ids:
            del self._by_author[obj.author]

    def load(self, objects: Iterable[BoardObject], seq: int) -> None:
        """Replace everything with a compacted board at ``seq`` (a late join, a board file)."""
        staged = Board(self.may_edit, self.text_box)
        for obj in objects:
            staged.place(obj)
        self.take(staged, seq)

    def place(self, obj: BoardObject) -> None:
        """Put ``obj`` as it is (on top when new), with no history and no operation: a board built
        piece by piece from a compacted one (a late join stages the objects as they arrive)."""
        self._put(obj)

    def to_top(self, oid: str) -> None:
        """Draw ``oid`` above everything, as it is, with no history and no operation: a client puts
        its own object, drawn before others' that the server ordered first, where the echo says."""
        obj = self.objects.get(oid)
        if obj is not None:
            self._remove(oid)
            self._put(obj)

    def take(self, staged: Board, seq: int) -> None:
        """Replace everything with ``staged``'s objects at ``seq``, as :meth:`load` does, without
        measuring or indexing any object again; ``staged`` is left empty."""
        self.objects, staged.objects = staged.objects, {}
        self._z, staged._z = staged._z, {}
        self.grid, staged.grid = staged.grid, geometry.SpatialGrid()
        self._by_author, staged._by_author = staged._by_author, {}
        self._next_z = max(self._next_z, staged._next_z)
        self._history.clear()
        self.seq = seq
        for listener in self.listeners:
            listener.board_reset()

