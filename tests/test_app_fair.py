"""The real client and the fair commands (issue 15): a roll or a flip typed in the window is made by the
server and shown, as the server's line naming who rolled, in every member's chat."""

from __future__ import annotations

import re
from pathlib import Path

import pygame
from support import RawClient, running_server
from test_app import make_app, run_until
from test_server_accounts import join

from pgboard.protocol import Notice, Say


def test_a_roll_typed_here_and_one_typed_elsewhere_both_show_as_the_servers_lines(
    screen: pygame.Surface, tmp_path: Path
) -> None:
    with running_server() as server, RawClient(server.address) as bob:
        join(bob, "bob", "r")
        bob.catch_up()
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", server.address[1], "alice", "r")
        run_until(app, lambda: app.room is not None and "bob" in app.room.users.values())
        app.send_chat("/roll 2d6")
        notices = lambda: [e.body for e in app.ui.chat.entries if e.kind == "notice"]  # noqa: E731
        run_until(app, lambda: any(t.startswith("alice rolled") for t in notices()))
        mine = next(t for t in notices() if t.startswith("alice rolled"))
        assert re.fullmatch(r"alice rolled 2d6: [1-6] \+ [1-6] = \d+", mine)
        seen = bob.recv_until(lambda m: isinstance(m, Notice) and m.text.startswith("alice rolled"))
        assert seen.text == mine  # the same roll for everyone
        shown = lambda text: text in notices()  # noqa: E731
        bob.send(Say("/flip"))
        flip = bob.recv_until(lambda m: isinstance(m, Notice) and "flipped" in m.text)
        run_until(app, lambda: shown(flip.text))
        app.shutdown()
