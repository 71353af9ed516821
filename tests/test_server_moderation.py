"""Operators through a real server: /op and /deop, /kick, /ban and /unban (by account and by address),
/lock and /unlock, /purge (final, even after the user left), and the errors of non-operators."""

from __future__ import annotations

import pytest
from pgboard_server.chat import HELP
from support import Closed, RawClient, running_server
from test_server_rights import ROOM, clients, draw, line, member, obj_id, refused, settle, state_of

from pgboard.protocol import (
    Add,
    Chat,
    Clear,
    Delete,
    Error,
    Join,
    JoinError,
    Notice,
    Obj,
    RoomState,
    Say,
    Undo,
    UserLeft,
)

OPERATOR_COMMANDS = (
    "/op carol",
    "/deop alice",
    "/kick carol",
    "/ban carol",
    "/unban carol",
    "/lock",
    "/unlock",
    "/purge carol",
)


def fatal_error(c: RawClient) -> Error:
    """The fatal error c got before the server closed the connection."""
    got = c.wait_closed()
    errors = [m for m in got if isinstance(m, Error) and m.fatal]
    assert errors, f"no fatal error before the close: {got}"
    return errors[-1]


def try_join(server, nick: str, client: str, source: str | None = None) -> JoinError | None:  # type: ignore[no-untyped-def]
    c = RawClient(server.address, source=source)
    try:
        c.send(Join(nick, ROOM, client=client))
        reply = c.recv_until(lambda m: type(m).__name__ in ("Welcome", "JoinError"))
        return reply if isinstance(reply, JoinError) else None
    finally:
        c.close()


@pytest.mark.parametrize("command", OPERATOR_COMMANDS)
def test_a_non_operator_gets_a_typed_error_and_nothing_changes(command: str) -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        draw(c, "c1", line(obj_id("carol-1")))
        b.send(Say(command))
        err = b.recv_until(Error)
        assert err.code == "not_operator" and command.split()[0] in err.detail
        assert not any(isinstance(m, (RoomState, UserLeft, Clear)) for m in settle(a) + settle(c))
        assert state_of(c) == RoomState(operators=(a.welcome.user,))


def test_op_makes_another_operator_who_edits_everything_and_deop_takes_it_back() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        alice, bob = a.welcome.user, b.welcome.user
        draw(c, "c1", line(obj_id("carol-1")))
        draw(c, "c2", line(obj_id("carol-2"), 100))
        a.send(Say("/op bob"))
        assert c.recv_until(Notice).text == "alice made bob an operator"
        assert c.recv_until(RoomState).operators == tuple(sorted((alice, bob)))
        b.recv_until(RoomState)
        b.send(Delete("b1", obj_id("carol-1")))  # an operator edits every object
        assert b.recv_until(Delete).oid == "b1"
        b.send(Say("/lock"))  # and moderates
        assert c.recv_until(RoomState).locked
        b.send(Say("/unlock"))
        assert not c.recv_until(RoomState).locked
        a.send(Say("/deop bob"))
        assert b.recv_until(lambda m: isinstance(m, RoomState) and m.operators == (alice,))
        b.send(Delete("b2", obj_id("carol-2")))
        assert refused(b, "b2").code == "not_allowed"
        b.send(Say("/lock"))
        assert b.recv_until(Error).code == "not_operator"
        a.send(Say("/deop alice"))  # the last operator stays: someone must be able to unlock
        err = a.recv_until(Error)
        assert err.code == "not_allowed" and "last operator" in err.detail


def test_kick_sends_the_user_a_fatal_error_naming_who_and_why_and_tells_the_room() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        a.send(Say("/kick bob   drawing   rude things "))
        err = fatal_error(b)
        assert (err.code, err.detail) == ("kicked", "alice kicked you: drawing rude things")
        left = c.recv_until(UserLeft)
        assert (left.nick, left.reason) == ("bob", "kicked by alice: drawing rude things")
        a.send(Say("/kick bob"))
        assert a.recv_until(Error).code == "no_such_user"
        a.send(Say("/kick alice"))
        assert a.recv_until(Error).code == "bad_command"
        a.send(Say("/op carol"))
        a.send(Say("/kick carol"))
        assert a.recv_until(Error).code == "not_allowed"  # operators are deopped first
        # a kick is not a ban: bob comes back, after KICK_HOLD (tests/test_server_bans.py)
        refusal = try_join(server, "bob", "secret-bob")
        assert refusal is not None and refusal.reason == "kicked" and refusal.retry > 0


def test_ban_by_account_removes_the_member_and_refuses_their_joins_until_unban() -> None:
    with running_server() as server, clients(server, "alice", "bob", "carol") as (a, b, c):
        a.send(Say("/ban bob"))
        assert a.recv_until(Notice).text == "alice banned bob"
        err = fatal_error(b)
        assert (err.code, err.detail) == ("banned", "alice banned you from this room")
        assert c.recv_until(UserLeft).reason == "banned by alice"
        refusal = try_join(server, "robert", "secret-bob")  # another nick, the same account
        assert refusal is not None and refusal.reason == "banned"
        # the nick is free, the account is not (a new guest from bob's own address is held: test_server_bans)
        assert try_join(server, "bob", "someone-else", source="127.0.0.2") is None
        # that bob has gone (its socket closed): until the server has seen it, the nick is still taken
        assert c.recv_until(lambda m: isinstance(m, UserLeft) and m.nick == "bob").nick == "bob"
        a.send(Say("/ban"))
        assert a.recv_until(Notice).text == f"Banned from {ROOM}: bob"
        a.send(Say("/unban bob"))
        assert c.recv_until(Notice).text == "alice lifted the ban on bob"
        assert try_join(server, "bob", "secret-bob") is None
        a.send(Say("/unban bob"))
        assert a.recv_until(Error).code == "no_such_user"


