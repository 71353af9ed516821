"""An idle connection holds one server thread, its reader: the writer thread runs only while there is
something the thread that queued it could not write at once (a catch-up, a full socket, a close),
and ends when it has had nothing to do for WRITER_IDLE."""

from __future__ import annotations

import threading

import pytest
from pgboard_server import session as session_module
from support import WAIT, RawClient, running_server

from pgboard.protocol import Add, BoardObject


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
