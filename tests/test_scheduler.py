"""The frame's timers, driven by a ManualClock: order, cancel, reset, looping without drift, reentrancy
and a failing callback that must not stop the others."""

from __future__ import annotations

import logging

import pytest

from pgboard.scheduler import ManualClock, Scheduler


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=1000.0)


@pytest.fixture
def sched(clock: ManualClock) -> Scheduler:
    return Scheduler(now=clock.now)


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock()
    assert clock.now() == 0.0
    clock.advance(2.5)
    assert clock.now() == 2.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock.now() == 2.5


def test_nothing_runs_before_it_is_due(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    sched.call_later(1.0, ran.append, "a")
    assert sched.run_due() == 0
    clock.advance(0.999)
    assert sched.run_due() == 0
    assert ran == []
    clock.advance(0.001)
    assert sched.run_due() == 1
    assert ran == ["a"]
    clock.advance(10)
    assert sched.run_due() == 0, "a call runs once"
    assert ran == ["a"]


def test_calls_run_in_due_order_then_scheduling_order(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    sched.call_later(3, ran.append, "c")
    sched.call_later(1, ran.append, "a1")
    sched.call_later(2, ran.append, "b")
    sched.call_later(1, ran.append, "a2")
    sched.call_later(0, ran.append, "now")
    clock.advance(5)
    assert sched.run_due() == 5
    assert ran == ["now", "a1", "a2", "b", "c"]


def test_kwargs_are_passed(clock: ManualClock, sched: Scheduler) -> None:
    got: dict[str, object] = {}
    sched.call_later(0, lambda a, *, b: got.update(a=a, b=b), 1, b=2)
    sched.run_due()
    assert got == {"a": 1, "b": 2}


def test_negative_delay_is_refused(sched: Scheduler) -> None:
    with pytest.raises(ValueError):
        sched.call_later(-0.1, print)


def test_cancel_prevents_the_call_and_active_reports_it(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    keep = sched.call_later(1, ran.append, "keep")
    drop = sched.call_later(1, ran.append, "drop")
    assert keep.active and drop.active
    drop.cancel()
    drop.cancel()  # twice is harmless
    assert not drop.active
    clock.advance(1)
    assert sched.run_due() == 1
    assert ran == ["keep"]
    assert not keep.active, "a call that ran is no longer active"
    keep.cancel()  # cancelling after it ran is a no-op


def test_cancelled_calls_are_skipped_lazily_by_time_until_next(clock: ManualClock, sched: Scheduler) -> None:
    assert sched.time_until_next() is None
    first = sched.call_later(1, print)
    sched.call_later(4, print)
    assert sched.time_until_next() == pytest.approx(1)
    first.cancel()
    assert sched.time_until_next() == pytest.approx(4)
    clock.advance(5)
    assert sched.time_until_next() == 0.0, "an overdue call is due now, not in the past"
    sched.run_due()
    assert sched.time_until_next() is None
    assert sched.pending() == []


def test_reset_moves_the_call(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    call = sched.call_later(1, ran.append, "x")
    clock.advance(0.5)
    call.reset(2)  # now due at +2.5 from the start
    clock.advance(1)
    assert sched.run_due() == 0
    assert call.remaining == pytest.approx(1.0)
    clock.advance(1)
    assert sched.run_due() == 1
    assert ran == ["x"], "the stale heap entry does not run it a second time"
    with pytest.raises(RuntimeError):
        call.reset(1)


def test_reset_earlier_runs_sooner(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    call = sched.call_later(10, ran.append, "x")
    call.reset(1)
    clock.advance(1)
    sched.run_due()
    assert ran == ["x"]
    clock.advance(10)
    sched.run_due()
    assert ran == ["x"]


def test_calls_added_during_a_pass_run_on_the_next_pass(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []

    def first() -> None:
        ran.append("first")
        sched.call_later(0, ran.append, "added")

    sched.call_later(1, first)
    sched.call_later(1, ran.append, "second")
    clock.advance(1)
    assert sched.run_due() == 2
    assert ran == ["first", "second"]
    assert sched.run_due() == 1
    assert ran == ["first", "second", "added"]


def test_a_call_that_reschedules_itself_cannot_starve_the_frame(sched: Scheduler) -> None:
    count = 0

    def again() -> None:
        nonlocal count
        count += 1
        sched.call_later(0, again)

    sched.call_later(0, again)
    for expected in (1, 2, 3):
        assert sched.run_due() == 1
        assert count == expected


def test_a_callback_can_cancel_a_later_call_of_the_same_pass(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    victim = sched.call_later(2, ran.append, "victim")
    sched.call_later(1, victim.cancel)
    clock.advance(3)
    assert sched.run_due() == 1
    assert ran == []


def test_a_callback_can_reset_a_later_call_of_the_same_pass(clock: ManualClock, sched: Scheduler) -> None:
    ran: list[str] = []
    later = sched.call_later(2, ran.append, "later")
    sched.call_later(1, later.reset, 5)
    clock.advance(3)
    sched.run_due()
    assert ran == []
    clock.advance(5)
    sched.run_due()
    assert ran == ["later"]


def test_a_failing_callback_is_logged_and_the_others_still_run(
    clock: ManualClock, sched: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("kaput")

    sched.call_later(1, ran.append, "before")
    sched.call_later(1, boom)
    sched.call_later(1, ran.append, "after")
    clock.advance(1)
    with caplog.at_level(logging.ERROR, logger="pgboard.scheduler"):
        assert sched.run_due() == 3
    assert ran == ["before", "after"]
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and "kaput" in str(failures[0].exc_info[1])


def test_looping_call_beats_on_schedule(clock: ManualClock, sched: Scheduler) -> None:
    beats: list[float] = []
    loop = sched.looping_call(2.0, lambda: beats.append(clock.now()))
    assert loop.running
    clock.advance(1.9)
    sched.run_due()
    assert beats == [], "the first beat is one interval after the start"
    clock.advance(0.1)
    sched.run_due()
    for _ in range(2):
        clock.advance(2.0)
        sched.run_due()
    assert beats == pytest.approx([1002.0, 1004.0, 1006.0])


def test_looping_call_does_not_drift_when_run_late(clock: ManualClock, sched: Scheduler) -> None:
    beats: list[float] = []
    sched.looping_call(1.0, lambda: beats.append(clock.now()))
    # Every frame comes 0.3 s after the beat was due: the next beat is still due on the whole second.
    for _ in range(5):
        clock.advance(1.3 if not beats else 0.7)
        sched.run_due()
        assert sched.time_until_next() == pytest.approx(0.7)
        clock.advance(0.3)
        sched.run_due()
    assert beats == pytest.approx([1001.3, 1002.3, 1003.3, 1004.3, 1005.3])


def test_looping_call_skips_missed_beats_instead_of_bursting(clock: ManualClock, sched: Scheduler) -> None:
    beats: list[float] = []
    loop = sched.looping_call(1.0, lambda: beats.append(clock.now()))
    clock.advance(5.5)  # the frame stalled through five beats
    assert sched.run_due() == 1
    assert sched.run_due() == 0, "no burst of catch-up beats"
    assert loop.skipped == 4
    assert sched.time_until_next() == pytest.approx(0.5), "the rhythm of the original schedule is kept"
    clock.advance(0.5)
    assert sched.run_due() == 1
    assert beats == pytest.approx([1005.5, 1006.0])


def test_looping_call_stop_from_outside_and_inside(clock: ManualClock, sched: Scheduler) -> None:
    outside: list[int] = []
    loop = sched.looping_call(1.0, outside.append, 1)
    clock.advance(1)
    sched.run_due()
    loop.stop()
    loop.stop()
    assert not loop.running
    clock.advance(10)
    sched.run_due()
    assert outside == [1]

    inside: list[int] = []

    def beat() -> None:
        inside.append(1)
        if len(inside) == 2:
            inner.stop()

    inner = sched.looping_call(1.0, beat)
    for _ in range(5):
        clock.advance(1)
        sched.run_due()
    assert inside == [1, 1]
    assert sched.time_until_next() is None


def test_a_failing_looping_call_keeps_beating(
    clock: ManualClock, sched: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    count = 0

    def flaky() -> None:
        nonlocal count
        count += 1
        raise ValueError("again")

    sched.looping_call(1.0, flaky)
    with caplog.at_level(logging.ERROR, logger="pgboard.scheduler"):
        for _ in range(3):
            clock.advance(1)
            sched.run_due()
    assert count == 3
    assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 3


def test_looping_call_needs_a_positive_interval(sched: Scheduler) -> None:
    with pytest.raises(ValueError):
        sched.looping_call(0, print)


def test_pending_lists_active_calls_soonest_first(clock: ManualClock, sched: Scheduler) -> None:
    late = sched.call_later(5, print)
    soon = sched.call_later(1, print)
    gone = sched.call_later(2, print)
    gone.cancel()
    assert sched.pending() == [soon, late]


def test_default_clock_is_monotonic() -> None:
    import time

    sched = Scheduler()
    assert abs(sched.now() - time.monotonic()) < 1.0
