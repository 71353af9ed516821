"""A room applies its readers' chunks in rounds (server/rounds.py): the chunks that arrive while one
reader is applying are applied together by it, in one commit, and every member gets every echo in
seq order, the senders their own with the others'."""

from __future__ import annotations

import threading
import time

from support import WAIT, RawClient, running_server

from pgboard.protocol import Add, BoardObject, Extend


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    """A bounded wait for another thread's state (no event to wait on: the server's readers)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        threading.Event().wait(0.001)


def test_chunks_that_wait_for_a_round_are_committed_together_and_echoed_in_order() -> None:
    with running_server() as server:
        clients = [RawClient(server.address) for _ in range(3)]
        for k, c in enumerate(clients):
            c.join(f"user{k}", "r")
            c.catch_up()
        room = server.rooms.get("r")
        stroke = BoardObject(id=clients[0].obj_id("s"), kind="pencil", points=((1, 1),))
        clients[0].send(Add(oid="a0", obj=stroke))
        assert clients[0].recv_until(Add).seq == 1  # type: ignore[attr-defined]
        for c in clients[1:]:
            c.recv_until(Add)
        commits = server.metrics.commits
        with room.lock:  # the next round waits here, and the chunks that come meanwhile wait for it
            clients[0].send(Extend(oid="e0", id=stroke.id, points=((2, 2),)))
            wait_for(lambda: room.rounds._applying, "the first reader applying its round")
            # one after the other: two sockets have no order between them
            for k, c in enumerate(clients[1:], 1):
                c.send(Add(oid=f"a{k}", obj=BoardObject(id=c.obj_id("s"), kind="pencil", points=((k, k),))))
                wait_for(lambda k=k: len(room.rounds._waiting) == k, f"chunk a{k} waiting for a round")
        seen = []
        for c in clients:
            echoes = [c.recv_until((Add, Extend)) for _ in range(3)]
            seen.append([(m.oid, m.seq) for m in echoes])  # type: ignore[attr-defined]
        assert seen[0] == seen[1] == seen[2] == [("e0", 2), ("a1", 3), ("a2", 4)]
        assert server.metrics.commits - commits == 2  # the waiting chunks in one commit
        assert server.metrics.operations >= 4
        for c in clients:
            c.close()
