"""Object ids scoped to their device (pgboard/ids.py): nobody can use up the ids another client draws with.

The attack (issue 10, 5): seeing one of a victim's objects ``TAG-N``, a guest added and deleted
``TAG-(N+1)`` ... ``TAG-(N+300)``; every later drawing of the victim was refused ``duplicate_id`` and
rolled back on its screen. Here a real victim (Connection + RoomView, as the app has them) draws
against a real server while a raw attacker tries every form of the squat.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable

import pytest
import reliability
from pgboard_server.limits import NO_RATE_LIMITS
from pgboard_server.store import Store
from support import WAIT, RawClient, running_server

from bench import fdselect
from pgboard import ids
from pgboard.board import Board
from pgboard.client_session import ClientSession
from pgboard.net import Connection
from pgboard.protocol import (
    PROTOCOL_VERSION,
    AccountError,
    AccountOk,
    Add,
    BoardObject,
    Delete,
    Error,
    Login,
    Move,
    Signup,
    encode,
    payload_of,
)
from pgboard.room import RoomView
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets.statusbar import connection_text

ROOM = "ids"
CHURNED = 40_000  # ids added and deleted in the memory test
POLL = 0.05  # seconds a pump round waits on the socket at most (a bound, not a sleep)


class Member:
    """A real client: a Connection pumped from the test thread under a RoomView, as the app has them."""

    def __init__(self, port: int, nick: str, secret: str) -> None:
        self.clock = ManualClock()
        self.sched = Scheduler(now=self.clock.now)
        self.conn = Connection(self.sched, "127.0.0.1", port, nick, ROOM, secret)
        self.view = RoomView(self.conn)
        self.errors: list[Error] = []
        self.view.on_error = self.errors.append

    def pump_until(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        conn, deadline = self.conn, time.monotonic() + timeout
        while True:
            conn.pump()
            self.sched.run_due()
            self.view.apply_incoming()
            if predicate():
                return
            left, fd = deadline - time.monotonic(), conn.fileno()
            if left <= 0 or fd < 0:
                raise AssertionError(f"condition not met; {conn.state!r}: {connection_text(conn)}")
            fdselect.select([fd], [fd] if conn.wants_write() else [], [], min(left, POLL))

    def draw(self, n: int) -> BoardObject:
        obj = BoardObject(self.view.new_id(), "rect", ((100 + n, 100), (200 + n, 160)), "#2060c0", 3)
        self.view.submit(Add(self.view.new_oid(), obj))
        return obj

    def settled(self) -> bool:
        return self.conn.state == "online" and not self.conn.pending_ops


def squats(victim_id: str, attacker_prefix: str, count: int) -> dict[str, list[str]]:
    """Every form of the next ``count`` ids of the client that drew ``victim_id``, by form."""
    prefix, _, local = victim_id.rpartition(ids.SEPARATOR)
    tag, _, n = local.rpartition("-")
    nexts = [f"{tag}-{int(n) + k}" for k in range(1, count + 1)]
    forms = {
        "old TAG-N": nexts,
        "attacker's prefix": [ids.scoped(attacker_prefix, x) for x in nexts],
        "no separator": [f"{attacker_prefix}{x}" for x in nexts],
    }
    if prefix:  # the victim's own scope, and look-alikes of it
        forms["victim's prefix"] = [ids.scoped(prefix, x) for x in nexts]
        forms["victim's prefix upper-case"] = [ids.scoped(prefix.upper(), x) for x in nexts]
        forms["victim's prefix, other separator"] = [f"{prefix}.{x}" for x in nexts]
    return forms


def squat(attacker: RawClient, forms: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """Add (and at once delete) every id of ``forms``, pipelined; how each form was answered."""
    assert attacker.welcome is not None
    me = attacker.welcome.user
    sent: dict[str, str] = {}  # oid -> form
    for form, oids in forms.items():
        for i, oid_ in enumerate(oids):
            op = f"s{len(sent)}"
            sent[op] = form
            attacker.send(Add(op, BoardObject(oid_, "line", ((1, 1 + i % 900), (9, 9)))))
            attacker.send(Delete(f"d{len(sent)}", oid_))
    answers: dict[str, dict[str, int]] = {form: {} for form in forms}
    pending = set(sent)
    deadline = time.monotonic() + WAIT * 4
    while pending:
        msg = attacker.recv(max(0.0, deadline - time.monotonic()))
        if isinstance(msg, Error) and msg.oid in pending:
            code = msg.code
        elif isinstance(msg, Add) and msg.author == me and msg.oid in pending:
            code = "accepted"
        else:
            continue
        pending.discard(msg.oid)
        counts = answers[sent[msg.oid]]
        counts[code] = counts.get(code, 0) + 1
    return answers


@pytest.mark.reliability
def test_a_guest_who_squats_the_next_300_ids_of_a_victim_cannot_stop_it_drawing() -> None:
    with running_server(**NO_RATE_LIMITS) as srv:
        port = srv.address[1]
        victim = Member(port, "victim", "victim-secret")
        victim.conn.start()
        victim.pump_until(lambda: victim.view.caught_up)
        first = victim.draw(0)
        victim.pump_until(victim.settled)
        with RawClient(srv.address) as attacker, RawClient(srv.address) as bystander:
            attacker.join("attacker", room=ROOM, client="attacker-secret")
            bystander.join("bystander", room=ROOM, client="bystander-secret")
            _, board, _ = attacker.catch_up()
            bystander.catch_up()
            seen = [m.obj.id for m in board]  # type: ignore[attr-defined]
            assert seen == [first.id], "the attacker sees the victim's object and its id"
            forms = squats(first.id, ids.device_id("attacker-secret"), 300)
            started = time.monotonic()
            answers = squat(attacker, forms)
            squat_s = time.monotonic() - started

            drawn = [victim.draw(n) for n in range(1, 6)]
            victim.pump_until(victim.settled)
            mine = {o.id for o in drawn}
            got = bystander.recv_all_until(lambda m: isinstance(m, Add) and m.obj.id == drawn[-1].id)
            reached = [m.obj.id for m in got if isinstance(m, Add) and m.obj.id in mine]
        assert victim.errors == [], f"the victim was refused: {victim.errors[:3]}"
        assert sorted(reached) == sorted(mine), f"{len(reached)} of 5 reached the other member"
        assert all(victim.view.board.get(i) is not None for i in mine), "nothing rolled back on its screen"
        for form, counts in answers.items():
            if form == "attacker's prefix":
                # its own scope: accepted, and harmless to anyone else
                assert counts == {"accepted": 300}, (form, counts)
            else:
                assert counts == {"bad_id": 300}, (form, counts)
    tried = sum(len(v) for v in forms.values())
    refused = sum(c.get("bad_id", 0) for c in answers.values())
    reliability.record_abuse(
        reliability.Abuse(
            attack="Object-id squatting: seeing a victim's object, a guest adds and deletes the victim's "
            f"next 300 ids in {len(forms)} forms (old TAG-N, victim's prefix, look-alikes, own prefix)",
            bound="object ids scoped to their device (pgboard/ids.py, protocol 2): an add's id must begin "
            "with the adder's SHA-256(secret)[:DEVICE_ID_HEX] and ':', else bad_id",
            measured=f"{tried} squatting adds in {squat_s:.2f} s: {refused} refused bad_id, 300 accepted in "
            f"the attacker's own scope; the victim's next 5 drawings: 5 of 5 reached the other member, "
            f"0 refused (was 0 of 5, all duplicate_id)",
        )
    )


def test_what_is_drawn_before_the_first_welcome_carries_the_right_ids_and_reaches_the_board() -> None:
    """The client knows its prefix from its secret: shapes drawn while it never yet reached the
    server (the server is slow to answer, or down at start) are accepted when it does."""
    with running_server() as srv:
        artist = Member(srv.address[1], "early", "early-secret")
        early = [artist.draw(n) for n in range(3)]  # nothing connected yet: no welcome, no author id
        assert artist.view.me == ""
        assert all(ids.owned_by(o.id, ids.device_id("early-secret")) for o in early)
        artist.conn.start()
        artist.pump_until(lambda: artist.view.caught_up and artist.settled())
        assert artist.errors == []
        with RawClient(srv.address) as watcher:
            watcher.join("watcher", room=ROOM)
            _, objs, _ = watcher.catch_up()
        assert sorted(m.obj.id for m in objs) == sorted(o.id for o in early)  # type: ignore[attr-defined]


def test_a_raw_client_without_a_secret_uses_its_welcome_user_as_its_prefix() -> None:
    with running_server() as srv, RawClient(srv.address) as c:
        user = c.join("nosecret", room=ROOM).user
        c.catch_up()
        c.send(Add("a1", BoardObject(ids.scoped(user, "1"), "line", ((1, 1), (9, 9)))))
        assert isinstance(c.recv_until((Add, Error)), Add)
        c.send(Add("a2", BoardObject("plain-2", "line", ((1, 1), (9, 9)))))
        err = c.recv_until((Add, Error))
        assert isinstance(err, Error) and err.code == "bad_id" and err.oid == "a2" and user in err.detail


def test_the_protocol_version_says_ids_are_scoped() -> None:
    assert PROTOCOL_VERSION == 2


def test_owned_by_needs_the_exact_prefix_the_separator_and_something_after() -> None:
    p = ids.device_id("s")
    assert len(p) == ids.DEVICE_ID_HEX and ids.scoped(p, "x") == p + ":x"
    assert ids.owned_by(p + ":x", p)
    assert ids.owned_by(p + ":a:b-1", p)
    for bad in (p, p + ":", p + "x", p.upper() + ":x", p[:-1] + ":x", "x" + p + ":x", p + ".x", ""):
        assert not ids.owned_by(bad, p), bad


def test_ids_of_two_processes_with_one_secret_never_collide() -> None:
    a, b = RoomView(ClientSession("a", "", "shared")), RoomView(ClientSession("b", "", "shared"))
    assert a.id_prefix == b.id_prefix == ids.device_id("shared")
    assert {a.new_id() for _ in range(100)}.isdisjoint({b.new_id() for _ in range(100)})


@pytest.mark.reliability
def test_deleted_ids_cost_the_board_no_memory() -> None:
    """The duplicate check used to remember every id ever used (~60 bytes each, for ever). Now only ids
    on the board count: once the bounded parts are full (the undo steps, MAX_HISTORY; the operation
    ids, MAX_REMEMBERED_OPS), 40,000 more ids coming and going leave the board no bigger (what is
    left is the bounded dicts' own resizing: under 1 MiB, where every id kept cost ~130 bytes)."""
    board = Board()
    prefix = ids.device_id("churn")
    count = iter(range(10**9))

    def churn(n: int) -> None:
        for _ in range(n):
            i = next(count)
            oid = ids.scoped(prefix, f"t-{i}")
            board.apply(Add(f"a{i}", BoardObject(oid, "line", ((1, 1), (9, 9)))), "churner")
            board.apply(Delete(f"d{i}", oid), "churner")

    churn(5_000)  # fills the bounded parts
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        churn(CHURNED)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(board) == 0
    per_id = grown / CHURNED
    assert grown < 1024 * 1024, f"{grown} bytes more after {CHURNED} ids came and went ({per_id:.0f} an id)"
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"Id churn: a guest adds and deletes {CHURNED} objects of its own, each with a fresh id",
            bound="duplicate_id only for an id on the board now (ids are scoped to their device, so no id "
            "ever used needs remembering); undo steps and operation ids have their own bounds",
            measured=f"board model memory after the bounded parts were full: +{grown / 1024:.0f} KiB for "
            f"{CHURNED} ids ({grown / CHURNED:.0f} bytes an id, the dicts' resizing; was 133 bytes an id, "
            "kept for ever)",
        )
    )


