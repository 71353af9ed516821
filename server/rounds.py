"""A room's drawing operations applied in rounds: every reader's input chunk that arrives while
another reader is applying is taken by that one in its next round, so a round applies the chunks of
several members under one hold of the room's lock, commits them in one SQLite transaction, queues
each member's echoes once (one write per member per round, by the thread that applied them) and
releases them only after the commit.

This is flat combining: a reader hands its chunk over (:meth:`Rounds.submit`) and, if nobody is
applying, applies rounds itself until nothing is waiting; otherwise it goes back to reading at once,
and waits for its chunk to be applied (:meth:`Rounds.settle`) only before anything else it does (a
chat line, a cursor, a refusal), so the frames of one connection keep the order they were sent in.
Before it, each reader took the room's lock, committed and wrote to every member for its own chunk:
at N=10, maximum rate, the readers waited for the room's lock about a third of the time (py-spy),
and each chunk cost a commit and a write per member.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pgboard_server import lockorder

from pgboard.protocol import OPERATIONS, Operation, encode

if TYPE_CHECKING:
    from pgboard_server.room import Room
    from pgboard_server.session import Session

# the last: set once applied, for a chunk handed over (None: the thread applying it is its reader's)
Chunk = tuple["Session", Sequence[Operation], Sequence[bytes], threading.Event | None]


class Rounds:
    """The chunks waiting for a room's next round, and whether a reader is applying rounds."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self._lock = lockorder.leaf("room rounds")
        self._waiting: list[Chunk] = []
        self._applying = False

    def submit(self, session: Session, ops: Sequence[Operation], raws: Sequence[bytes]) -> list[Session]:
        """Hand over ``session``'s chunk. Returns the members this thread queued echoes on (it
        applied rounds: it flushes them), or [] when the reader applying rounds took the chunk."""
        with self._lock:
            if self._applying:
                session.last_round = done = threading.Event()
                self._waiting.append((session, ops, raws, done))
                return []
            session.last_round = None
            self._waiting.append((session, ops, raws, None))
            self._applying = True
        queued: dict[Session, None] = {}
        try:
            while True:
                with self._lock:
                    chunks, self._waiting = self._waiting, []
                    if not chunks:
                        self._applying = False
                        break
                try:
                    queued.update(dict.fromkeys(apply_round(self.room, chunks)))
                finally:
                    for chunk in chunks:
                        if chunk[3] is not None:
                            chunk[3].set()
                if len(queued) and self._waiting:
                    for s in queued:  # others' echoes wait for no later round: out now
                        s.flush()
                    queued.clear()
        except BaseException:
            with self._lock:
                chunks, self._waiting, self._applying = self._waiting, [], False
            for chunk in chunks:
                if chunk[3] is not None:
                    chunk[3].set()  # nobody waits forever for a chunk a failure dropped
            raise
        return list(queued)

    @staticmethod
    def settle(session: Session) -> None:
        """Wait until ``session``'s last chunk is applied (its echoes and answers queued)."""
        done = session.last_round
        if done is not None:
            done.wait()
            session.last_round = None  # (its reader's thread, the only one that sets it)


def apply_round(room: Room, chunks: Sequence[Chunk]) -> list[Session]:
    """Apply the chunks' operations in order under one hold of the room's lock, commit their echoes in
    one transaction, then queue them: each echo to every member, each answer (an ack of a resend, a
    refusal) to its sender alone, in the order of ``ops``. Queued, not written: returns the members
    queued on, whom the caller flushes. Queueing happens under the lock, so every member gets the
    echoes in seq order whichever thread flushes them. ``raws``: the payloads the ``ops`` were decoded
    from, when known (their echoes are spliced from them: server/echo.py)."""
    with room.lock:
        # A connection its author's reconnect replaced (or one that left) applies nothing more: read
        # late by its reader thread, the operation would land behind the catch-up of the new
        # connection, which still has it to resend; a client that caught up on a compacted board
        # would then take its echo for the acknowledgement of something already drawn.
        live = [c for c in chunks if room.members.get(c[0].user) is c[0]]
        if not live:
            return []
        room.board.begin()  # a failed commit takes the round back in O(round): see Room._log
        try:
            replies = [[room._apply_one(session, op) for op in ops] for session, ops, _, _ in live]
            echoes: list[Operation] = [r for rs in replies for r in rs if isinstance(r, OPERATIONS)]
            raw_of = {  # raws may be empty (Room.apply: no payloads known): zip stops there
                r.seq: p
                for rs, c in zip(replies, live, strict=True)
                for r, p in zip(rs, c[2], strict=False)
                if isinstance(r, OPERATIONS)
            }
            logged = room._log(echoes, raw_of) if echoes else {}
        except BaseException:
            room.board.rollback()  # a failure of ours: what nobody saw is not kept either
            raise
        finally:
            room.board.end()
        parts: list[tuple[Session, list[bytes], list[bytes]]] = []
        for (session, _, _, _), rs in zip(live, replies, strict=True):
            everyone: list[bytes] = []  # the echoes, for the others
            mine: list[bytes] = []  # the echoes and the answers, for the sender, in the order sent
            for reply in rs:
                if isinstance(reply, OPERATIONS):
                    result = logged[reply.seq]
                    if isinstance(result, bytes):
                        everyone.append(result)
                        mine.append(result)
                        continue
                    reply = result
                mine.append(encode(reply))
            parts.append((session, everyone, mine))
        if any(everyone for _, everyone, _ in parts):
            members = list(room.members.values())
        else:
            members = list(dict.fromkeys(session for session, _, _ in parts))
        for s in members:
            frames = [f for session, everyone, mine in parts for f in (mine if s is session else everyone)]
            if frames:
                s.send_frames(frames, flush=False)
        return members
