"""Operations a client sends together (one TCP segment, one input chunk) are applied together: one
commit to the store for the lot, and every answer still in the order the operations were sent."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from support import RawClient, running_server

from pgboard.protocol import Ack, Add, BoardObject, Codec, Delete, Error, Message, Pong


def line(oid: str, x: int) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 5, 20)))


def one_segment(*msgs: Message) -> bytes:
    return b"".join(Codec.send(m) for m in msgs)


def answers(c: RawClient, count: int) -> list[Message]:
    """The next ``count`` add echoes, acks, errors and pongs ``c`` receives, in order."""
    got: list[Message] = []
    while len(got) < count:
        got.append(c.recv_until((Add, Ack, Error, Pong)))
    return got


def oids(msgs: Sequence[Message]) -> list[tuple[str, str]]:
    return [(type(m).__name__, getattr(m, "oid", "")) for m in msgs]


def test_a_chunk_of_operations_is_one_commit_and_its_answers_keep_their_order(tmp_path) -> None:
    with (
        running_server(tmp_path / "b.sqlite3") as server,
        RawClient(server.address) as a,
        RawClient(server.address) as b,
    ):
        b.join("bob")
        b.catch_up()
        a.join("alice")
        a.catch_up()
        commits: list[int] = []
        real = server.store.append_ops

        def counted(room: str, echoes: Sequence[tuple[int, str]]) -> None:
            commits.append(len(echoes))
            real(room, echoes)

        server.store.append_ops = counted  # type: ignore[method-assign]
        adds = [Add(f"a{i}", line(a.obj_id(f"l{i}"), i)) for i in range(30)]
        sent = [
            *adds[:10],
            Delete("d1", "nothing-here"),  # refused in the middle of the chunk
            *adds[10:20],
            adds[3],  # a resend: acknowledged with the seq it got a moment ago
            *adds[20:],
        ]
        a.send_bytes(one_segment(*sent))
        mine = answers(a, len(sent))
        assert oids(mine) == oids(
            [*adds[:10], Error("x", "x", oid="d1"), *adds[10:20], Ack("a3", 0), *adds[20:]]
        )
        echoes = [m for m in mine if isinstance(m, Add)]
        assert [e.seq for e in echoes] == list(range(1, 31))
        ack = next(m for m in mine if isinstance(m, Ack))
        assert ack.seq == echoes[3].seq
        theirs = answers(b, 30)
        assert theirs == echoes  # bob sees the same echoes, in the same order, and no answer meant for alice
        assert sum(commits) == 30 and len(commits) < 30, commits  # read together: committed together


def test_when_a_chunk_cannot_be_saved_all_of_it_is_refused_and_the_board_forgets_it(tmp_path) -> None:
    with running_server(tmp_path / "b.sqlite3") as server, RawClient(server.address) as a:
        a.join("alice", client="alice-secret")
        a.catch_up()
        a.send(Add("first", line(a.obj_id("keep"), 1)))
        kept = a.recv_until(Add)
        store = server.store
        real = store.append_ops

        def disk_full(room: str, echoes: object) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        store.append_ops = disk_full  # type: ignore[method-assign]
        adds = [Add(f"a{i}", line(a.obj_id(f"l{i}"), i)) for i in range(5)]
        a.send_bytes(one_segment(*adds))
        refused = answers(a, 5)
        assert all(isinstance(m, Error) and m.code == "store_failed" for m in refused)
        assert [m.oid for m in refused] == [op.oid for op in adds]  # type: ignore[attr-defined]
        store.append_ops = real  # type: ignore[method-assign]
        with RawClient(server.address) as late:
            late.join("bob")
            _, objs, done = late.catch_up()
            assert [m.obj.id for m in objs] == [a.obj_id("keep")] and done.seq == kept.seq  # none of the five
        a.send_bytes(one_segment(*adds))  # the retries are new operations, not duplicates
        assert [e.seq for e in answers(a, 5)] == [kept.seq + 1 + i for i in range(5)]  # no hole