def test_two_machines_of_one_account_add_the_same_local_id_and_both_land() -> None:
    """An account's author id is shared by its machines; the id prefix is each machine's own (its
    secret's), so identical counters on a laptop and a desktop make different ids."""
    fast = {"accounts": True, "scrypt_n": 16, "scrypt_r": 1}  # cheap hashes, as in test_server_accounts
    landed = []
    with running_server(**fast) as srv:
        for secret, action in (("laptop-secret", Signup), ("desktop-secret", Login)):
            with RawClient(srv.address) as c:
                c.send(action("zoe", "correct horse"))
                assert isinstance(c.recv_until((AccountOk, AccountError)), AccountOk)
                c.join("zoe", room=ROOM, client=secret)
                c.catch_up()
                mine = ids.scoped(ids.device_id(secret), "tag-1")
                # oids differ: resends matched per author, not per device, are issue 11's (part 1)
                c.send(Add(f"{secret}-1", BoardObject(mine, "line", ((1, 1), (9, 9)))))
                echo = c.recv_until((Add, Error))
                assert isinstance(echo, Add), echo
                landed.append((echo.author, echo.obj.id))
                theirs = ids.scoped(ids.device_id("laptop-secret"), "tag-2")
                if secret == "desktop-secret":  # the same account, but the laptop's scope
                    c.send(Add("k-2", BoardObject(theirs, "line", ((1, 1), (9, 9)))))
                    err = c.recv_until((Add, Error))
                    assert isinstance(err, Error) and err.code == "bad_id"
    (a1, id1), (a2, id2) = landed
    assert a1 == a2 and id1 != id2


