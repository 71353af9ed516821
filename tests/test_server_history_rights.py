"""Rights hold over history, through a real server: an undo or redo does only what its author may do
today (a /deny, a /deop), and a /purge is final (nothing the purged user drew before it comes back
through anyone's undo or redo, theirs included), across a restart too. docs/PROTOCOL.md, "Undo and
rights"."""

from __future__ import annotations

from pathlib import Path

import pytest
from pgboard_server.server import BoardServer
from support import RawClient, running_server
from test_server_rights import clients, draw, echo_of, line, member, obj_id, settle

from pgboard.protocol import Add, Clear, Delete, Error, Message, Move, Notice, Obj, Redo, RoomState, Say, Undo

pytestmark = pytest.mark.reliability


def answer(c: RawClient, oid: str) -> Message:
    """The echo of ``c``'s operation ``oid``, or its refusal."""
    return c.recv_until(lambda m: getattr(m, "oid", None) == oid and not isinstance(m, (Notice, RoomState)))


def refusal(c: RawClient, oid: str) -> Error:
    got = answer(c, oid)
    assert isinstance(got, Error), f"expected a refusal of {oid}, got {got}"
    assert got.code == "not_allowed" and not got.fatal
    return got


def board_of(server: BoardServer) -> set[str]:
    """The ids on the board, as a member joining now is sent them."""
    late = member(server, "latecomer")
    try:
        return {m.obj.id for m in late.seen if isinstance(m, Obj)}
    finally:
        late.close()


def rights_changed(c: RawClient) -> None:
    c.recv_until(RoomState)


def test_after_deny_the_former_grantees_redo_does_not_erase_the_owners_work() -> None:
    """The issue's scenario: after /allow bob, bob clears and undoes; after /deny bob, his redo would
    erase alice's work. It is refused, naming its oid and one of her objects, and forgotten."""
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        mine = {obj_id("alice-1"), obj_id("alice-2")}
        draw(a, "a1", line(obj_id("alice-1")))
        draw(a, "a2", line(obj_id("alice-2"), 100))
        a.send(Say("/allow bob"))
        rights_changed(b)
        b.send(Clear("b1"))
        assert set(echo_of(b, "b1").removed) == mine
        b.send(Undo("b2"))
        assert {o.id for o in answer(b, "b2").put} == mine  # type: ignore[attr-defined]
        a.send(Say("/deny bob"))
        rights_changed(b)
        b.send(Redo("b3"))
        err = refusal(b, "b3")
        assert err.oid == "b3" and any(i in err.detail for i in mine)
        assert not any(isinstance(m, Redo) for m in settle(a))  # alice saw nothing erased
        assert board_of(server) == mine
        b.send(Redo("b4"))  # the refused step is forgotten: nothing is left to redo
        assert answer(b, "b4").target == 0  # type: ignore[attr-defined]


def test_after_deny_an_undo_of_a_mixed_step_puts_back_only_what_its_author_may_still_edit() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        draw(a, "a1", line(obj_id("alice-1")))
        draw(b, "b0", line(obj_id("bob-1"), 200))
        a.send(Say("/allow bob"))
        rights_changed(b)
        b.send(Clear("b1"))
        assert set(echo_of(b, "b1").removed) == {obj_id("alice-1"), obj_id("bob-1")}
        a.send(Say("/deny bob"))
        rights_changed(b)
        b.send(Undo("b2"))
        undo = answer(b, "b2")
        assert isinstance(undo, Undo) and [o.id for o in undo.put] == [obj_id("bob-1")]
        assert board_of(server) == {obj_id("bob-1")}
        b.send(Redo("b3"))  # his redo clears his own again, as a clear of his would today
        redo = answer(b, "b3")
        assert isinstance(redo, Redo) and redo.removed == (obj_id("bob-1"),)
        # and bob's move of alice's object cannot be undone, nor can it stop him undoing what is his
        a.send(Say("/allow bob"))
        rights_changed(b)
        draw(a, "a3", line(obj_id("alice-2"), 300))
        draw(b, "b4", line(obj_id("bob-2"), 400))
        b.send(Move("b5", obj_id("alice-2"), 0, 100))
        assert isinstance(answer(b, "b5"), Move)
        a.send(Say("/deny bob"))
        rights_changed(b)
        b.send(Undo("b6"))
        assert obj_id("alice-2") in refusal(b, "b6").detail
        b.send(Undo("b7"))
        assert answer(b, "b7").removed == (obj_id("bob-2"),)  # type: ignore[attr-defined]
        assert a.recv_until(lambda m: isinstance(m, Undo) and m.oid == "b7")


