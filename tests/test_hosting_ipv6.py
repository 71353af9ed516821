"""Host mode over IPv6 (issue 13): the embedded server listens on ``::`` as well as IPv4, the join line
shows an IPv6 address in brackets, ``pgboard --connect [::1]:PORT`` is understood, and the server keeps
an IPv6 peer's limits by its /64 (IPV6_KEY_PREFIX) and an IPv4 peer's by its IPv4 address whichever
socket it came through."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest
from fixtures import SIZE
from pgboard_server.limits import Limits
from pgboard_server.ratelimit import IPV6_KEY_PREFIX, AddressTable, address_key
from pgboard_server.server import BoardServer
from support import RawClient
from test_app import run_until

from pgboard import cli, hosting
from pgboard.app import App
from pgboard.widgets.connect import ConnectScreen
from pgboard.widgets.text import FontSet


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback on this machine")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    pygame.init()
    screen = pygame.display.set_mode(SIZE)
    app = App(screen, settings_path=tmp_path / "s.json", export_dir=tmp_path, host_db=str(tmp_path / "h.db"))
    yield app
    app.shutdown()
    pygame.quit()


@needs_ipv6
def test_a_hosted_board_takes_friends_over_ipv6_and_ipv4_on_the_same_port(app: App) -> None:
    app.host("alice", "r", 0)
    run_until(app, lambda: app.conn is not None and app.conn.state == "online")
    port = app.server.address[1]
    with RawClient(("::1", port)) as six, RawClient(("127.0.0.1", port)) as four:
        assert six.join("bob", room="r").room == "r"
        assert four.join("carol", room="r").room == "r"
        run_until(app, lambda: {"bob", "carol"} <= set(app.room.users.values()))
        # the IPv4 friend came through the dual-stack socket as ::ffff:127.0.0.1: kept as 127.0.0.1
        assert app.server.addresses.connections("127.0.0.1") == 2  # alice's own link and carol's
        assert app.server.addresses.connections("::1") == 1


@needs_ipv6
def test_connect_takes_an_ipv6_address_in_brackets_and_joins_through_it(app: App, tmp_path: Path) -> None:
    with BoardServer("::1", 0, ":memory:") as server:
        args = cli.build_parser().parse_args(["--connect", f"[::1]:{server.address[1]}"])
        assert args.connect == ("::1", server.address[1])
        app.connect(*args.connect, "alice", "r")
        run_until(app, lambda: app.conn is not None and app.conn.state == "online")


def test_an_ipv6_address_with_a_port_must_be_in_brackets() -> None:
    parse = cli.build_parser().parse_args
    assert parse(["--connect", "[2001:db8::5]:5151"]).connect == ("2001:db8::5", 5151)
    assert parse(["--connect", "example.org:5151"]).connect == ("example.org", 5151)
    for bad in ("2001:db8::5:5151", "[2001:db8::5]5151", "[::1]:", "[]:5151", "host:99999"):
        with pytest.raises(SystemExit):
            parse(["--connect", bad])


def test_the_join_line_puts_an_ipv6_address_in_brackets() -> None:
    assert hosting.join_command("2001:db8::5", 5151) == "pgboard --connect [2001:db8::5]:5151"
    assert hosting.join_command("192.0.2.7", 5151) == "pgboard --connect 192.0.2.7:5151"
    shown = hosting.invitation(["192.0.2.7", "2001:db8::5"], 5151)
    assert "pgboard --connect 192.0.2.7:5151" in shown and "[2001:db8::5]:5151" in shown
    assert hosting.HOST_INTERFACE == "::"


@pytest.mark.reliability
def test_ipv6_peers_share_their_limits_by_their_64_and_a_mapped_ipv4_peer_is_its_ipv4_address() -> None:
    """One machine picks any of 2**64 addresses in its /64: keyed by address, it would get a fresh set
    of connection slots and buckets at will."""
    table = AddressTable(Limits(max_connections_per_address=2), lambda: 0.0)
    assert IPV6_KEY_PREFIX == 64
    assert table.acquire("2001:db8:1:2::a") and table.acquire("2001:db8:1:2:ffff:1:2:3")
    assert table.acquire("2001:db8:1:2::b") is None, "a third address of the same /64 is the same machine"
    assert table.acquire("2001:db8:1:3::a") is not None, "the next /64 is someone else"
    assert table.acquire("::ffff:192.0.2.7") and table.acquire("192.0.2.7")
    assert table.acquire("192.0.2.7") is None, "an IPv4 peer counts the same through either socket"
    assert address_key("fe80::1%eth0") == "fe80::/64"
    assert address_key("not-an-address") == "not-an-address"


def test_the_connect_screen_takes_an_ipv6_address_in_brackets() -> None:
    asked = []
    screen = ConnectScreen(FontSet(), on_connect=lambda host, port, *a, **kw: asked.append((host, port)))
    screen.fill("[2001:db8::5]", 5151, "alice", "r")
    screen.submit_connect()
    assert asked == [("2001:db8::5", 5151)]
    assert screen.server_address() == ("2001:db8::5", 5151), "the room list asks the same server"
