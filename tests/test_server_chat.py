"""Chat through a real server: plain lines, every command and its aliases, history for joiners."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from pgboard_server.chat import HELP
from pgboard_server.server import BoardServer
from support import RawClient, running_server

from pgboard.protocol import Add, BoardObject, CaughtUp, Chat, Error, Notice, Ping, Pong, Renamed, Say

NOW = 1_700_000_000


@contextlib.contextmanager
def room_of(*nicks: str, **kw: object) -> Iterator[tuple[BoardServer, list[RawClient]]]:
    """A server with one client per nick, all joined to the lobby and caught up."""
    with running_server(wall_clock=lambda: NOW, **kw) as server:
        clients = []
        try:
            for nick in nicks:
                c = RawClient(server.address)
                clients.append(c)
                c.join(nick)
                c.catch_up()
            yield server, clients
        finally:
            for c in clients:
                c.close()


def settle(c: RawClient) -> list:
    """Everything the server sent c before it answers a ping (the server handles frames in order)."""
    c.send(Ping(77))
    got = c.recv_all_until(Pong)
    return got[:-1]


def test_plain_lines_reach_everyone_with_the_server_time() -> None:
    with room_of("alice", "bob") as (_, (a, b)):
        a.send(Say("  hello, Ø and 李雷  "))
        expected = Chat("say", a.welcome.user, "alice", "hello, Ø and 李雷", time=NOW)
        assert b.recv_until(Chat) == expected
        assert a.recv_until(Chat) == expected  # the speaker sees its own line too
        a.send(Say("//slash is not a command"))
        assert b.recv_until(Chat).text == "/slash is not a command"
        a.send(Say("   "))
        assert a.recv_until(Error).code == "empty_message"


def test_me_is_an_action() -> None:
    with room_of("alice", "bob") as (_, (a, b)):
        a.send(Say("/me waves"))
        assert b.recv_until(Chat) == Chat("me", a.welcome.user, "alice", "waves", time=NOW)
        a.send(Say("/me"))
        assert a.recv_until(Error).code == "bad_command"


@pytest.mark.parametrize("line", ["/msg BOB psst", "@bob psst", "/MSG bob   psst"])
def test_private_messages_reach_only_the_target_and_the_sender(line: str) -> None:
    with room_of("alice", "bob", "carol") as (_, (a, b, c)):
        a.send(Say(line))
        expected = Chat("private", a.welcome.user, "alice", "psst", to="bob", time=NOW)
        assert b.recv_until(Chat) == expected
        assert a.recv_until(Chat) == expected
        a.send(Say("/me is done"))
        assert c.recv_until(Chat).kind == "me"  # carol got the next room line and nothing before it
        assert not any(isinstance(m, Chat) for m in c.seen[:-1])


def test_private_message_to_nobody_is_an_error() -> None:
    with room_of("alice") as (_, (a,)):
        a.send(Say("/msg zed hi"))
        err = a.recv_until(Error)
        assert err.code == "no_such_user" and "zed" in err.detail and not err.fatal
        a.send(Say("@zed hi"))
        assert a.recv_until(Error).code == "no_such_user"
        a.send(Say("/msg bob"))
        assert a.recv_until(Error).code == "bad_command"


@pytest.mark.parametrize("command", ["/list", "/ls", "/look", "/who"])
def test_list_shows_who_is_online(command: str) -> None:
    with room_of("bob", "Alice", "李雷") as (_, (b, *_rest)):
        b.send(Say(command))
        assert b.recv_until(Notice).text == "In lobby (3): Alice, bob, 李雷"


@pytest.mark.parametrize("command", ["/nick", "/rename"])
def test_nick_renames_with_the_join_rules(command: str) -> None:
    with room_of("alice", "bob") as (_, (a, b)):
        a.send(Say(f"{command} Alicia"))
        renamed = Renamed(a.welcome.user, "alice", "Alicia")
        assert b.recv_until(Renamed) == renamed
        assert a.recv_until(Renamed) == renamed
        a.send(Say(f"{command} BOB"))
        err = a.recv_until(Error)
        assert err.code == "nick_taken" and "BOB2" in err.detail
        a.send(Say(f"{command} no way!"))
        assert a.recv_until(Error).code == "bad_nick"
        a.send(Say(command))  # bare: bad_command like every command without its argument
        assert a.recv_until(Error).code == "bad_command"
        a.send(Say(f"{command} Alicia"))
        assert a.recv_until(Notice).text == "You are already Alicia"
        a.send(Say(f"{command} ALICIA"))  # a change of case of your own name is allowed
        assert b.recv_until(Renamed).nick == "ALICIA"
        b.send(Say("@alicia hi"))  # the new name is the one that counts
        assert a.recv_until(Chat).to == "ALICIA"


def test_mute_stops_room_chat_but_not_private_messages_and_unmute_restores_it() -> None:
    with room_of("alice", "bob") as (_, (a, b)):
        b.send(Say("/mute"))
        assert "no longer" in b.recv_until(Notice).text
        a.send(Say("anyone?"))
        a.send(Say("/me shouts"))
        a.send(Say("@bob just you"))
        a.recv_until(lambda m: isinstance(m, Chat) and m.kind == "private")  # so bob's copy is queued
        got = [m for m in settle(b) if isinstance(m, Chat)]
        assert [m.kind for m in got] == ["private"]
        b.send(Say("/unmute"))
        assert "again" in b.recv_until(Notice).text
        a.send(Say("back?"))
        assert b.recv_until(Chat).text == "back?"


def test_help_lists_every_command_and_unknown_commands_are_errors() -> None:
    with room_of("alice") as (_, (a,)):
        a.send(Say("/help"))
        text = a.recv_until(Notice).text
        for usage, _ in HELP:
            assert usage in text
        for cmd in ("/me", "/msg", "/list", "/who", "/nick", "/rename", "/ignore", "/unignore", "/mute"):
            assert cmd in text
        a.send(Say("/dance now"))
        err = a.recv_until(Error)
        assert err.code == "unknown_command" and "/dance" in err.detail and "/help" in err.detail
        a.send(Say("/me\twaves"))  # a tab ends the command's word as a space does
        assert a.recv_until(Chat).text == "waves"
        a.send(Say("/"))
        assert a.recv_until(Error).code == "unknown_command"


def test_joiners_get_recent_room_chat_after_the_board_but_not_private_lines(tmp_path) -> None:
    db = tmp_path / "chat.sqlite3"
    with room_of("alice", db_path=db, chat_history=3) as (server, (a,)):
        for i in range(5):
            a.send(Say(f"line {i}"))
        a.send(Say("/me draws"))
        a.send(Say("@alice note to self"))
        a.send(Add("op1", BoardObject(a.obj_id("o1"), "rect", ((1, 1), (9, 9)))))
        a.recv_until(Add)
        late = RawClient(server.address)
        late.join("bob")
        frames = late.recv_all_until(CaughtUp)
        after = settle(late)
        late.close()
    assert not any(isinstance(m, Chat) for m in frames)  # chat comes after the board
    assert [(m.kind, m.text, m.history, m.time) for m in after] == [
        ("say", "line 3", True, NOW),
        ("say", "line 4", True, NOW),
        ("me", "draws", True, NOW),
    ]
    with running_server(db, chat_history=3) as server, RawClient(server.address) as again:
        again.join("carol")  # chat history survives a restart too
        again.recv_until(CaughtUp)
        assert [m.text for m in settle(again)] == ["line 3", "line 4", "draws"]


@pytest.mark.parametrize(
    "bare",
    [
        "/me",
        "/msg",
        "/msg bob",
        "/nick",
        "/rename",
        "/allow",
        "/deny",
        "/op",
        "/deop",
        "/kick",
        "/unban",
        "/purge",
    ],
)
def test_every_command_without_its_argument_is_bad_command(bare: str) -> None:
    """One answer for a command sent bare (docs/PROTOCOL.md, "Chat"): ``/nick`` alone was bad_nick."""
    with room_of("alice", "bob") as (_, (a, _b)):
        a.send(Say(bare))
        got = [m for m in settle(a) if isinstance(m, (Error, Chat, Notice))]
        assert [(type(m), getattr(m, "code", "")) for m in got] == [(Error, "bad_command")], got
