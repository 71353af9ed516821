"""The server's core: greeting, joining, drawing with the author stamped, leaving (real sockets)."""

from __future__ import annotations

from support import RawClient, running_server

from pgboard.protocol import Add, BoardObject, Hello, UserJoined, UserLeft, Welcome


def line(oid: str, x: int = 10) -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4)


def test_two_clients_see_each_other_draw_with_the_author_stamped() -> None:
    with running_server() as server, RawClient(server.address) as a, RawClient(server.address) as b:
        assert isinstance(a.recv(), Hello)
        wa = a.join("alice", client="secret-a")
        a.catch_up()
        wb = b.join("bob", client="secret-b")
        b.catch_up()
        assert isinstance(wb, Welcome)
        assert [u.nick for u in wb.users] == ["alice", "bob"]
        assert a.recv_until(UserJoined) == UserJoined(wb.user, "bob")
        # bob pretends to be alice: the server stamps the real author anyway
        b.send(Add("op1", line("l1"), author=wa.user))
        echo_b = b.recv_until(Add)
        echo_a = a.recv_until(Add)
        assert echo_a == echo_b
        assert echo_a.author == wb.user and echo_a.obj.author == wb.user and echo_a.seq == 1
        b.close()
        left = a.recv_until(UserLeft)
        assert left.user == wb.user and left.nick == "bob"
