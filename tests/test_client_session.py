"""The client's session (pgboard/client_session.py) fed directly, as h11's tests feed its Connection: no
socket, no clock, no scheduler. Bytes go in through ``receive_data``, time through ``now``; what it wants
sent comes out of ``data_to_send`` and is decoded here; what it asks of the shell (timers, a socket) and
tells the view comes out as events."""

from __future__ import annotations

import dataclasses
import gc
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgboard import client_session as cs
from pgboard.catchup_gc import NO_FULL_COLLECTION
from pgboard.client_session import (
    CatchUpFinished,
    CatchUpStarted,
    ClientSession,
    Confirmed,
    Credentials,
    IllegalTransition,
    Received,
    Refused,
    State,
    StateChanged,
    TimerWanted,
)
from pgboard.protocol import (
    AccountOk,
    Ack,
    Add,
    BoardObject,
    CatchUp,
    CaughtUp,
    Chat,
    Codec,
    Cursor,
    Delete,
    Error,
    Hello,
    Join,
    JoinError,
    Login,
    MailAck,
    Message,
    Move,
    Obj,
    Ping,
    Pong,
    Renamed,
    RoomState,
    Say,
    Signup,
    UserInfo,
    UserJoined,
    UserLeft,
    Welcome,
    encode,
)
from pgboard.room import RoomView
from pgboard.session_social import MAX_CHAT_REMEMBERED, ChatLine, RightsChanged, UsersChanged


def line(oid: str, x: int = 10, author: str = "") -> BoardObject:
    return BoardObject(oid, "line", ((x, 10), (x + 50, 60)), "#ff0000", 4, author=author)


def wire(*msgs: Message) -> bytes:
    return b"".join(encode(m) for m in msgs)


def sent(session: ClientSession) -> list[Message]:
    codec = Codec()
    codec.receive_data(session.data_to_send())
    return list(codec.messages())


def timers(session: ClientSession) -> dict[str, float | None]:
    """The timers asked for since the last call, by name (the last word on each)."""
    out = {e.name: e.delay for e in session.events if isinstance(e, TimerWanted)}
    session.events = type(session.events)(e for e in session.events if not isinstance(e, TimerWanted))
    return out


def states(session: ClientSession) -> list[State]:
    return [e.new for e in session.events if isinstance(e, StateChanged)]


def welcome(seq: int = 0, count: int = 0, *objs: BoardObject) -> bytes:
    return wire(
        Welcome("u1", "alice", "lobby", (UserInfo("u1", "alice"),), seq),
        CatchUp(count, "board"),
        *(Obj(o) for o in objs),
        CaughtUp(seq),
    )


def joined(session: ClientSession, now: float = 0.0, seq: int = 0) -> list[Message]:
    """Connect, greet, join and catch up; returns what the session sent (the join first)."""
    session.connect(now)
    session.connection_made(now)
    session.receive_data(wire(Hello(2, "test")), now)
    out = sent(session)
    session.receive_data(welcome(seq), now)
    return out + sent(session)


def fresh() -> ClientSession:
    return ClientSession("alice", "lobby", "secret-alice", rng=random.Random(3))


def echo(op: Add, seq: int, author: str = "u1") -> Message:
    return Add(op.oid, dataclasses.replace(op.obj, author=author), seq=seq, author=author)


# -- the transition table


def test_every_state_has_its_moves_and_an_illegal_one_raises_our_error_not_the_servers() -> None:
    assert set(cs.TRANSITIONS) == set(State)
    s = fresh()
    with pytest.raises(IllegalTransition):
        s.connection_made(0.0)  # closed -> joining skips connecting
    with pytest.raises(IllegalTransition):
        s.receive_data(wire(Hello(2, "x")), 0.0)  # nothing is linked
    assert s.state is State.CLOSED and not s.events, "a refused move changes nothing"
    s.connect(0.0)
    with pytest.raises(IllegalTransition):
        s.connect(0.0)  # connecting twice


def test_a_server_that_sends_things_out_of_order_never_raises() -> None:
    s = fresh()
    s.connect(0.0)
    s.connection_made(0.0)
    # a welcome before hello, a caught_up without a header, a pong never asked, a second welcome
    s.receive_data(
        wire(CaughtUp(3), Pong(77), Welcome("u1", "alice", "lobby"), Welcome("u1", "alice", "x")), 0.0
    )
    s.receive_data(wire(CaughtUp(3), CaughtUp(4)), 0.0)
    assert s.state is State.ONLINE and s.last_seq == 4


