"""The client's view of rights against a real server: tools follow room_state (granted objects can be
erased, a locked board is not drawn on and the user is told why), refused operations are taken back,
operators wear a badge, and a kicked client does not come back by itself."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from support import RawClient
from test_app import drag, joined, key, make_app, run_until
from test_server_rights import settle

from pgboard import ids
from pgboard.app import App
from pgboard.protocol import (
    Add,
    BoardObject,
    Delete,
    Error,
    Extend,
    Move,
    Redo,
    RoomState,
    Say,
    Undo,
)
from pgboard.room import LOCKED_TEXT
from pgboard.widgets import theme
from pgboard.widgets.statusbar import connection_text

ROOM = "r"
# objects drawn by the raw clients below (``raw``: secret-NICK), each in its author's scope
BOBS = ids.scoped(ids.device_id("secret-bob"), "bobs")
CAROLS = ids.scoped(ids.device_id("secret-carol"), "carols")
CAROLS_2 = ids.scoped(ids.device_id("secret-carol"), "carols-2")


def raw(server, nick: str) -> RawClient:  # noqa: F811 - server is the fixture's value
    c = RawClient(server.address)
    c.join(nick, room=ROOM, client=f"secret-{nick}")
    c.catch_up()
    return c


def rect(oid: str, x: int, y: int) -> BoardObject:
    return BoardObject(oid, "rect", ((x, y), (x + 300, y + 200)), "#ff0000", 4)


def drawn_by(c: RawClient, oid: str, obj: BoardObject) -> None:
    c.send(Add(oid, obj))
    c.recv_until(lambda m: isinstance(m, Add) and m.oid == oid)


def screen_of(app: App, x: int, y: int) -> tuple[int, int]:
    sx, sy = app.viewport.to_screen((x, y))
    return int(sx), int(sy)


def settled(app: App) -> None:
    run_until(app, lambda: not app.conn.pending_ops and not app.conn.events)


def test_the_eraser_erases_what_i_was_allowed_to_edit_and_nothing_else(screen, server, tmp_path: Path):  # noqa: F811
    bob, carol = raw(server, "bob"), raw(server, "carol")  # bob created the room: he is its operator
    drawn_by(bob, "b1", rect(BOBS, 400, 400))
    drawn_by(carol, "c1", rect(CAROLS, 1200, 400))
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
    carol.send(Say("/allow alice"))
    run_until(app, lambda: app.room.granted_by == {carol.welcome.user})
    assert app.ctx.may_edit(app.board.get(CAROLS)) and not app.ctx.may_edit(app.board.get(BOBS))
    app.frame([key(pygame.K_e, unicode="e")])
    assert app.tool_name == "eraser"
    # one stroke of the eraser through the middle of both rectangles
    path = [screen_of(app, x, 500) for x in range(450, 1500, 20)]
    app.frame(drag(path))
    settled(app)
    assert app.board.get(CAROLS) is None and app.board.get(BOBS) is not None
    assert bob.recv_until(Delete).id == CAROLS
    assert not any(isinstance(m, Error) for m in settle(bob))
    server_board = server.rooms.get(ROOM).board
    assert server_board.get(CAROLS) is None and server_board.get(BOBS) is not None
    for c in (bob, carol):
        c.close()


def test_a_locked_board_is_not_drawn_on_and_the_user_is_told_why(screen, server, tmp_path: Path):  # noqa: F811
    bob = raw(server, "bob")
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
    bob.send(Say("/lock"))
    run_until(app, lambda: app.room.read_only)
    assert "Board locked" in " ".join(app.ui.status.texts())
    app.frame([key(pygame.K_r, unicode="r")])
    app.frame(drag([screen_of(app, 500, 500), screen_of(app, 700, 600), screen_of(app, 900, 700)]))
    app.frame([key(pygame.K_z, mod=pygame.KMOD_CTRL)])  # undo is drawing too
    assert len(app.board) == 0 and not app.conn.pending_ops
    assert app.ui.toast_line.text == LOCKED_TEXT
    assert not any(isinstance(m, (Add, Undo)) for m in settle(bob))  # nothing reached the server
    bob.send(Say("/unlock"))
    run_until(app, lambda: not app.room.read_only)
    assert "Board locked" not in " ".join(app.ui.status.texts())
    app.frame(drag([screen_of(app, 500, 500), screen_of(app, 900, 700)]))
    assert bob.recv_until(Add).author == app.room.me
    bob.close()


def test_joining_a_locked_board_says_so_in_the_chat_and_the_status_bar(screen, server, tmp_path: Path):  # noqa: F811
    bob = raw(server, "bob")
    bob.send(Say("/lock"))
    bob.recv_until(RoomState)
    notices: list[str] = []
    app = make_app(screen, tmp_path)
    app.connect("127.0.0.1", server.address[1], "alice", ROOM)
    app.room.on_notice = notices.append
    run_until(app, lambda: app.conn.state == "online" and app.room.read_only)
    assert LOCKED_TEXT in notices
    assert "Board locked: only operators draw" in app.ui.status.texts()
    bob.close()


def test_operations_the_server_refuses_are_taken_back_on_my_screen(screen, server, tmp_path: Path):  # noqa: F811
    bob, carol = raw(server, "bob"), raw(server, "carol")
    drawn_by(carol, "c1", rect(CAROLS, 1200, 400))
    drawn_by(carol, "c2", rect(CAROLS_2, 1200, 1000))
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
    room = app.room
    carol.send(Say("/allow alice"))
    run_until(app, lambda: room.granted_by == {carol.welcome.user})
    mine, late = room.new_id(), room.new_id()
    room.submit(Add(room.new_oid(), BoardObject(mine, "pencil", ((10, 10), (20, 20)))))
    settled(app)
    # carol takes her grant back; alice's screen has not heard yet when she erases and drags
    carol.send(Say("/deny alice"))
    carol.recv_until(lambda m: isinstance(m, RoomState) and not m.allowed)
    before = app.board.get(CAROLS_2)
    room.submit(Delete(room.new_oid(), CAROLS))
    room.submit(Move(room.new_oid(), CAROLS_2, 100, 50))
    assert app.board.get(CAROLS) is None and app.board.get(CAROLS_2) != before  # drawn at once
    settled(app)
    assert app.board.get(CAROLS) is not None  # refused: back
    assert app.board.get(CAROLS_2) == before
    # bob locks the board while alice's stroke grows: the refused points go away
    bob.send(Say("/lock"))
    bob.recv_until(RoomState)
    room.submit(Extend(room.new_oid(), mine, ((30, 30), (40, 40))))
    room.submit(Add(room.new_oid(), BoardObject(late, "line", ((1, 1), (9, 9)))))
    assert len(app.board.get(mine).points) == 4 and app.board.get(late) is not None
    settled(app)
    assert app.board.get(mine).points == ((10, 10), (20, 20)) and app.board.get(late) is None
    # the same objects as the server's board (an erase taken back puts its object on top)
    assert sorted(app.board.snapshot(), key=lambda o: o.id) == sorted(
        server.rooms.get(ROOM).board.snapshot(), key=lambda o: o.id
    )
    for c in (bob, carol):
        c.close()


def test_operators_wear_a_badge_in_the_user_list(screen, server, tmp_path: Path):  # noqa: F811
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)  # alice created the room
    bob = raw(server, "bob")
    run_until(app, lambda: len(app.room.users) == 2)
    assert app.room.is_operator
    assert app.ui.user_list.operators == {app.room.me}
    app.send_chat("/op bob")
    run_until(app, lambda: bob.welcome.user in app.ui.user_list.operators)
    app.frame([])
    area = app.ui.user_list.rect
    pixels = {
        tuple(app.screen.get_at((x, y)))[:3]
        for x in range(area.x, area.right)
        for y in range(area.y, area.bottom)
    }
    assert theme.ACCENT in pixels
    bob.send(Say("/deop alice"))
    run_until(app, lambda: not app.room.is_operator)
    assert app.ui.user_list.operators == {bob.welcome.user}
    bob.close()


def test_a_kicked_client_shows_why_and_does_not_reconnect_by_itself(screen, server, tmp_path: Path):  # noqa: F811
    bob = raw(server, "bob")
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
    notices: list[str] = []
    app.room.on_notice = notices.append
    bob.send(Say("/kick alice enough for today"))
    run_until(app, lambda: app.conn.state == "closed")
    assert "kicked" in app.conn.last_error and "enough for today" in app.conn.last_error
    assert any("bob kicked you: enough for today" in n for n in notices)
    assert connection_text(app.conn).startswith("Disconnected")
    bob.close()


def test_a_banned_user_is_sent_out_and_told_on_the_connect_screen(screen, server, tmp_path: Path):  # noqa: F811
    bob = raw(server, "bob")
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
    bob.send(Say("/ban alice"))
    run_until(app, lambda: app.conn.state == "closed")
    assert "banned" in app.conn.last_error
    app.connect("127.0.0.1", server.address[1], "alice", ROOM)  # the user tries again by hand
    run_until(app, lambda: app.ui.connect_visible)
    assert app.ui.connect_screen.error == "You cannot join this room. An operator banned you from this room."
    bob.close()


@pytest.mark.reliability
def test_a_redo_refused_after_a_deny_leaves_my_screen_as_it_was_and_says_why(screen, server, tmp_path: Path):  # noqa: F811
    """issue 11 point 5 in the window: carol allows alice, alice erases all and undoes, carol denies
    her; alice's Ctrl+Y would have erased carol's work. The server refuses it (its oid), alice's
    window keeps carol's rectangles, tells her why, and resends nothing."""
    bob, carol = raw(server, "bob"), raw(server, "carol")
    drawn_by(carol, "c1", rect(CAROLS, 1200, 400))
    drawn_by(carol, "c2", rect(CAROLS_2, 1200, 1000))
    app = joined(make_app(screen, tmp_path), server, "alice", ROOM)
    room = app.room
    carol.send(Say("/allow alice"))
    run_until(app, lambda: room.granted_by == {carol.welcome.user})
    room.clear()
    run_until(app, lambda: app.board.get(CAROLS) is None and app.board.get(CAROLS_2) is None)
    app.frame([key(pygame.K_z, mod=pygame.KMOD_CTRL)])
    run_until(app, lambda: app.board.get(CAROLS) is not None and app.board.get(CAROLS_2) is not None)
    carol.send(Say("/deny alice"))
    run_until(app, lambda: not room.granted_by)
    notices: list[str] = []
    room.on_notice = notices.append
    app.frame([key(pygame.K_y, mod=pygame.KMOD_CTRL)])
    run_until(app, lambda: notices)
    settled(app)
    assert notices[0].startswith("Refused:") and "no longer yours to edit" in notices[0]
    assert app.board.get(CAROLS) is not None and app.board.get(CAROLS_2) is not None
    assert not app.conn.pending_ops  # dropped from the outbox: not resent at the next reconnect
    assert not any(isinstance(m, Redo) for m in settle(bob))  # nothing reached the others
    server_board = server.rooms.get(ROOM).board
    assert server_board.get(CAROLS) is not None and server_board.get(CAROLS_2) is not None
    for c in (bob, carol):
        c.close()
