"""What one ``clear`` removes: the objects its author may edit, bottom first, as many as one echo lists.

A clear's echo lists the ids it removed (docs/PROTOCOL.md, "Operations"), and a frame holds at most
MAX_FRAME bytes: a board of some 3,900 objects with 64-character ids made every clear too large to
send, so each was refused and such a board could not be cleared at all. Now a clear removes the
objects its author may edit in drawing order, bottom first, until the next id would take the list
past MAX_CLEAR_ID_BYTES; the rest stays, and the next clear removes more (each clear is one step for
undo). It costs what it removes: the ids come lazily from the board's index by author
(``Board.iter_editable``), never listed whole. Shared by the client and the server; pure Python.
"""

from __future__ import annotations

from collections.abc import Iterable

from pgboard.protocol import MAX_FRAME, MAX_ID

# Bytes the ids of one clear's echo may take: a frame less what else the echo holds ("t", "oid",
# "seq", "author", "device", their keys and an empty "put": under 300 bytes) with room to spare.
MAX_CLEAR_ID_BYTES = MAX_FRAME - 4096
ID_OVERHEAD = 3  # an id's quotes and comma in the JSON list (an id needs no escape)


def clearable(ids: Iterable[str], budget: int = MAX_CLEAR_ID_BYTES) -> tuple[str, ...]:
    """The first of ``ids`` (drawing order) whose listing fits ``budget`` bytes; reads one id past them."""
    out: list[str] = []
    left = budget
    for oid in ids:
        left -= len(oid) + ID_OVERHEAD
        if left < 0:
            break
        out.append(oid)
    return tuple(out)


def fewest_per_clear(budget: int = MAX_CLEAR_ID_BYTES) -> int:
    """Objects one clear removes at least, whatever their ids (each at most MAX_ID characters)."""
    return budget // (MAX_ID + ID_OVERHEAD)
