"""The `rooms` request and the greeting through a real server: open rooms with their member counts,
password rooms marked, hidden rooms absent, the answer bounded and paced; --motd shown on join."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import reliability
from pgboard_server import cli
from pgboard_server.limits import MAX_MOTD, MAX_ROOM_MEMBERS
from support import RawClient, ServerProcess, running_server
from test_server_accounts import join

from pgboard import names
from pgboard.names import MAX_ROOM
from pgboard.protocol import (
    MAX_FRAME,
    MAX_ROOMS_LISTED,
    CaughtUp,
    Error,
    Join,
    Notice,
    Ping,
    Pong,
    RoomInfo,
    Rooms,
    UserLeft,
    Welcome,
    encode,
)

FAST = {"scrypt_n": 16, "scrypt_r": 1}


def ask(client: RawClient) -> Rooms:
    client.send(Rooms())
    answer = client.recv_until((Rooms, Error))
    assert isinstance(answer, Rooms), answer
    return answer


def test_rooms_lists_open_rooms_with_counts_passwords_and_not_the_hidden_ones() -> None:
    with running_server(**FAST, hidden_rooms=("Staff",)) as server, contextlib.ExitStack() as stack:
        clients = [stack.enter_context(RawClient(server.address)) for _ in range(7)]
        for c, (nick, room, pw) in zip(
            clients,
            [
                ("a", "maths", ""),
                ("b", "maths", ""),
                ("c", "maths", ""),
                ("d", "club", "pw"),
                ("e", "staff", ""),
                ("f", "art", ""),
                ("g", "art", ""),
            ],
            strict=True,
        ):
            assert isinstance(join(c, nick, room, password=pw), Welcome)
        clients[6].close()  # a member leaves: the count follows
        clients[5].recv_until(UserLeft)
        with RawClient(server.address) as stranger:  # asked before any join: the connect screen's picker
            answer = ask(stranger)
            assert answer.rooms == (
                RoomInfo("maths", 3, False),
                RoomInfo("art", 1, False),
                RoomInfo("club", 1, True),
            )
            assert answer.more == 0
        assert ask(clients[0]).rooms[0] == RoomInfo("maths", 3, False)  # and after a join


@pytest.mark.reliability
def test_rooms_answer_is_bounded_and_paced() -> None:
    with running_server(rooms_listed=3, chat_rate=1, chat_burst=2) as server, contextlib.ExitStack() as stack:
        for i in range(5):
            c = stack.enter_context(RawClient(server.address))
            assert isinstance(join(c, f"u{i}", f"room{i}"), Welcome)
        with RawClient(server.address) as asker:
            answer = ask(asker)
            assert len(answer.rooms) == 3 and answer.more == 2  # the rest is counted, not listed
            ask(asker)
            asker.send(Rooms())  # past the burst: refused with a retry, like chat lines
            refused = asker.recv_until((Rooms, Error))
            assert isinstance(refused, Error) and refused.code == "rate_limited" and refused.retry > 0
    reliability.record_abuse(
        reliability.Abuse(
            "asks the list of rooms over and over, of a server with more rooms than are listed",
            "ROOMS_LISTED rooms an answer (the rest counted in `more`); requests paced like chat lines",
            f"{len(answer.rooms)} of 5 listed, more={answer.more}; the third request at once: rate_limited",
        )
    )


def test_the_servers_greeting_is_shown_on_join_not_on_a_reconnect() -> None:
    with running_server(motd="Welcome to the maths server: be kind") as server:
        with RawClient(server.address) as a:
            welcome = join(a, "alice", "maths", client="secret-a")
            assert isinstance(welcome, Welcome)
            greeting = a.recv_until(Notice)
            assert isinstance(greeting, Notice) and greeting.text == "Welcome to the maths server: be kind"
        with RawClient(server.address) as again:  # a reconnect (since set) has seen it
            again.send(Join("alice", "maths", since=0, client="secret-a"))  # the same person
            again.recv_until(CaughtUp)
            again.send(Ping(7))  # everything the join brought comes before the pong
            got = again.recv_all_until(Pong)
            assert not any(isinstance(m, Notice) for m in got)


def test_the_server_command_takes_motd_and_hidden_rooms(tmp_path: Path) -> None:
    with ServerProcess(
        tmp_path / "b.sqlite3", "--motd", "hello there", "--hidden-rooms", "secret, other"
    ) as proc:
        with RawClient(proc.address) as a, RawClient(proc.address) as b:
            assert isinstance(join(a, "alice", "secret"), Welcome)
            assert a.recv_until(Notice).text == "hello there"
            assert isinstance(join(b, "bob", "open"), Welcome)
            assert ask(b).rooms == (RoomInfo("open", 1, False),)


@pytest.mark.reliability
def test_the_largest_rooms_answer_fits_one_frame() -> None:
    # the longest room names (MAX_ROOM characters, each a 12-byte JSON escape pair), as many as listed
    name = "\U00020000" * MAX_ROOM
    assert names.check_room(name) == name
    largest = Rooms(tuple(RoomInfo(name, MAX_ROOM_MEMBERS, True) for _ in range(MAX_ROOMS_LISTED)), 2**31)
    size = len(encode(largest))
    assert size < MAX_FRAME // 4  # about 42 KB: any client reads it whole
    reliability.record_abuse(
        reliability.Abuse(
            "opens MAX_ROOMS_LISTED rooms with the longest names (32 four-byte letters) for the list",
            "MAX_ROOMS_LISTED (100) rooms an answer; MAX_ROOM (32) characters a name",
            f"the largest `rooms` answer is {size:,} bytes ({size / MAX_FRAME:.0%} of MAX_FRAME)",
        )
    )


def test_a_greeting_longer_than_a_chat_line_is_refused_at_start() -> None:
    with pytest.raises(SystemExit):
        cli.main(["--db", ":memory:", "--motd", "x" * (MAX_MOTD + 1)])
