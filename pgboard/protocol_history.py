"""The wire messages of a room's history (the time-lapse): a page of the logged operations on request.

A member asks ``history`` for the operations from seq ``start`` on, at most ``limit`` of them; the
server answers ``history_page`` (where the page starts, the compacted base it replays from, the room's
seq now), then the base board as ``history_obj`` frames when it sends one, then one ``history_op`` per
logged operation (the echo as it was broadcast, wrapped so no client applies it to its live board),
then ``history_end``. A bad request is answered ``history_error`` with a typed ``code``. Registered in
protocol.py's table by the import at its end (docs/PROTOCOL.md, "History").
"""

from __future__ import annotations

from typing import Any

from pgboard import wire_fields
from pgboard.protocol import MAX_RETRY, MAX_TEXT, OPERATIONS, BoardObject, Message, Operation, message

# Operations one history request may ask for (and one page carries): a catch-up reads the log
# CATCHUP_CHUNK (2,000) rows per store read; a page is a few such reads, so a client replaying a long
# log asks many pages, each paced like a join (the server's JOIN_RATE) and produced by the asker's own
# writer thread, outside the room's lock, as a catch-up is.
MAX_HISTORY_PAGE = 5000
HISTORY_ERRORS = (
    "bad_range",  # start is after the room's next seq: there is nothing there yet
    "rate_limited",  # pages asked faster than the server's JOIN_RATE: ask again after ``retry``
    "store_failed",  # the server could not read the log
)
_seq = wire_fields.int_in(0, 2**53)
_OP_TYPES = {cls.TYPE: cls for cls in OPERATIONS}


def _operation(v: Any) -> Operation:
    if type(v) is not dict:
        raise wire_fields.Invalid("expected an operation (a JSON object)")
    kind = v.get("t")
    cls = _OP_TYPES.get(kind) if type(kind) is str else None
    if cls is None:
        raise wire_fields.Invalid(f"expected an operation type ({', '.join(_OP_TYPES)})")
    op: Operation = cls.from_wire(v)
    return op


@message("history")
class History(Message):
    """Client -> server: the logged operations with seq >= ``start`` (0: from the first the log can
    replay, with its base board), at most ``limit`` of them."""

    start: int = wire_fields.spec(_seq, 0)
    limit: int = wire_fields.spec(wire_fields.int_in(1, MAX_HISTORY_PAGE), MAX_HISTORY_PAGE)


@message("history_page")
class HistoryPage(Message):
    """Server -> client: a page begins. ``start``: the seq of its first operation; ``base``: when not
    0, the log before ``base`` was compacted away and the board at seq ``base`` follows first (as
    ``history_obj`` frames): replay starts from it, not from the empty board;
    ``head``: the room's seq when the page was read."""

    start: int = wire_fields.spec(_seq)
    head: int = wire_fields.spec(_seq)
    base: int = wire_fields.spec(_seq, 0)


@message("history_obj")
class HistoryObj(Message):
    """Server -> client: one object of the base board of a page (bottom first)."""

    obj: BoardObject = wire_fields.spec(BoardObject.from_wire)


@message("history_op")
class HistoryOp(Message):
    """Server -> client: one logged operation (its echo, seq and author filled in)."""

    op: Operation = wire_fields.spec(_operation)

    def to_wire(self) -> dict[str, Any]:
        return {"op": {"t": self.op.TYPE, **self.op.to_wire()}}


@message("history_end")
class HistoryEnd(Message):
    """Server -> client: the page ended at seq ``end`` (its last operation; ``start - 1`` when it had
    none). ``moved``: the log was compacted while the page was read and the base it sent is gone: ask
    again from 0. ``skipped``: operations left out because wrapped they would pass MAX_FRAME (an
    echo within a few bytes of it); a replay goes on without them."""

    end: int = wire_fields.spec(_seq)
    moved: bool = wire_fields.spec(wire_fields.boolean, False)
    skipped: int = wire_fields.spec(wire_fields.int_in(0, MAX_HISTORY_PAGE), 0)


@message("history_error")
class HistoryError(Message):
    """Server -> client: a ``history`` request refused; nothing follows."""

    code: str = wire_fields.spec(wire_fields.choice(HISTORY_ERRORS))
    detail: str = wire_fields.spec(wire_fields.text(MAX_TEXT), "")
    retry: float = wire_fields.spec(wire_fields.number_in(0, MAX_RETRY), 0)


HISTORY_REPLIES = (HistoryPage, HistoryObj, HistoryOp, HistoryEnd, HistoryError)
