"""One room's log compaction: a snapshot of its board at a seq, and the log after it.

When a room's log (the bytes after its snapshot) passes COMPACT_FACTOR times its board's bytes (and
COMPACT_MIN_BYTES), the reader whose input made it so writes a snapshot of the board and deletes the
log before it, after that input's echoes were sent (Session._handle_input): the cost lands on the
connection that caused it, never inside a room's lock. Only the list of the board's objects is taken
under the lock; they are frozen, so they are encoded and written after, in chunks, while the room goes
on. A restart replays the snapshot and the log's tail. What it gives up: undo history older than the
snapshot does not survive a restart (the board does; undo works for what is in the tail).

The log after ``floor`` is what an ``ops`` catch-up can use: a joiner whose ``since`` is older gets the
board. An ops catch-up that is still being read pins the log after its ``since``, so a compaction
meanwhile never deletes a row it has yet to send.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pgboard_server import lockorder
from pgboard_server.store_damage import RoomDamaged, decoded

from pgboard.protocol import Obj, encode_obj, payload_of

if TYPE_CHECKING:
    from pgboard_server.room import Room

log = logging.getLogger(__name__)

# Operations before a snapshot whose author and oid it keeps: after a restart, a client's resend of an
# operation logged just before the snapshot is still recognised (answered with ack, not applied twice).
# A client has at most 100 operations in flight; 2,000 seqs are 100 each for 20 drawing at once.
RESEND_WINDOW = 2000


class LogCompactor:
    """The snapshot side of one room's log (see the module's docstring)."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.floor = 0  # the log's rows up to this seq are deleted: an older since gets the board
        self.resent: dict[tuple[str, str], int] = {}  # (device, oid) -> seq, from before the snapshot
        self._pins: dict[int, int] = {}  # since -> ops catch-ups still reading the log after it
        # held for a dict operation only: a catch-up's frames may be dropped (and unpin) in any thread,
        # holding any other room's lock
        self._lock = lockorder.leaf("compaction")
        self._running = False
        self._failed_at = -1  # the log's bytes when a compaction last failed (-1: it did not)

    def load(self) -> int:
        """Put the room's snapshot on its board (before the log's tail is replayed); returns its seq
        (0: none)."""
        room, store = self.room, self.room.store
        snap, self.floor = store.snapshot_info(room.name)
        store.log_bytes(room.name)  # counted (a scan of the log) now, at start, not on a live input
        self.resent = {(device, oid): seq for device, oid, seq in store.resent(room.name)}
        if snap:
            objects = []
            for frame in store.snapshot_objects(room.name, chunk=room.catchup_chunk):
                msg = decoded(room.name, frame, "snapshot")  # or the room is damaged (store_damage)
                if not isinstance(msg, Obj):
                    raise RoomDamaged(room.name, "its snapshot holds a row that is not an object")
                objects.append(msg.obj)
            room.board.load(objects, snap)
        return snap

    def pinned(self, since: int, frames: Iterator[bytes]) -> Iterator[bytes]:
        """``frames`` of an ops catch-up from ``since`` (a generator that calls :meth:`unpin` in a
        ``finally``), with the log after ``since`` kept until they end (read or dropped)."""
        with self._lock:
            self._pins[since] = self._pins.get(since, 0) + 1
        first = next(frames)  # started: its ``finally`` now runs however the frames end
        return itertools.chain((first,), frames)

    def unpin(self, since: int) -> None:
        with self._lock:
            left = self._pins.pop(since, 1) - 1
            if left:
                self._pins[since] = left

    def due(self) -> bool:
        room, b = self.room, self.room.budget
        limit = b.compact_factor * max(room.meter.bytes, b.compact_min_bytes)
        size = room.store.log_bytes(room.name)
        if self._failed_at >= 0 and size < self._failed_at + b.compact_min_bytes:
            return False  # a failing store (a full disk) is tried again after more log, not every input
        return not self._running and size > limit

    def compact(self) -> int:
        """Write a snapshot of the board and delete the log before it (but the rows an unfinished ops
        catch-up still reads). Call it outside the room's lock. Returns the log rows deleted (0 when
        another thread is compacting this room, or the store failed: the log then stays whole, and
        the next try waits for COMPACT_MIN_BYTES more of it)."""
        room = self.room
        with room.lock:
            if self._running:
                return 0
            self._running = True
            objects, seq = room.board.snapshot(), room.board.seq
        try:
            cache = room.packed_frames()  # what board catch-ups encoded already
            frames = (
                hit[1] if (hit := cache.get(o.id)) is not None and hit[0] is o else encode_obj(o, packed=True)
                for o in objects
            )
            payloads = (payload_of(frame) for frame in frames)
            room.store.stage_snapshot(room.name, seq, payloads)
            with room.lock, self._lock:  # from now on a since before the floor gets the board
                self.floor = floor = min([seq, *self._pins])
            deleted = room.store.finish_snapshot(room.name, seq, floor, RESEND_WINDOW)
        except sqlite3.Error as exc:
            log.error("room %r: could not compact the log: %s", room.name, exc)
            self._failed_at = room.store.log_bytes(room.name)
            return 0
        except Exception:  # a bug: the reader that ran it must not die of it, nor the log be harmed
            log.exception("room %r: compaction failed", room.name)
            self._failed_at = room.store.log_bytes(room.name)
            return 0
        finally:
            with room.lock:
                self._running = False
        self._failed_at = -1
        log.info(
            "room %r: log compacted at seq %d (%d objects, %d rows deleted)",
            room.name,
            seq,
            len(objects),
            deleted,
        )
        return deleted
