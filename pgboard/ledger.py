"""The client's one ledger of unconfirmed operations, with the flow control over it (sans-IO).

Every operation the user makes stays here, in the order made, until the server confirms it (its echo,
or an ``ack`` for one it had applied already) or refuses it; each entry keeps its frame (a resend is
byte for byte the same, with the same oid) and what taking it back needs (``Entry.before``). Only a
window of them is in flight on a link at once (``frames(window)``); what is not goes when a slot frees.
The session (pgboard/client_session.py) decides when the link may send and when all goes again.
"""

from __future__ import annotations

from collections import deque

from pgboard.protocol import OPERATIONS, Add, BoardObject, LocalProtocolError, Message, encode
from pgboard.session_types import Entry, Operation


class Ledger:
    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}  # oid -> entry, in the order submitted
        self._unsent: deque[str] = deque()  # oids to send (or send again), in order
        self._in_flight: set[str] = set()  # oids sent on this link, not yet confirmed or refused

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, oid: str) -> bool:
        return oid in self.entries

    def add(self, op: Message, drawn: bool, before: BoardObject | None) -> None:
        if not isinstance(op, OPERATIONS):
            raise LocalProtocolError(f"submit takes a drawing operation, not {op!r}")
        if op.oid in self.entries:
            raise LocalProtocolError(f"operation id {op.oid!r} is already waiting for the server")
        self.entries[op.oid] = Entry(op, encode(op), drawn, before)  # type: ignore[arg-type]
        self._unsent.append(op.oid)

    def pop(self, oid: str) -> Entry | None:
        """Confirmed or refused: it leaves, and frees its slot of the window."""
        self._in_flight.discard(oid)
        return self.entries.pop(oid, None)

    def put_back(self, oid: str) -> None:
        """Refused for now (rate_limited): kept, no longer counted in flight."""
        self._in_flight.discard(oid)

    def link_lost(self) -> None:
        self._in_flight.clear()

    def send_all_again(self) -> None:
        """A new link caught up: every entry goes again, in order (the server acks what it has)."""
        self._in_flight.clear()
        self._unsent = deque(self.entries)

    def send_held_again(self) -> None:
        """A hold is over: what is not in flight goes again, in order."""
        self._unsent = deque(oid for oid in self.entries if oid not in self._in_flight)

    def frames(self, window: int) -> bytes:
        """The next frames to send, while fewer than ``window`` are in flight."""
        out = bytearray()
        while self._unsent and len(self._in_flight) < window:
            oid = self._unsent.popleft()
            entry = self.entries.get(oid)
            if entry is not None and oid not in self._in_flight:
                self._in_flight.add(oid)
                out += entry.frame
        return bytes(out)

    @property
    def ops(self) -> list[Operation]:
        return [e.op for e in self.entries.values()]

    def drawn(self) -> tuple[Operation, ...]:
        return tuple(e.op for e in self.entries.values() if e.drawn)

    def drawn_object_ids(self) -> set[str]:
        """Object ids of my drawn adds not confirmed yet."""
        return {e.op.obj.id for e in self.entries.values() if isinstance(e.op, Add) and e.drawn}
