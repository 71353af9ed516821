"""Where the client connects in a cluster (pgboard/session_cluster.py), fed directly as the session's
other tests are: no socket, no clock. A redirect is followed at once, without growing the back-off;
the peers a server named are tried in turn after failures; a redirect loop backs off."""

from __future__ import annotations

import random

from test_client_session import sent, timers, wire

from pgboard.client_session import BACKOFF_INITIAL, ClientSession, State
from pgboard.protocol import Hello, Join, UserInfo, Welcome
from pgboard.protocol_cluster import MAX_REDIRECTS, Peers, Redirect
from pgboard.session_cluster import GONE_OWNER_RETRY, Routes

HOME = ("home.example", 5151)


def session() -> ClientSession:
    return ClientSession("alice", "art", "secret-alice", rng=random.Random(3))


def greeted(s: ClientSession, now: float = 0.0) -> None:
    s.connect(now)
    s.connection_made(now)
    s.receive_data(wire(Hello(2, "test")), now)
    assert isinstance(sent(s)[-1], Join)


def test_a_redirect_reconnects_at_once_to_the_owner_without_growing_the_back_off() -> None:
    s = session()
    greeted(s)
    s.receive_data(wire(Peers(("b:5152", "c:5153")), Redirect("a.example", 5150)), 1.0)
    assert s.state is State.OFFLINE
    assert timers(s)["reconnect"] == 0.0  # at once
    assert s.attempts == 0  # a redirect is not a failure: the next real one waits BACKOFF_INITIAL
    assert s.routes.target(HOME) == ("a.example", 5150)
    s.connect(2.0)
    s.connection_lost("connection refused", 2.0)  # the owner is gone
    assert s.attempts == 1


def test_a_redirect_to_an_owner_that_died_is_tried_again_soon_however_many_tries_failed() -> None:
    s = session()
    greeted(s)
    for n in range(8):  # the owner died: its lease still names it for a while, so every server says go there
        s.receive_data(wire(Redirect("dead.example", 5150)), 10.0 * n)
        assert s.routes.target(HOME) == ("dead.example", 5150)
        s.connect(10.0 * n + 1)
        s.connection_lost("connection refused", 10.0 * n + 1)
        assert 0.8 * GONE_OWNER_RETRY <= timers(s)["reconnect"] <= 1.2 * GONE_OWNER_RETRY  # not 1, 2, 4, 8
        s.timer_fired("reconnect", 10.0 * n + 2)  # home again: it redirects while the lease holds
        assert s.routes.target(HOME) == HOME
        s.connection_made(10.0 * n + 2)
        s.receive_data(wire(Hello(2, "test")), 10.0 * n + 2)
    assert s.routes.redirects < MAX_REDIRECTS  # a redirect that led nowhere is no loop: none backed off
    s.connection_lost("connection refused", 100.0)  # home itself failing grows the back-off as before
    assert timers(s)["reconnect"] > 2 * GONE_OWNER_RETRY


def test_the_back_off_grows_once_per_round_of_home_and_its_peers() -> None:
    s = session()
    greeted(s)
    s.receive_data(wire(Peers(("b:5152", "c:5153"))), 0.0)
    delays = []
    for n in range(6):  # home, b, c, home, b, c: all refused
        s.connection_lost("connection refused", float(n))
        delays.append(timers(s)["reconnect"])
        s.timer_fired("reconnect", float(n))
    assert [round(d / BACKOFF_INITIAL) for d in delays] == [1, 1, 1, 2, 2, 2]  # +-20% jitter


def test_after_failures_the_next_tries_go_to_the_peers_in_turn_and_a_welcome_starts_at_home() -> None:
    routes = Routes()
    routes.peers = [("b", 2), HOME, ("c", 3)]
    assert [routes.target(HOME) for _ in range(4)] == [HOME, ("b", 2), ("c", 3), HOME]
    routes.welcomed()
    assert routes.target(HOME) == HOME


def test_the_server_that_names_the_peers_stays_among_them() -> None:
    """A names B; later B (reached after A died) names only the others, A: B must stay in the ring."""
    routes, s = Routes(), session()
    assert routes.target(HOME) == HOME
    routes.handle(s, Peers(("b:2",)), 0.0)
    assert routes.target(HOME) == ("b", 2)  # home failed: the peer
    routes.handle(s, Peers(("home.example:5151",)), 1.0)  # B: "the others are: home"
    assert {routes.target(HOME) for _ in range(2)} == {HOME, ("b", 2)}


def test_redirects_in_a_row_past_the_limit_back_off() -> None:
    s = session()
    for n in range(MAX_REDIRECTS):
        greeted(s, float(n))
        s.receive_data(wire(Redirect("a", 1)), float(n))
        assert timers(s)["reconnect"] == 0.0
        assert s.routes.target(HOME) == ("a", 1)  # the shell's next connect goes there
    greeted(s, 10.0)
    s.receive_data(wire(Redirect("a", 1)), 10.0)
    assert (timers(s)["reconnect"] or 0) > 0  # the usual back-off, not another hop at once
    assert s.routes.redirect is None


def test_a_welcome_resets_the_redirect_count() -> None:
    s = session()
    greeted(s)
    s.receive_data(wire(Redirect("a", 1)), 0.0)
    greeted(s, 1.0)
    s.receive_data(wire(Welcome("u1", "alice", "art", (UserInfo("u1", "alice"),), 0)), 1.0)
    assert s.routes.redirects == 0