# -- log-in and join


def test_a_guest_joins_after_hello_and_an_account_logs_in_first_after_every_connect() -> None:
    s = fresh()
    assert joined(s)[0] == Join("alice", "lobby", "", None, "secret-alice", packed=True, snapshot=True)
    assert s.state is State.ONLINE and s.user_id == "u1"
    acc = ClientSession("zoë", "", "sec", credentials=Credentials("signup", "pw"))
    acc.connect(0.0)
    acc.connection_made(0.0)
    assert acc.state is State.LOGGING_IN
    acc.receive_data(wire(Hello(2, "t")), 0.0)
    assert [type(m) for m in sent(acc)] == [Signup]
    acc.receive_data(wire(AccountOk("signup", "zoë", "u9")), 0.0)
    assert acc.state is State.JOINING and isinstance(sent(acc)[0], Join)
    acc.connection_lost("gone", 1.0)
    acc.timer_fired("reconnect", 2.0)
    acc.connection_made(2.0)
    acc.receive_data(wire(Hello(2, "t")), 2.0)
    assert sent(acc) == [Login("zoë", "pw")], "signed up once: every reconnect logs in"


# -- the ledger: outbox, flow, rollback


def test_operations_drawn_offline_wait_and_go_in_order_once_caught_up_and_echoes_confirm_them() -> None:
    s = fresh()
    ops = [Add(f"o{i}", line(f"a{i}", i)) for i in range(3)]
    for op in ops:
        s.submit(op, drawn=True)
    assert s.data_to_send() == b"" and s.pending_ops == ops
    out = joined(s)
    assert out[1:] == ops, "after the join, in the order drawn"
    s.events.clear()
    s.receive_data(wire(echo(ops[0], 1), echo(ops[1], 2, author="u2")), 0.0)  # the second: not mine
    assert s.pending_ops == ops[1:]
    assert [type(e) for e in s.events] == [Confirmed, Received], "mine confirms, another's is applied"
    s.receive_data(wire(Ack(ops[1].oid, 2), Ack(ops[2].oid, 3)), 0.0)
    assert s.pending_ops == []


def test_at_most_max_in_flight_are_sent_and_each_confirmation_lets_one_more_go() -> None:
    s = fresh()
    joined(s)
    ops = [Add(f"o{i}", line(f"a{i}")) for i in range(cs.MAX_IN_FLIGHT + 5)]
    for op in ops:
        s.submit(op)
    assert sent(s) == ops[: cs.MAX_IN_FLIGHT]
    s.receive_data(wire(Ack("o0", 1), Ack("o1", 2)), 0.0)
    assert sent(s) == ops[cs.MAX_IN_FLIGHT : cs.MAX_IN_FLIGHT + 2]


def test_a_refused_operation_leaves_the_ledger_with_what_its_rollback_needs() -> None:
    s = fresh()
    joined(s)
    gone = line("theirs", author="u2")
    delete = Delete("d1", "theirs")
    s.submit(delete, drawn=True, before=gone)
    s.submit(Move("m1", "x", 5, 5))  # not drawn: nothing to take back
    s.events.clear()
    s.receive_data(wire(Error("not_yours", "not yours", oid="d1"), Error("not_yours", oid="m1")), 0.0)
    refused = [e for e in s.events if isinstance(e, Refused)]
    assert [r.entry.op for r in refused if r.entry] == [delete, Move("m1", "x", 5, 5)]
    assert refused[0].entry is not None and refused[0].entry.before == gone and refused[0].entry.drawn
    assert s.pending_ops == [] and s.state is State.ONLINE


def test_a_rate_limited_operation_holds_every_send_then_all_unconfirmed_go_again_in_order() -> None:
    s = fresh()
    joined(s)
    ops = [Add(f"o{i}", line(f"a{i}")) for i in range(4)]
    for op in ops[:3]:
        s.submit(op)
    assert sent(s) == ops[:3]
    timers(s)
    s.receive_data(wire(Ack("o0", 1), Error("rate_limited", oid="o1", retry=2.5)), 0.0)
    assert s.state is State.HELD and s.held
    assert timers(s) == {"hold": 2.5}
    assert not any(isinstance(e, Refused) for e in s.events), "nothing to roll back: it is kept"
    s.submit(ops[3])
    s.receive_data(wire(Error("rate_limited", oid="o2", retry=2.5)), 0.0)
    assert sent(s) == [] and timers(s) == {}, "held: nothing goes, and one hold at a time"
    s.timer_fired("hold", 2.5)
    assert s.state is State.ONLINE
    assert sent(s) == ops[1:], "the held ones again, with their oids, in the order drawn"


