"""The time-lapse's replay model (pgboard/timeline.py), driven directly with the scheduler's
ManualClock and the server's messages built by hand, as h11's tests drive its state machine."""

from __future__ import annotations

from pgboard import timeline as tl
from pgboard.protocol import Add, BoardObject, Delete, Extend
from pgboard.protocol_history import History, HistoryEnd, HistoryError, HistoryObj, HistoryOp, HistoryPage
from pgboard.scheduler import ManualClock
from pgboard.timeline import Timeline


def line(i: int) -> BoardObject:
    return BoardObject(f"a:s{i}", "line", ((i % 3000, 10), (i % 3000, 40)), author="a")


def adds(first: int, last: int) -> list[HistoryOp]:
    return [HistoryOp(Add(f"o{i}", line(i), seq=i, author="a")) for i in range(first, last + 1)]


def feed(t: Timeline, now: float, head: int, ops: list[HistoryOp], base: int = 0, objs=()) -> None:
    req = t.request(now)
    assert isinstance(req, History)
    t.receive(HistoryPage(start=ops[0].op.seq if ops else base + 1, head=head, base=base), now)
    for o in objs:
        t.receive(HistoryObj(o), now)
    for m in ops:
        t.receive(m, now)
    t.receive(HistoryEnd(end=ops[-1].op.seq if ops else head), now)


def test_the_middle_of_the_scrubber_shows_the_half_drawn_board() -> None:
    t = Timeline()
    feed(t, 0.0, 400, adds(1, 400))
    assert t.fetch.complete and t.total == 400 and t.request(0.0) is None
    t.seek_fraction(0.5)
    t.tick(0.0)
    assert set(t.board.objects) == {f"a:s{i}" for i in range(1, 201)} and t.seq == 200
    t.seek_fraction(1.0)
    t.tick(0.0)
    assert len(t.board) == 400
    t.seek_fraction(0.25)  # back: from the checkpoint at 0, not by undoing
    t.tick(0.0)
    assert len(t.board) == 100 and t.position == 100


def test_playing_moves_at_the_base_rate_times_the_speed_and_stops_at_the_end() -> None:
    clock = ManualClock()
    t = Timeline()
    feed(t, clock.now(), 200, adds(1, 200))
    t.play(clock.now())
    clock.advance(1.0)
    t.tick(clock.now())
    assert t.position == int(tl.BASE_RATE)
    t.set_speed(64)
    assert t.next_change(clock.now()) is not None  # a playing timeline wakes the sleeping loop
    clock.advance(1.0)
    t.tick(clock.now())
    assert t.position == 200 and not t.playing and t.at_end
    assert t.next_change(clock.now()) is None  # nothing moves by itself any more


def test_a_jump_to_the_end_of_a_long_log_is_spread_over_frames() -> None:
    t = Timeline()
    ops = [HistoryOp(Add("o1", BoardObject("a:s", "pencil", ((1, 1),)), seq=1, author="a"))]
    pts = ((7, 5),) * 10
    ops += [HistoryOp(Extend(f"e{i}", "a:s", pts, seq=i, author="a")) for i in range(2, 3001)]
    feed(t, 0.0, 3000, ops)
    t.seek(3000)
    done = t.tick(0.0)
    assert 0 < done < 3000 and t.busy  # one frame did its budget, not everything
    frames = 1
    while t.busy:
        t.tick(0.0)
        frames += 1
    assert t.position == 3000 and frames > 2
    assert len(t.board.objects["a:s"].points) == 1 + 2999 * 10


def test_a_compacted_log_starts_from_its_base_board() -> None:
    t = Timeline()
    base = [line(i) for i in range(1, 51)]
    feed(t, 0.0, 60, adds(51, 60), base=50, objs=base)
    assert t.base_seq == 50 and t.total == 10 and len(t.board) == 50  # position 0 shows the base
    t.run_to(10)
    assert len(t.board) == 60 and t.seq == 60


def test_pages_follow_each_other_and_rate_limits_are_waited_out() -> None:
    clock = ManualClock()
    t = Timeline()
    feed(t, clock.now(), 30, adds(1, 10))
    req = t.request(clock.now())
    assert req is not None and req.start == 11 and req.limit == 20
    t.receive(HistoryError("rate_limited", retry=2.0), clock.now())
    assert t.request(clock.now()) is None and t.next_change(clock.now()) == clock.now() + 2.0
    clock.advance(2.0)
    feed_more = adds(11, 30)
    feed(t, clock.now(), 30, feed_more)
    assert t.fetch.complete and len(t.ops) == 30


def test_what_you_missed_replays_from_the_board_before_the_gap() -> None:
    before = [line(i) for i in range(1, 6)]
    t = Timeline(base=before, base_seq=5, end_seq=8)
    req = t.request(0.0)
    assert req is not None and req.start == 6
    t.receive(HistoryPage(start=6, head=9, base=0), 0.0)
    for m in [*adds(6, 7), HistoryOp(Delete("d", "a:s1", seq=8, author="a")), *adds(9, 9)]:
        t.receive(m, 0.0)
    t.receive(HistoryEnd(end=9), 0.0)
    assert t.total == 3 and len(t.board) == 5  # the pre-gap board; the op after the gap is not in it
    t.run_to(3)
    assert set(t.board.objects) == {f"a:s{i}" for i in range(2, 8)}


def test_a_page_whose_base_moved_is_asked_again_from_the_start() -> None:
    t = Timeline()
    req = t.request(0.0)
    assert req is not None
    t.receive(HistoryPage(start=11, head=20, base=10), 0.0)
    t.receive(HistoryEnd(end=10, moved=True), 0.0)
    req = t.request(0.0)
    assert req is not None and req.start == 0
