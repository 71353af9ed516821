"""Where the client connects in a cluster (pgboard/session_cluster.py), fed directly as the session's
other tests are: no socket, no clock. A redirect is followed at once, without growing the back-off;
the peers a server named are tried in turn after failures; a redirect loop backs off."""

from __future__ import annotations

import random

from test_client_session import sent, timers, wire

from pgboard.client_session import ClientSession, State
from pgboard.protocol import Hello, Join, UserInfo, Welcome
from pgboard.protocol_cluster import MAX_REDIRECTS, Peers, Redirect
from pgboard.session_cluster import Routes

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


def test_after_failures_the_next_tries_go_to_the_peers_in_turn_and_a_welcome_starts_at_home() -> None:
    routes = Routes()
    routes.peers = [("b", 2), HOME, ("c", 3)]
    assert [routes.target(HOME) for _ in range(4)] == [HOME, ("b", 2), ("c", 3), HOME]
    routes.welcomed()
    assert routes.target(HOME) == HOME


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