# -- catch-up


def test_a_catch_up_stages_in_events_and_redraws_what_is_still_mine() -> None:
    s = fresh()
    mine = Add("o1", line("mine"))
    s.submit(mine, drawn=True)
    s.submit(Delete("d1", "x"), drawn=True)
    s.connect(0.0)
    s.connection_made(0.0)
    s.receive_data(wire(Hello(2, "t")), 0.0)
    s.events.clear()
    s.receive_data(welcome(2, 2, line("a"), line("b"))[: -len(encode(CaughtUp(2)))], 0.0)
    assert s.state is State.CATCHING_UP and s.catchup_progress == (2, 2)
    s.receive_data(wire(CaughtUp(2)), 0.0)
    kinds = [type(e) for e in s.events if not isinstance(e, (TimerWanted, StateChanged))]
    assert kinds == [UsersChanged, CatchUpStarted, Received, Received, CatchUpFinished]
    done = [e for e in s.events if isinstance(e, CatchUpFinished)][0]
    assert done.redraw == (mine, Delete("d1", "x")) and not done.aborted


def test_a_catch_up_the_link_loses_still_ends_and_a_view_left_mid_catch_up_gives_the_collector_back() -> None:
    normal = gc.get_threshold()
    s = fresh()
    view = RoomView(s)
    s.connect(0.0)
    s.connection_made(0.0)
    s.receive_data(wire(Hello(2, "t")) + welcome(2, 2, line("a"))[: -len(encode(CaughtUp(2)))], 0.0)
    view.apply_incoming()
    assert gc.get_threshold()[2] == NO_FULL_COLLECTION, "the collector waits while the board comes in"
    s.connection_lost("cut", 1.0)
    assert isinstance(s.events[-2], CatchUpFinished) and s.events[-2].aborted
    view.apply_incoming()
    assert gc.get_threshold() == normal, "a lost catch-up gives the collector back"
    s.timer_fired("reconnect", 5.0)
    s.connection_made(5.0)
    s.receive_data(wire(Hello(2, "t")) + welcome(2, 2, line("a"))[: -len(encode(CaughtUp(2)))], 5.0)
    view.apply_incoming()
    assert gc.get_threshold() != normal
    view.close()  # the app leaves the room during its catch-up (App._leave)
    assert gc.get_threshold() == normal, "leaving during a catch-up gives the collector back"


# -- reconnect


def test_a_drop_keeps_the_unacked_and_the_rejoin_resends_them_with_the_same_oids_after_the_catch_up() -> None:
    s = fresh()
    joined(s, seq=4)
    ops = [Add(f"o{i}", line(f"a{i}")) for i in range(3)]
    for op in ops:
        s.submit(op)
    frames = s.data_to_send()
    s.receive_data(wire(echo(ops[0], 5)), 1.0)
    timers(s)
    s.connection_lost("cut", 1.0)
    assert s.state is State.OFFLINE and s.pending_ops == ops[1:]
    wanted = timers(s)
    assert 0 < (wanted["reconnect"] or 0) <= cs.BACKOFF_INITIAL * (1 + cs.BACKOFF_JITTER)
    assert wanted["ping"] is None and wanted["silence"] is None, "the link's timers stop with it"
    s.timer_fired("reconnect", 2.0)
    s.connection_made(2.0)
    s.receive_data(wire(Hello(2, "t")), 2.0)
    join = Join("alice", "lobby", "", 5, "secret-alice", packed=True, snapshot=True)
    assert sent(s) == [join], "since the last seq"
    s.receive_data(welcome(6), 2.0)
    again = s.data_to_send()
    assert again == frames[len(encode(ops[0])) :], "byte for byte the same frames: the same oids"
    s.receive_data(wire(Ack("o1", 6), echo(ops[2], 7)), 2.0)
    assert s.pending_ops == []