def test_ban_by_address_refuses_every_account_from_there_but_operators() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        c = member(server, "carol", room="elsewhere")  # another room is not concerned
        b.close()
        a.recv_until(UserLeft)
        a.send(Say("/ban bob ip"))  # bob left: his last address is remembered
        assert a.recv_until(Notice).text == "alice banned bob and their address"
        refusal = try_join(server, "dave", "secret-dave")  # every test client comes from 127.0.0.1
        assert refusal is not None and refusal.reason == "banned"
        assert try_join(server, "alice", "secret-alice") is None  # operators are never banned
        assert try_join(server, "carol", "secret-carol") is not None
        c.send(Say("still here"))
        assert c.recv_until(Chat).text == "still here"
        a2 = member(server, "alice")
        a2.send(Say("/unban bob"))
        a2.recv_until(Notice)
        assert try_join(server, "dave", "secret-dave") is None
        c.close()
        a2.close()


def test_a_locked_board_refuses_drawing_but_not_chat_and_operators_still_draw() -> None:
    with running_server() as server, clients(server, "alice", "bob") as (a, b):
        draw(b, "b1", line(obj_id("bob-1")))
        a.send(Say("/lock"))
        assert b.recv_until(Notice).text.startswith("alice locked the board")
        assert b.recv_until(RoomState).locked
        for op in (
            Add("b2", line(obj_id("bob-2"), 100)),
            Delete("b3", obj_id("bob-1")),
            Clear("b4"),
            Undo("b5"),
        ):
            b.send(op)
            err = refused(b, op.oid)
            assert err.code == "locked" and "operator" in err.detail
        b.send(Add("b1", line(obj_id("bob-1"))))  # a resend of an applied operation is still acknowledged
        assert b.recv_until(lambda m: type(m).__name__ in ("Ack", "Error")).__class__.__name__ == "Ack"
        b.send(Say("can I draw?"))
        assert a.recv_until(Chat).text == "can I draw?"
        draw(a, "a1", line(obj_id("alice-1"), 200))
        assert b.recv_until(Add).oid == "a1"
        a.send(Say("/lock"))
        assert "already locked" in a.recv_until(Notice).text
        a.send(Say("/unlock"))
        assert not b.recv_until(RoomState).locked
        draw(b, "b6", line(obj_id("bob-3"), 300))


def test_purge_erases_what_a_user_drew_after_they_left_for_good() -> None:
    with running_server() as server, clients(server, "alice", "carol") as (a, c):
        b = member(server, "bob")
        draw(a, "a1", line(obj_id("alice-1")))
        for i in range(3):
            draw(b, f"b{i}", line(obj_id(f"bob-{i}"), 100 + 100 * i))
        b.send(Delete("bd", obj_id("bob-0")))
        b.recv_until(Delete)
        b.send(Say("/nick robert"))  # bob leaves under another nick
        b.recv_until(lambda m: type(m).__name__ == "Renamed")
        b.close()
        c.recv_until(UserLeft)
        a.send(Say("/purge nobody"))
        assert a.recv_until(Error).code == "no_such_user"
        a.send(Say("/purge robert"))  # bob would do too: he was last seen as robert
        purge = c.recv_until(Clear)
        assert purge.author == a.welcome.user and sorted(purge.removed) == sorted(
            [obj_id("bob-1"), obj_id("bob-2")]
        )
        assert c.recv_until(Notice).text == "alice erased everything robert drew (2 objects)"
        a.recv_until(lambda m: isinstance(m, Notice) and "erased" in m.text)
        late = member(server, "dave")
        assert [m.obj.id for m in late.seen if isinstance(m, Obj)] == sorted([obj_id("alice-1")])
        a.send(Say("/purge robert"))
        assert a.recv_until(Notice).text == "Nothing robert drew is on the board"
        a.send(Undo("a2"))  # a purge is final: no step of the operator's, her undo undoes her line
        undo = c.recv_until(Undo)
        assert undo.target == 1 and undo.removed == (obj_id("alice-1"),) and undo.put == ()
        late.close()


def test_help_lists_the_rights_and_moderation_commands() -> None:
    with running_server() as server, clients(server, "alice") as (a,):
        a.send(Say("/help"))
        text = a.recv_until(Notice).text
        for word in ("/allow", "/op", "/deop", "/kick", "/ban", "/unban", "/lock", "/unlock", "/purge"):
            assert word in text
        assert any("/purge" in usage for usage, _ in HELP)


def test_a_kicked_connection_is_gone_for_good() -> None:
    with running_server() as server, clients(server, "alice") as (a,):
        b = member(server, "bob")
        a.send(Say("/kick bob"))
        fatal_error(b)
        with pytest.raises(Closed):
            b.recv()
        b.close()