def test_a_deopped_operators_redo_does_not_erase_the_whole_board() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        draw(a, "a1", line(obj_id("alice-1")))
        draw(c, "c1", line(obj_id("carol-1"), 100))
        a.send(Say("/op bob"))
        rights_changed(b)
        b.send(Clear("b1"))
        assert set(echo_of(b, "b1").removed) == {obj_id("alice-1"), obj_id("carol-1")}
        b.send(Undo("b2"))
        answer(b, "b2")
        a.send(Say("/deop bob"))
        rights_changed(b)
        b.send(Redo("b3"))
        refusal(b, "b3")
        assert board_of(server) == {obj_id("alice-1"), obj_id("carol-1")}


def test_a_clear_by_an_operator_since_deopped_is_not_undone_by_them() -> None:
    """The hostile neighbour: an operator clears, is deopped, and undoes (or redoes after that). An
    undo of a step is checked like its redo: another's objects need today's right."""
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        draw(c, "c1", line(obj_id("carol-1"), 100))
        draw(b, "b0", line(obj_id("bob-1"), 200))
        a.send(Say("/op bob"))
        rights_changed(b)
        b.send(Clear("b1"))
        echo_of(b, "b1")
        a.send(Say("/deop bob"))
        rights_changed(b)
        b.send(Undo("b2"))
        undo = answer(b, "b2")
        assert isinstance(undo, Undo) and [o.id for o in undo.put] == [obj_id("bob-1")]
        b.send(Redo("b3"))
        assert answer(b, "b3").removed == (obj_id("bob-1"),)  # type: ignore[attr-defined]
        assert board_of(server) == set()
        draw(c, "c2", line(obj_id("carol-2"), 300))
        c.send(Undo("c3"))  # carol's own history is hers as before
        assert answer(c, "c3").removed == (obj_id("carol-2"),)  # type: ignore[attr-defined]


def vandal_then_purge(a: RawClient, b: RawClient) -> None:
    """bob draws two lines, erases one (his history keeps it), moves the other; alice purges him."""
    draw(a, "a1", line(obj_id("alice-1")))
    draw(b, "b1", line(obj_id("bob-1"), 100))
    draw(b, "b2", line(obj_id("bob-2"), 200))
    b.send(Delete("b3", obj_id("bob-2")))
    answer(b, "b3")
    b.send(Move("b4", obj_id("bob-1"), 0, 100))
    answer(b, "b4")
    a.send(Say("/purge bob"))
    purge = b.recv_until(Clear)
    assert purge.removed == (obj_id("bob-1"),)


def test_a_purge_is_final_nothing_the_user_drew_comes_back_through_anyones_undo_or_redo() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        vandal_then_purge(a, b)
        bob = b.welcome.user
        for op in [Undo(f"u{i}") for i in range(4)] + [Redo(f"r{i}") for i in range(4)]:
            b.send(op)  # the vandal undoes the move, the delete, the adds, then redoes them all
            got = answer(b, op.oid)
            assert not any(o.author == bob for o in got.put), got  # type: ignore[attr-defined]
        a.send(Undo("a2"))  # the operator's undo: the purge is no step of hers, her line goes
        assert answer(a, "a2").removed == (obj_id("alice-1"),)  # type: ignore[attr-defined]
        a.send(Redo("a3"))
        answer(a, "a3")
        assert board_of(server) == {obj_id("alice-1")}
        draw(b, "b5", line(obj_id("bob-3"), 300))  # what bob draws after the purge is his as before
        b.send(Undo("b6"))
        assert answer(b, "b6").removed == (obj_id("bob-3"),)  # type: ignore[attr-defined]
        b.send(Redo("b7"))
        assert [o.id for o in answer(b, "b7").put] == [obj_id("bob-3")]  # type: ignore[attr-defined]