def test_a_log_written_with_old_unscoped_ids_still_loads_and_its_author_still_edits_it(tmp_path) -> None:
    """Protocol 1 ids (``TAG-N``) in a room's log: replay applies them as they are (apply_echo does
    not check scopes), a joiner gets them, their author moves and deletes them, and new adds are
    scoped."""
    db = tmp_path / "old.sqlite3"
    author = ids.device_id("old-secret")
    old = BoardObject("a0fe730d-1", "rect", ((10, 10), (90, 60)), "#ff0000", 3, author=author)
    store = Store(db)
    store.append_ops(ROOM, [(1, payload_of(encode(Add("a0fe730d.1", old, seq=1, author=author))))])
    store.close()
    with running_server(db) as srv, RawClient(srv.address) as c:
        c.join("old", room=ROOM, client="old-secret")
        _, objs, done = c.catch_up()
        assert [m.obj for m in objs] == [old] and done.seq == 1  # type: ignore[attr-defined]
        c.send(Move("m1", old.id, 5, 5))
        assert isinstance(c.recv_until((Move, Error)), Move)
        c.send(Delete("d1", old.id))
        assert isinstance(c.recv_until((Delete, Error)), Delete)
        c.send(Add("a2", BoardObject("a0fe730d-2", "line", ((1, 1), (9, 9)))))  # an old-style new id
        err = c.recv_until((Add, Error))
        assert isinstance(err, Error) and err.code == "bad_id"
