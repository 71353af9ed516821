"""The ``snapshot`` frames of board catch-ups (pgboard/protocol_snapshot.py), encoded once per part.

Packing and compressing a 100,000-object board costs about a second of the server's CPU; late joiners
of a board that did not change get the same frames. The board is cut into parts in order
(``protocol_snapshot.chunks``), so a part whose objects are the very same objects as last time (they
are immutable: the same object, the same bytes) is sent from this cache; a board that grew changes
only its last parts. The cache holds the parts of the last catch-up only: at most one board's frames.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from pgboard.protocol import BoardObject
from pgboard.protocol_snapshot import chunks, encode_snapshots


class SnapshotFrames:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # writers of two joiners may encode at once
        self._parts: dict[tuple[str, int], tuple[Sequence[BoardObject], bytes]] = {}

    def frames(self, objects: Sequence[BoardObject]) -> Iterator[bytes]:
        """The frames of ``objects`` (a board snapshot), from the cache where the part is unchanged."""
        fresh: dict[tuple[str, int], tuple[Sequence[BoardObject], bytes]] = {}
        for part in chunks(objects):
            key = (part[0].id, len(part))
            with self._lock:
                hit = self._parts.get(key)
            if hit is not None and all(a is b for a, b in zip(hit[0], part, strict=True)):
                frame = hit[1]
            else:
                frame = next(encode_snapshots(part))
            fresh[key] = (part, frame)
            yield frame
        with self._lock:
            self._parts = fresh