def test_a_purge_is_final_after_a_restart_too(tmp_path: Path) -> None:
    db = tmp_path / "board.db"
    with running_server(db) as server, clients(server, "alice", "bob") as (a, b):
        vandal_then_purge(a, b)
    with running_server(db) as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        draw(c, "c1", line(obj_id("carol-1"), 300))
        c.send(Delete("c2", obj_id("carol-1")))
        answer(c, "c2")
        for tag, who in (("b", b), ("a", a)):
            for i in range(3):  # oids of one's own: alice also gets bob's echoes, which answer() would take
                who.send(Undo(f"u{tag}{i}"))
                answer(who, f"u{tag}{i}")
        assert board_of(server) == set()  # alice's line went by her undo; bob's never came back


def test_an_empty_purge_still_makes_the_users_history_final() -> None:
    """Nothing of bob's is on the board when he is purged, but his history holds a deleted line."""
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        draw(b, "b1", line(obj_id("bob-1"), 100))
        b.send(Delete("b2", obj_id("bob-1")))
        answer(b, "b2")
        a.send(Say("/purge bob"))
        assert "Nothing bob drew" in a.recv_until(Notice).text
        b.send(Undo("b3"))
        answer(b, "b3")
        assert board_of(server) == set()


def test_a_purge_while_the_user_is_offline_holds_against_what_their_outbox_sends_on_return() -> None:
    """bob draws and erases, goes offline with operations still to send, is purged meanwhile, and
    comes back: the resend of what was applied is acknowledged, not drawn again; his queued undo
    brings nothing back; a queued move finds nothing; what he drew offline is new work and lands."""
    with running_server() as server, clients(server, "alice") as (a,):
        b = member(server, "bob")
        draw(b, "b1", line(obj_id("bob-1"), 100))
        draw(b, "b2", line(obj_id("bob-2"), 200))
        b.send(Delete("b3", obj_id("bob-2")))
        answer(b, "b3")
        b.close()
        a.send(Say("/purge bob"))
        a.recv_until(lambda m: isinstance(m, Notice) and "erased" in m.text)
        b = member(server, "bob")
        b.send(Add("b1", line(obj_id("bob-1"), 100)))  # a resend of an operation applied before
        assert answer(b, "b1").seq == 1  # type: ignore[attr-defined]
        b.send(Undo("b4"))  # queued offline: would put his erased line back
        assert answer(b, "b4").target == 0  # type: ignore[attr-defined]
        b.send(Move("b5", obj_id("bob-1"), 0, 50))
        assert answer(b, "b5").code == "no_such_object"  # type: ignore[attr-defined]
        draw(b, "b6", line(obj_id("bob-3"), 300))
        assert board_of(server) == {obj_id("bob-3")}
        b.close()


def test_an_undo_of_a_move_of_an_object_an_operator_deleted_since_brings_nothing_back() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        draw(c, "c1", line(obj_id("carol-1"), 100))
        c.send(Say("/allow bob"))
        rights_changed(b)
        b.send(Move("b1", obj_id("carol-1"), 0, 100))
        answer(b, "b1")
        a.send(Delete("a1", obj_id("carol-1")))  # the operator erases it
        answer(a, "a1")
        b.send(Undo("b2"))
        undo = answer(b, "b2")
        assert isinstance(undo, Undo) and undo.target and undo.put == () and undo.removed == ()
        a.send(Undo("a2"))  # the operator's undo of her delete puts it back where bob had moved it
        assert answer(a, "a2").put[0].points[0] == (100, 110)  # type: ignore[attr-defined]
        c.send(Say("/deny bob"))
        rights_changed(b)
        b.send(Redo("b3"))  # bob's redo of his move: carol's object is no longer his to move
        refusal(b, "b3")
        assert board_of(server) == {obj_id("carol-1")}
