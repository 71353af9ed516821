"""TLS as a user meets it in the window: a self-signed server's fingerprint on the connect screen, one
click on Trust, the pin remembered for the next run, and a changed certificate said loudly.

A real TLS BoardServer (the throwaway certificate of test_tls.py), the real App (dummy video driver),
clicks posted where the screen drew its buttons."""

from __future__ import annotations

from pathlib import Path

import pygame
from pgboard_server.limits import NO_RATE_LIMITS
from pgboard_server.tls import file_fingerprint, server_context
from support import RawClient, running_server
from test_app import board_point, drag, key, make_app, run_until
from test_tls import FAST, cert, trusting  # noqa: F401 - the fixture

from pgboard import settings
from pgboard.app import App
from pgboard.cli import build_parser
from pgboard.protocol import Add
from pgboard.tls import normal_fingerprint


def click(app: App, pos: tuple[int, int]) -> None:
    app.frame([pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, mod=0)])


def untrusted(app: App) -> bool:
    return app.conn is not None and app.conn.state == "untrusted" and app.ui.connect_visible


def test_a_self_signed_server_is_trusted_with_one_click_and_remembered(screen, cert, tmp_path: Path):  # noqa: F811
    with running_server(tls=server_context(*cert), **FAST, **NO_RATE_LIMITS) as srv:
        expected = normal_fingerprint(file_fingerprint(cert[0]))
        app = make_app(screen, tmp_path)
        app.connect("127.0.0.1", srv.address[1], "alice", "r", tls=True)
        run_until(app, lambda: untrusted(app))
        shown = app.ui.connect_screen
        assert shown.untrusted == expected and "CHANGED" not in shown.error
        assert f"{expected[:47]} {expected[48:]}" in shown.error  # in two halves, to read out and compare
        assert not any(s.joined for s in srv.sessions), "nothing joins before the user decides"
        app.frame([])  # drawn: the button has its place
        click(app, shown.connect_rect.center)  # "Trust and connect"
        run_until(app, lambda: app.conn.state == "online")
        assert app.ui.status.state == "Online, secure (TLS)"
        assert settings.load(tmp_path / "settings.json").trusted == {
            settings.server_key("127.0.0.1", srv.address[1]): expected
        }
        bob = RawClient(srv.address, tls=trusting(cert))
        bob.join("bob", room="r")
        app.frame([key(pygame.K_r, unicode="r")])
        app.frame(drag([board_point(app, 0.2, 0.2), board_point(app, 0.4, 0.4)]))
        assert bob.recv_until(Add).obj.kind == "rect"  # drawn over TLS, received over TLS
        bob.close()
        app.shutdown()

        again = make_app(screen, tmp_path)  # the next run: no question asked
        again.connect("127.0.0.1", srv.address[1], "alice", "r", tls=True)
        run_until(again, lambda: again.conn.state == "online")
        again.shutdown()


def test_a_changed_certificate_is_said_loudly_and_nothing_is_sent(screen, cert, tmp_path: Path):  # noqa: F811
    with running_server(tls=server_context(*cert), **FAST) as srv:
        saved = settings.Settings(tls=True)
        saved.trusted[settings.server_key("127.0.0.1", srv.address[1])] = "AB:" * 31 + "AB"  # another one
        settings.save(saved, tmp_path / "settings.json")
        app = make_app(screen, tmp_path)
        assert app.ui.connect_screen.tls, "the TLS switch is remembered"
        app.connect("127.0.0.1", srv.address[1], "alice", "r", tls=True)
        run_until(app, lambda: untrusted(app))
        assert app.conn.tls_changed
        assert "CHANGED" in app.ui.connect_screen.error
        assert not any(s.joined for s in srv.sessions)
        app.shutdown()


def test_the_command_line_takes_tls_and_a_fingerprint_in_any_usual_form() -> None:
    args = build_parser().parse_args(
        ["--connect", "h:1", "--tls", "--tls-fingerprint", "sha256:" + "ab" * 32]
    )
    assert args.tls and args.tls_fingerprint == ":".join(["AB"] * 32)
    plain = build_parser().parse_args(["--connect", "h:1"])
    assert not plain.tls and not plain.tls_fingerprint


def test_the_tls_switch_on_the_connect_screen_connects_over_tls(screen, cert, tmp_path: Path):  # noqa: F811
    with running_server(tls=server_context(*cert), **FAST) as srv:
        app = make_app(screen, tmp_path)
        shown = app.ui.connect_screen
        shown.fill("127.0.0.1", srv.address[1], "alice", "r")
        app.frame([])
        assert not shown.tls
        click(app, shown.tls_rect.center)
        assert shown.tls
        click(app, shown.connect_rect.center)
        run_until(app, lambda: untrusted(app))  # it spoke TLS: the server's certificate came back
        assert settings.load(tmp_path / "settings.json").tls
        app.shutdown()
