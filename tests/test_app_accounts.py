"""Accounts as a user meets them in the client: the connect screen's Log in, a wrong password back on
that screen, and private lines kept while away shown in the chat panel. Real window, real server."""

from __future__ import annotations

from pathlib import Path

import pygame
from support import RawClient, running_server
from test_app import make_app, run_until
from test_server_accounts import FAST, account
from uikit import click, draw, type_text

from pgboard.app import App
from pgboard.protocol import Login, Say, Signup


def log_in_on_the_screen(app: App, port: int, nick: str, password: str) -> None:
    s = app.ui.connect_screen
    s.port.set_text(str(port))
    s.nick.set_text(nick)
    s.room.set_text("studio")
    click(app.ui, s.mode_rects["login"].center)
    click(app.ui, s.password.rect.center)
    type_text(app.ui, password)
    click(app.ui, s.connect_rect.center)


def test_log_in_from_the_connect_screen_and_read_what_came_while_away(
    screen: pygame.Surface,  # noqa: F811
    tmp_path: Path,
) -> None:
    with running_server(**FAST, wall_clock=lambda: 1_700_000_000) as server:
        with RawClient(server.address) as c:
            user = account(c, Signup("zoë", "hunter22")).user
        with RawClient(server.address) as alice:
            alice.join("alice")
            alice.catch_up()
            alice.send(Say("@zoë see you tomorrow"))
            alice.recv_until(lambda m: getattr(m, "away", False))
        app = make_app(screen, tmp_path)
        try:
            log_in_on_the_screen(app, server.address[1], "ZOË", "hunter22")
            run_until(app, lambda: app.conn is not None and app.conn.state == "online")
            assert app.conn.user_id == user and app.conn.nick == "zoë"
            run_until(app, lambda: any("see you tomorrow" in t for t in draw(app.ui)[1]))
            _, texts = draw(app.ui)
            shown = " ".join(texts)  # the header may wrap over two rows (it was cut at the panel's edge)
            assert "[while you were away]" in shown and "alice → you:" in shown, texts
        finally:
            app.shutdown()
        saved = (tmp_path / "settings.json").read_text(encoding="utf-8")
        assert "hunter22" not in saved and '"account": "login"' in saved


def test_a_wrong_password_brings_the_connect_screen_back_with_the_reason(
    screen: pygame.Surface,  # noqa: F811
    tmp_path: Path,
) -> None:
    with running_server(**FAST) as server:
        with RawClient(server.address) as c:
            account(c, Signup("zoë", "hunter22"))
        app = make_app(screen, tmp_path)
        try:
            log_in_on_the_screen(app, server.address[1], "zoë", "hunter2")
            assert not app.ui.connect_visible  # the board shows while the pump connects
            run_until(app, lambda: app.ui.connect_visible)
            _, texts = draw(app.ui)
            assert "Wrong nickname or password." in texts
            assert app.ui.connect_screen.focused is app.ui.connect_screen.password
            with RawClient(server.address) as c:  # the failure counted against the account
                assert account(c, Login("zoë", "hunter22")).action == "login"
        finally:
            app.shutdown()
