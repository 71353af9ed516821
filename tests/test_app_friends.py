"""The real client and friends (issue 14): a right-click on a name in People offers "Add friend", which
the server keeps; the chat then says when that friend comes online, changes room or goes offline, and
/friends lists them with where they are."""

from __future__ import annotations

from pathlib import Path

import pygame
from support import FakeClock, RawClient, running_server
from test_abuse_handshake import wait_until
from test_app import ev, key, make_app, run_until
from test_server_accounts import FAST, account, join

from pgboard import people_menu
from pgboard.app import App
from pgboard.protocol import Login, Notice, Say, Signup
from pgboard.protocol_friends import Friends
from pgboard.widgets import theme
from pgboard.widgets.userlist import HEADER_H, ROW_H


def notices(app: App) -> list[str]:
    return [e.body for e in app.ui.chat.entries if e.kind == "notice"]


def shown(app: App, text: str) -> bool:
    return any(text in n for n in notices(app))


def row_center(app: App, row: int) -> tuple[int, int]:
    r = app.ui.user_list.rect
    return (r.centerx, r.y + HEADER_H + theme.PAD // 2 + row * ROW_H + ROW_H // 2)


def logged_in(server, nick: str, room: str) -> RawClient:  # type: ignore[no-untyped-def]
    c = RawClient(server.address)
    account(c, Login(nick, "password1"))
    join(c, nick, room, client=f"secret-{nick}-{room}")
    c.catch_up()
    c.recv_until(Friends)
    return c


def test_add_friend_from_the_people_menu_then_see_them_move_and_go(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    clock = FakeClock()
    with running_server(**FAST, clock=clock, timeout=3600.0, ping_interval=1800.0) as server:
        for nick in ("alice", "bob"):
            with RawClient(server.address) as c:
                account(c, Signup(nick, "password1"))
        bob = logged_in(server, "bob", "r")
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "alice", "r", account=("login", "password1", ""))
        run_until(app, lambda: app.room is not None and "bob" in app.room.users.values())
        app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=row_center(app, 1), button=3)])  # right-click bob
        assert app.ui.picklist.open and app.ui.picklist.title == "bob"
        labels = [label for label, _ in app.ui.picklist.items]
        assert labels == [people_menu.MESSAGE, people_menu.ADD]
        app.frame([key(pygame.K_2)])  # Add friend
        assert not app.ui.picklist.open
        heard = bob.recv_until(lambda m: isinstance(m, Notice) and "alice added you" in m.text)
        assert "/friend alice" in heard.text
        bob.send(Say("/friend alice"))
        run_until(app, lambda: shown(app, "bob is online in r"))
        assert app.room is not None and app.room.friends.is_friend("bob")
        app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=row_center(app, 1), button=3)])  # now: Remove friend
        assert [label for label, _ in app.ui.picklist.items] == [people_menu.MESSAGE, people_menu.REMOVE]
        app.frame([key(pygame.K_ESCAPE)])
        bob.close()  # bob goes to another room: a new connection, as the client's /join makes
        bob = logged_in(server, "bob", "cellar")
        run_until(app, lambda: shown(app, "bob moved to cellar"))
        bob.send(Say("/msg alice come down"))  # a private line from another room arrives live
        run_until(app, lambda: any(e.body == "come down" for e in app.ui.chat.entries))
        app.send_chat("/friends")
        run_until(app, lambda: shown(app, "bob: online in cellar"))
        bob.close()
        wait_until(lambda: "bob" in server.friends._leaving)  # noqa: SLF001 - the close is read
        clock.advance(server.limits.friend_offline_grace + 1)
        server.heartbeat()
        run_until(app, lambda: shown(app, "bob went offline"))
        app.shutdown()


def test_a_guest_adding_a_friend_is_told_to_log_in(screen: pygame.Surface, tmp_path: Path) -> None:
    with running_server(**FAST) as server, RawClient(server.address) as ann:
        join(ann, "ann", "r")
        ann.catch_up()
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "guest", "r")
        run_until(app, lambda: app.room is not None and "ann" in app.room.users.values())
        app.frame([ev(pygame.MOUSEBUTTONDOWN, pos=row_center(app, 1), button=3)])
        app.frame([key(pygame.K_2)])
        run_until(app, lambda: shown(app, "Error: friends are kept for accounts: log in"))
        app.shutdown()
