"""Rights over history on the pure board (pgboard/board_undo.py, pgboard/history.py): what a replica
does with a step the authority refused and forgot, the purge's oid and its bound, and a purge taken
back by a rollback. The same rules through a real server: tests/test_server_history_rights.py."""

from __future__ import annotations

import pytest

from pgboard import history as history_module
from pgboard.board import Board, BoardError
from pgboard.history import purge_oid, purged_by
from pgboard.protocol import Add, BoardObject, Clear, Delete, Move, Redo, Undo, decode_frame, encode


def line(oid: str, x: int = 10) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


class Rights:
    """A policy that can change: ``grants`` owner -> authors they allow."""

    def __init__(self) -> None:
        self.grants: dict[str, set[str]] = {}

    def may_edit(self, user: str, obj: BoardObject) -> bool:
        return obj.author == user or user in self.grants.get(obj.author, set())


class Pair:
    """An authority under ``rights`` and a replica fed its echoes through the wire format."""

    def __init__(self) -> None:
        self.rights = Rights()
        self.server = Board(may_edit=self.rights.may_edit)
        self.replica = Board()

    def do(self, author: str, op: object) -> object:
        echo = self.server.apply(op, author)  # type: ignore[arg-type]
        self.replica.apply_echo(decode_frame(encode(echo)[:-2]))
        return echo

    def purge(self, author: str) -> None:
        ids = self.server.ids_of(author)
        echo = Clear(purge_oid(author, "0badf00d"), removed=ids, seq=self.server.seq + 1, author="op")
        self.server.apply_echo(echo)
        self.replica.apply_echo(decode_frame(encode(echo)[:-2]))


def test_a_replica_drops_the_step_the_authority_refused_and_forgot_when_a_later_echo_names_one_below() -> (
    None
):
    p = Pair()
    p.do("alice", Add("a1", line("a:1")))
    p.do("bob", Add("b1", line("b:1", 300)))
    p.rights.grants["alice"] = {"bob"}
    p.do("bob", Move("b2", "a:1", 0, 50))
    p.rights.grants.clear()  # alice denies bob
    with pytest.raises(BoardError, match="not_allowed") as refused:
        p.do("bob", Undo("b3"))
    assert "a:1" in str(refused.value)
    assert p.server.history_bytes("bob") < p.replica.history_bytes("bob")  # the replica never heard
    undo = p.do("bob", Undo("b4"))
    assert undo.target == 2 and undo.removed == ("b:1",)  # type: ignore[attr-defined]
    assert p.server.history_bytes() == p.replica.history_bytes()  # the replica dropped it too
    assert [o.id for o in p.do("bob", Redo("b5")).put] == ["b:1"]  # type: ignore[attr-defined]
    assert p.server.history_bytes() == p.replica.history_bytes()
    assert p.do("bob", Undo("b6")).target == 2  # type: ignore[attr-defined]
    assert p.do("bob", Undo("b7")).target == 0  # type: ignore[attr-defined]


def test_a_clients_clear_cannot_pass_for_a_purge() -> None:
    board = Board()
    board.apply(Add("a1", line("a:1")), "mallory")
    with pytest.raises(BoardError, match="bad_field"):
        board.apply(Clear(purge_oid("alice", "12345678")), "mallory")
    assert board.get("a:1") is not None and board.seq == 1
    assert purged_by(purge_oid("0123456789abcdef", "0badf00d")) == "0123456789abcdef"
    assert purged_by("purge") == "" and purged_by("k.1") == ""


def test_purges_past_the_bound_forget_every_history_and_stay_final(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(history_module, "MAX_PURGES", 3)
    p = Pair()
    p.do("v0", Add("x", line("v0:1")))
    p.do("v0", Delete("y", "v0:1"))  # v0's history keeps the line
    p.do("alice", Add("a", line("a:1", 300)))
    for i in range(4):
        p.purge(f"v{i}")
    for board in (p.server, p.replica):
        assert len(board._history.purged) <= 3  # noqa: SLF001
        assert board.history_bytes() == 0  # everyone's history went: the purges stay final
    assert p.do("v0", Undo("z")).target == 0  # type: ignore[attr-defined]
    assert p.server.get("v0:1") is None


def test_a_purge_that_could_not_be_stored_is_taken_back_history_and_all() -> None:
    p = Pair()
    p.do("bob", Add("b1", line("b:1")))
    p.do("bob", Add("b2", line("b:2", 300)))
    p.do("bob", Delete("b3", "b:2"))
    before = p.server.history_bytes("bob")
    p.server.begin()
    p.server.apply_echo(
        Clear(purge_oid("bob", "0badf00d"), removed=("b:1",), seq=p.server.seq + 1, author="op")
    )
    assert p.server.get("b:1") is None and p.server.history_bytes("bob") == 0
    p.server.rollback()
    assert p.server.get("b:1") is not None and p.server.history_bytes("bob") == before
    assert p.server._history.purged == {}  # noqa: SLF001
    assert [o.id for o in p.server.apply(Undo("b4"), "bob").put] == ["b:2"]  # type: ignore[attr-defined]


def test_a_refused_undo_in_a_chunk_the_store_refused_is_taken_back_with_it() -> None:
    """The step a refused undo forgets comes back when its chunk is rolled back (a full disk): the
    board equals its log again, and the same undo is refused the same way."""
    p = Pair()
    p.do("alice", Add("a1", line("a:1")))
    p.rights.grants["alice"] = {"bob"}
    p.do("bob", Delete("b1", "a:1"))
    p.rights.grants.clear()
    before = p.server.history_bytes("bob")
    p.server.begin()
    with pytest.raises(BoardError, match="not_allowed"):
        p.server.apply(Undo("b2"), "bob")
    assert p.server.history_bytes("bob") == 0
    p.server.rollback()
    assert p.server.history_bytes("bob") == before
    with pytest.raises(BoardError, match="not_allowed"):
        p.server.apply(Undo("b3"), "bob")
    assert p.server.get("a:1") is None
