"""The real client and kept private lines (issue 11, 4): the App shows them, then acknowledges them
with one mail_ack, and only then does the server forget them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pygame
from support import RawClient, running_server
from test_app import make_app, run_until
from test_server_accounts import FAST, account, join, settle

from pgboard.protocol import Chat, Login, Say, Signup


def test_the_app_acknowledges_kept_lines_once_shown_and_the_server_then_forgets_them(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    db = tmp_path / "db.sqlite3"
    with running_server(db, **FAST) as server:
        with RawClient(server.address) as c:
            account(c, Signup("bob", "password1"))
        with RawClient(server.address) as a:
            join(a, "alice")
            a.catch_up()
            for text in ("one", "two", "three"):
                a.send(Say(f"/msg bob {text}"))
            settle(a)
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "bob", "r", account=("login", "password1", ""))
        run_until(app, lambda: app.conn is not None and app.conn.state == "online")
        shown = lambda: [e for e in app.ui.chat.entries if "while you were away" in str(e.prefix)]  # noqa: E731
        run_until(app, lambda: len(shown()) == 3)
        kept = lambda: sqlite3.connect(db).execute("SELECT COUNT(*) FROM mail").fetchone()[0]  # noqa: E731
        run_until(app, lambda: kept() == 0)  # acknowledged: gone
        app.shutdown()
        with RawClient(server.address) as b:
            account(b, Login("bob", "password1"))
            join(b, "bob")
            b.catch_up()
            assert [m for m in settle(b) if isinstance(m, Chat)] == []
