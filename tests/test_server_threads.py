"""An idle connection holds no server thread: the writer thread runs only while there is something the
thread that queued it could not write at once (a catch-up, a full socket, a close) and ends after
WRITER_IDLE; a member silent for READER_IDLE is parked in the server's IdleWatch until input (or its
close) starts a reader again (server/idlewatch.py)."""

from __future__ import annotations

import select
import threading
import time

import pytest
from pgboard_server import session as session_module
from support import WAIT, RawClient, running_server

from pgboard.protocol import Add, BoardObject, Error, Ping, Pong, UserLeft


def writers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pgboard-write-") and t.is_alive()]


def test_an_idle_member_keeps_no_writer_thread_and_still_gets_every_echo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "WRITER_IDLE", 0.05, raising=False)
    with running_server() as server:
        a, b = RawClient(server.address), RawClient(server.address)
        for k, c in enumerate((a, b)):
            c.join(f"user{k}", "r")
            c.catch_up()  # written by a writer thread (a lazy catch-up), which then ends
        for s in server.sessions:
            if s.writer is not None:
                s.writer.join(WAIT)
        assert writers() == []
        reader_threads = {s.reader for s in server.sessions}
        assert len(reader_threads) == 2
        obj = BoardObject(id=a.obj_id("l"), kind="line", points=((1, 1), (5, 5)))
        a.send(Add(oid="a1", obj=obj))
        assert b.recv_until(Add).oid == "a1"  # type: ignore[attr-defined]  # written by a's reader
        assert a.recv_until(Add).oid == "a1"  # type: ignore[attr-defined]
        a.close()
        c = RawClient(server.address)  # a new joiner's catch-up starts a writer again
        c.join("user3", "r")
        _, frames, _ = c.catch_up()
        assert [f.obj.id for f in frames if hasattr(f, "obj")] == [obj.id]  # type: ignore[attr-defined]
        b.close()
        c.close()


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    """A bounded wait for the server's threads to reach a state (nothing to wait on from outside)."""
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT} s: {what}"
        threading.Event().wait(0.005)


def readers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pgboard-read-") and t.is_alive()]


@pytest.mark.skipif(not hasattr(select, "epoll"), reason="connections are parked where there is epoll")
def test_a_silent_member_is_parked_without_a_thread_and_wakes_for_input_and_for_its_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(session_module, "WRITER_IDLE", 0.05, raising=False)
    monkeypatch.setattr(session_module, "READER_IDLE_MS", 50, raising=False)
    with running_server() as server:
        a, b = RawClient(server.address), RawClient(server.address)
        for k, c in enumerate((a, b)):
            c.join(f"user{k}", "r")
            c.catch_up()
        wait_for(lambda: readers() == [] and writers() == [], "both connections without a thread")
        assert server.idle.count == 2  # main: two threads each, never parked
        obj = BoardObject(id=a.obj_id("l"), kind="line", points=((1, 1), (5, 5)))
        a.send(Add(oid="a1", obj=obj))  # a's input wakes a reader for it; b, parked, still gets the echo
        assert b.recv_until(Add).oid == "a1"  # type: ignore[attr-defined]
        assert a.recv_until(Add).oid == "a1"  # type: ignore[attr-defined]
        b.send(Ping(3))
        assert b.recv_until(Pong).n == 3  # type: ignore[attr-defined]
        wait_for(lambda: server.idle.count == 2, "both parked again")
        a.close()  # the end of a's stream wakes a reader, which sees it: b hears a left
        assert b.recv_until(UserLeft).nick == "user0"  # type: ignore[attr-defined]
        wait_for(lambda: server.idle.count == 1, "b parked again")
        session = next(s for s in server.sessions if s.nick == "user1")
        session.close("kicked", Error("kicked", "bye", fatal=True))  # a close reaches a parked member
        assert any(isinstance(m, Error) and m.code == "kicked" for m in b.wait_closed())
    assert readers() == [] and writers() == []
