"""Serving a room's history (the client's time-lapse): a page of its logged operations on request.

A ``history`` request is answered as a catch-up is, with the same budgets: paced like a join (the
connection's and its address's JOIN_RATE buckets: a page costs store reads, as a join's catch-up
does), decided under the room's lock (which seqs, which base, the log after the page's start pinned
against a compaction meanwhile: ``LogCompactor.pinned``), and produced lazily by the asker's own
writer thread, CATCHUP_CHUNK rows per store read, outside every lock and outside the send queue's
bound (docs/PROTOCOL.md, "History"). The frames are the stored payloads wrapped by string joins,
never decoded and encoded again.

When the log before the asked start was compacted away (or the start is 0), the page begins with the
snapshot's board (its seq is ``base``) and goes on with the operations after it. A compaction that
replaces that snapshot while it is being read ends the page ``moved``: the client asks again from 0.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pgboard.protocol import MAX_FRAME, encode, frame_of
from pgboard.protocol_history import History, HistoryEnd, HistoryError, HistoryPage

if TYPE_CHECKING:
    from pgboard_server.room import Room
    from pgboard_server.session import Session

log = logging.getLogger(__name__)

_OBJ_HEAD = '{"t":"obj"'  # how a snapshot row (an obj frame's payload) begins
_HOBJ_HEAD = '{"t":"history_obj"'
_HOP_HEAD = '{"t":"history_op","op":'


def serve(session: Session, room: Room, msg: History) -> None:
    """Answer ``msg`` from ``session``, a member of ``room`` (on its reader thread)."""
    retry = session.throttle.admit("join")
    if retry:
        session.send(HistoryError("rate_limited", "history pages are paced like joins", retry=retry))
        return
    with room.lock:
        head = room.board.seq
        if msg.start > head + 1:
            why = f"start {msg.start} is after the room's next seq {head + 1}"
            session.send(HistoryError("bad_range", why))
            return
        base = 0
        start = max(msg.start, 1)
        if msg.start == 0 or msg.start - 1 < room.compaction.floor:
            base = room.store.snapshot_info(room.name)[0]  # Room -> Store: the lock order allows it
            start = base + 1
        upto = min(head, start - 1 + msg.limit)
        frames = room.compaction.pinned(start - 1, _frames(room, start, base, head, upto))
    session.send_lazy(frames)


def _frames(room: Room, start: int, base: int, head: int, upto: int) -> Iterator[bytes]:
    """The page's frames (a generator whose ``finally`` unpins the log after ``start - 1``)."""
    store, end, skipped = room.store, start - 1, 0
    try:
        yield encode(HistoryPage(start=start, head=head, base=base))
        try:
            if base:
                if store.snapshot_info(room.name)[0] != base:
                    yield encode(HistoryEnd(end=end, moved=True))
                    return
                for payload in store.snapshot_objects(room.name, chunk=room.catchup_chunk):
                    if payload.startswith(_OBJ_HEAD):
                        yield frame_of(_HOBJ_HEAD + payload[len(_OBJ_HEAD) :])
                if store.snapshot_info(room.name)[0] != base:  # replaced while read: rows may be gone
                    yield encode(HistoryEnd(end=end, moved=True))
                    return
            for payload in store.ops(room.name, start - 1, upto, chunk=room.catchup_chunk):
                if len(payload) + len(_HOP_HEAD) + 1 > MAX_FRAME:
                    skipped += 1
                    continue
                yield frame_of(_HOP_HEAD + payload + "}")
            end = upto
        except sqlite3.Error as exc:
            log.error("room %r: a history page could not read the log: %s", room.name, exc)
            yield encode(HistoryError("store_failed", "the server could not read this room's log"))
            return
    finally:
        room.compaction.unpin(start - 1)
    yield encode(HistoryEnd(end=end, skipped=skipped))
