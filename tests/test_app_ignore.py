"""/ignore NICK in the real client (issue 13, 6): one person's lines hidden, by author id (a rename
does not escape it), kept across a restart in the settings; the room-wide mute is /mute."""

from __future__ import annotations

from pathlib import Path

import pygame
from pgboard_server.server import BoardServer
from support import RawClient, running_server
from test_app import make_app, run_until
from test_server_accounts import join, settle

from pgboard.app import App
from pgboard.protocol import Say


def texts(app: App) -> list[str]:
    app.ui.chat.catch_up()
    return [e.prefix + e.body for e in app.ui.chat.entries]


def online(app: App, port: int, others: tuple[str, ...] = ("jon", "ann")) -> None:
    app.connect("127.0.0.1", port, "bob", "r")
    run_until(app, lambda: app.conn is not None and app.conn.state == "online")
    run_until(app, lambda: app.room is not None and set(others) <= set(app.room.users.values()))


def test_ignore_hides_one_person_by_id_across_a_rename_and_a_restart(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    with running_server() as server, RawClient(server.address) as jon, RawClient(server.address) as ann:
        join(jon, "jon", room="r")
        join(ann, "ann", room="r")
        app = make_app(screen, tmp_path)
        online(app, server.address[1])
        app.send_chat("/ignore JON")  # any case; never sent to the server
        assert any("no longer see jon" in t for t in texts(app))
        jon.send(Say("hello from jon"))
        jon.send(Say("/nick jonny"))
        jon.send(Say("still me"))
        jon.send(Say("/msg bob psst"))
        settle(jon)
        ann.send(Say("ann here"))
        run_until(app, lambda: any("ann here" in t for t in texts(app)))
        shown = texts(app)
        assert not [t for t in shown if "hello from jon" in t or "still me" in t or "psst" in t]
        app.send_chat("/ignore")  # the list
        assert texts(app)[-1] == "Ignored: jon"
        app.shutdown()

        again = make_app(screen, tmp_path)  # a restart: the settings keep it
        online(again, server.address[1], ("jonny", "ann"))
        jon.send(Say("after the restart"))
        settle(jon)
        ann.send(Say("ann again"))
        run_until(again, lambda: any("ann again" in t for t in texts(again)))
        assert not [t for t in texts(again) if "after the restart" in t]
        again.send_chat("/unignore jonny")
        jon.send(Say("visible now"))
        run_until(again, lambda: any("visible now" in t for t in texts(again)))
        again.shutdown()


def test_ignore_of_nobody_says_so_and_mutes_nothing(screen: pygame.Surface, tmp_path: Path) -> None:
    with running_server() as server, RawClient(server.address) as jon, RawClient(server.address) as ann:
        join(jon, "jon", room="r")
        join(ann, "ann", room="r")
        app = make_app(screen, tmp_path)
        online(app, server.address[1])
        app.send_chat("/ignore zed")
        assert "Nobody called zed" in texts(app)[-1]
        jon.send(Say("jon talks"))
        run_until(app, lambda: any("jon talks" in t for t in texts(app)))
        app.shutdown()


def test_mute_is_kept_across_a_reconnect_and_says_so(screen: pygame.Surface, tmp_path: Path) -> None:
    with running_server() as server:
        port = server.address[1]
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", port, "bob", "r")
        run_until(app, lambda: app.conn is not None and app.conn.state == "online")
        app.send_chat("/mute")
        run_until(app, lambda: any("no longer receive room chat" in t for t in texts(app)))
    run_until(app, lambda: app.conn is not None and app.conn.state == "offline")
    server = BoardServer("127.0.0.1", port, ":memory:")  # back on the same address
    server.start()
    try:
        app.conn.retry_now()
        run_until(app, lambda: app.conn.state == "online")
        run_until(app, lambda: sum("no longer receive room chat" in t for t in texts(app)) == 2)  # said again
        with RawClient(server.address) as ann:
            join(ann, "ann", room="r")
            ann.send(Say("muted?"))
            ann.send(Say("@bob but this"))
            run_until(app, lambda: any("but this" in t for t in texts(app)))
        assert not [t for t in texts(app) if "muted?" in t]
    finally:
        server.stop()
    app.shutdown()