def test_the_back_off_grows_caps_and_never_gives_up() -> None:
    s = fresh()
    s.connect(0.0)
    delays = []
    for n in range(1, 200):
        s.connection_lost("refused", float(n))
        assert s.state is State.OFFLINE
        assert s.long_outage == (n >= cs.LONG_OUTAGE_ATTEMPTS)
        delays.append(timers(s)["reconnect"])
        s.timer_fired("reconnect", float(n))
        assert s.state is State.CONNECTING, f"try {n + 1} is made"
    assert delays[0] <= 1 and all(d is not None and d <= cs.BACKOFF_MAX * 1.2 for d in delays)
    assert min(d for d in delays[20:] if d is not None) >= cs.BACKOFF_MAX * 0.8


def test_a_room_moving_between_servers_is_tried_again_when_the_server_says_not_after_the_back_off() -> None:
    s = fresh()
    s.connect(0.0)
    for n in range(1, 6):  # five failed tries: the back-off has grown to ~8 s
        s.connection_lost("refused", float(n))
        s.timer_fired("reconnect", float(n))
    s.connection_made(6.0)
    s.receive_data(wire(Hello(2, "t"), Error("moving", "the room is moving", retry=1.0)), 6.0)
    s.connection_lost("closed by the server", 6.0)
    assert 0.8 <= timers(s)["reconnect"] <= 1.2  # as told, with jitter
    s.timer_fired("reconnect", 7.0)
    s.connection_lost("refused", 8.0)  # told once: the next drop backs off as before
    assert timers(s)["reconnect"] >= cs.BACKOFF_INITIAL * 2**5 * 0.8  # the seventh try: doubled six times


def test_fatal_errors_fail_without_retry_and_retry_now_leaves_refused_at_once() -> None:
    s = fresh()
    joined(s)
    timers(s)
    s.receive_data(wire(Error("kicked", "bye", fatal=True)), 0.0)
    assert s.state is State.FAILED and timers(s).get("reconnect") is None
    s.start(1.0)
    s.connection_made(1.0)
    s.receive_data(wire(Hello(2, "t"), JoinError("taken", "taken")), 1.0)
    assert s.state is State.REFUSED and s.join_error is not None
    assert s.retry_now(10.0) and s.state is State.CONNECTING and s.join_error is None


# -- heartbeat and chat


def test_pings_measure_the_round_trip_and_silence_drops_the_link() -> None:
    s = fresh()
    joined(s)
    sent(s)
    s.timer_fired("ping", 5.0)
    assert sent(s) == [Ping(1)]
    s.receive_data(wire(Pong(1), Ping(9)), 5.25)
    assert s.latency == pytest.approx(0.25) and sent(s) == [Pong(9)]
    timers(s)
    s.timer_fired("silence", 10.0)  # heard 4.75 s ago: wait for the rest
    assert timers(s) == {"silence": pytest.approx(cs.TIMEOUT - 4.75)}
    s.timer_fired("silence", 5.25 + cs.TIMEOUT)
    assert s.state is State.OFFLINE and "nothing heard" in s.last_error


def test_chat_typed_offline_goes_after_the_catch_up_and_a_cursor_offline_is_dropped() -> None:
    s = fresh()
    assert s.send(Say("hello")) and not s.send(Cursor(1, 2))
    out = joined(s)
    assert out[-1] == Say("hello")
    s.receive_data(wire(Chat("say", "u2", "bob", "hi", mail=3)), 0.0)
    s.mail_shown(3)
    assert sent(s) == [MailAck(3)] and sent(s) == [], "one mail_ack for what was shown"


# -- the error contract: whatever the server sends, in whatever order, never raises


def _server_messages() -> st.SearchStrategy[Message]:
    oids = st.sampled_from(["o0", "o1", "o2", "zz"])
    obj = st.builds(
        line, st.sampled_from(["a0", "a1", "b"]), st.integers(0, 50), st.sampled_from(["u1", "u2"])
    )
    return st.one_of(
        st.just(Hello(2, "fuzz")),
        st.just(Welcome("u1", "alice", "lobby", (UserInfo("u1", "alice"),), 1)),
        st.builds(CatchUp, st.integers(0, 3), st.sampled_from(["board", "ops"])),
        st.builds(Obj, obj),
        st.builds(CaughtUp, st.integers(0, 9)),
        st.builds(
            lambda o, b, a, q: Add(o, b, seq=q, author=a),
            oids,
            obj,
            st.sampled_from(["u1", "u2"]),
            st.integers(1, 9),
        ),
        st.builds(Ack, oids, st.integers(1, 9)),
        st.builds(
            Error,
            st.sampled_from(["rate_limited", "not_yours", "kicked", "shutdown"]),
            st.just(""),
            st.booleans(),
            st.one_of(st.just(""), oids),
            st.sampled_from([0, 0.5]),
        ),
        st.builds(Ping, st.integers(0, 3)),
        st.builds(Pong, st.integers(0, 3)),
        st.just(JoinError("taken", "taken")),
        st.just(AccountOk("login", "alice", "u1")),
        st.just(Chat("say", "u2", "bob", "hi")),
    )


ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("recv"), st.lists(_server_messages(), max_size=4)),
        st.tuples(st.just("garbage"), st.binary(max_size=20)),
        st.tuples(st.just("submit"), st.integers(0, 2), st.booleans()),
        st.tuples(
            st.sampled_from(["made", "lost", "fatal", "close", "start", "retry", "say", "timer", "eof"]),
            st.just(0),
        ),
    ),
    max_size=40,
)


@pytest.mark.reliability
@settings(max_examples=300, deadline=None)
@given(ACTIONS, st.booleans())
def test_any_order_of_server_messages_and_user_actions_keeps_the_session_legal(
    actions: list, account: bool
) -> None:
    s = ClientSession("alice", "lobby", "sec", credentials=Credentials("login", "pw") if account else None)
    wanted: dict[str, float] = {}
    open_catch_ups = 0
    submitted: list[str] = []
    now = 0.0
    s.start(now)
    for action in actions:
        now += 1.0
        kind = action[0]
        if kind in ("recv", "garbage", "eof") and s.linked and s.state is not State.CONNECTING:
            data = (
                b"".join(encode(m) for m in action[1])
                if kind == "recv"
                else action[1]
                if kind == "garbage"
                else b""
            )
            s.receive_data(data, now)
        elif kind == "submit":
            oid = f"o{len(submitted)}"
            submitted.append(oid)
            s.submit(Add(oid, line(f"a{len(submitted)}")), drawn=action[2])
        elif kind == "made" and s.state is State.CONNECTING:
            s.connection_made(now)
        elif kind in ("lost", "fatal") and s.linked:
            s.connection_lost("cut", now, retry=kind == "lost")
        elif kind == "close":
            s.close()
        elif kind == "start":
            s.start(now)
        elif kind == "retry":
            s.retry_now(now)
        elif kind == "say":
            s.send(Say("hi"))
        elif kind == "timer" and wanted:
            name = sorted(wanted)[int(now) % len(wanted)]
            del wanted[name]
            s.timer_fired(name, now)
        s.data_to_send()
        while s.events:
            event = s.events.popleft()
            if isinstance(event, TimerWanted):
                if event.delay is None:
                    wanted.pop(event.name, None)
                else:
                    wanted[event.name] = event.delay
            elif isinstance(event, StateChanged):
                assert event.new in cs.TRANSITIONS[event.old]
            elif isinstance(event, CatchUpStarted):
                open_catch_ups += 1
            elif isinstance(event, CatchUpFinished):
                open_catch_ups -= 1
            assert open_catch_ups in (0, 1), "every catch-up ends, once"
        assert [op.oid for op in s.pending_ops] == [o for o in submitted if o in s.ledger]
        if not s.linked:
            assert open_catch_ups == 0, "no catch-up outlives its link"
        if s.state in (State.OFFLINE,):
            assert "reconnect" in wanted, "offline always has a try scheduled: it never gives up"


def test_what_i_draw_while_the_view_is_behind_the_session_s_catch_up_stays_on_my_board() -> None:
    """The session read caught_up (and goes online) before the view applied it: a stroke drawn in that
    gap is not in the session's redraw list, is sent at once, and may even be echoed before the view
    installs the board; it must stay drawn all the same."""
    s = fresh()
    view = RoomView(s)
    early = Add(view.new_oid(), line(view.new_id(), 5))
    view.submit(early)  # drawn before any connection
    s.connect(0.0)
    s.connection_made(0.0)
    s.receive_data(wire(Hello(2, "t")) + welcome(2, 2, line("a"), line("b")), 0.0)
    assert s.state is State.ONLINE
    view.apply_incoming(budget=1)  # the view is behind: still staging the board
    late = Add(view.new_oid(), line(view.new_id(), 9))
    view.submit(late)
    s.data_to_send()
    s.receive_data(wire(echo(early, 3), echo(late, 4)), 0.0)  # both confirmed before the view catches up
    view.apply_incoming()
    assert set(view.board.objects) == {"a", "b", early.obj.id, late.obj.id}
    assert list(view.board.objects)[-2:] == [early.obj.id, late.obj.id], "mine on top, in the order drawn"


# -- people, chat and rights: typed events (pgboard/session_social.py)


def test_people_coming_going_and_renamed_are_users_changed_events_with_the_whole_roster() -> None:
    s = fresh()
    joined(s)
    s.events.clear()
    s.receive_data(
        wire(UserJoined("u2", "bob"), Renamed("u2", "bob", "bobby"), UserLeft("u2", "bobby", "quit")), 1.0
    )
    got = [e for e in s.events if isinstance(e, UsersChanged)]
    assert [(e.change, e.nick) for e in got] == [("joined", "bob"), ("renamed", "bobby"), ("left", "bobby")]
    assert [dict(e.users) for e in got] == [
        {"u1": "alice", "u2": "bob"},
        {"u1": "alice", "u2": "bobby"},
        {"u1": "alice"},
    ]
    assert got[1].old == "bob" and got[2].reason == "quit"
    assert not any(isinstance(e, Received) for e in s.events), "nothing social reaches the view raw"


def test_after_my_reconnect_those_who_were_here_come_back_quietly_and_newcomers_join() -> None:
    s = fresh()
    joined(s)
    s.receive_data(wire(UserJoined("u2", "bob"), UserJoined("u3", "carol")), 1.0)
    s.connection_lost("the server went away", 2.0)  # a restart, a failover: everyone drops at once
    s.timer_fired("reconnect", 3.0)
    joined_again = wire(Hello(2, "t"), Welcome("u1", "alice", "lobby", (UserInfo("u1", "alice"),), 0))
    s.connection_made(3.0)
    s.receive_data(joined_again + wire(CatchUp(0, "ops"), CaughtUp(0)), 3.0)  # I am back first
    s.events.clear()
    s.receive_data(wire(UserJoined("u2", "bob"), UserJoined("u4", "dan"), UserJoined("u2", "bob")), 4.0)
    got = [(e.change, e.nick) for e in s.events if isinstance(e, UsersChanged)]
    assert got == [("back", "bob"), ("joined", "dan"), ("joined", "bob")]  # once back, a join is news
    assert dict([e for e in s.events if isinstance(e, UsersChanged)][-1].users) == {
        "u1": "alice",
        "u2": "bob",
        "u4": "dan",
    }


def test_a_rejoin_replays_recent_chat_and_only_the_lines_not_shown_become_chat_line_events() -> None:
    s = fresh()
    joined(s)
    said = [Chat("say", "u2", "bob", f"line {i}", time=100 + i) for i in range(3)]
    s.receive_data(wire(*said), 1.0)
    assert [e.msg.text for e in s.events if isinstance(e, ChatLine)] == ["line 0", "line 1", "line 2"]
    s.connection_lost("test", 2.0)
    s.events.clear()
    s.timer_fired("reconnect", 3.0)
    s.connection_made(3.0)
    s.receive_data(wire(Hello(2, "t")), 3.0)
    replay = [
        dataclasses.replace(c, history=True) for c in [*said, Chat("say", "u2", "bob", "new", time=200)]
    ]
    s.receive_data(welcome(0) + wire(*replay), 3.0)
    assert [e.msg.text for e in s.events if isinstance(e, ChatLine)] == ["new"], (
        "the replay shows only what I missed"
    )


def test_the_chat_lines_a_session_remembers_are_bounded_and_rights_come_as_rights_changed() -> None:
    s = fresh()
    joined(s)
    s.receive_data(
        wire(*(Chat("say", "u2", "bob", f"{i}", time=i) for i in range(MAX_CHAT_REMEMBERED + 500))), 1.0
    )
    assert s.social.remembered == MAX_CHAT_REMEMBERED
    s.events.clear()
    s.receive_data(wire(RoomState(operators=("u1",), locked=True)), 2.0)
    assert [type(e) for e in s.events] == [RightsChanged] and s.events[0].msg.locked
