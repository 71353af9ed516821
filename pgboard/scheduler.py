"""Timers for a single-threaded frame loop, in the style of Twisted's ``callLater`` and ``task.Clock``.

The client's frame calls :meth:`Scheduler.run_due` once per frame; nothing here sleeps, blocks or
starts a thread. The clock is a parameter (``now=time.monotonic``), so tests pass a :class:`ManualClock`
and test a reconnect back-off or a heartbeat in microseconds, by advancing time instead of waiting.

How it behaves, as the Twisted reactor does:

- Timers live in a heap ordered by due time, then by the order they were scheduled. Cancelling (or
  resetting) a call does not touch the heap: its stale entry is skipped when it reaches the top.
- :meth:`Scheduler.run_due` runs every call due at the moment the pass starts, in due order. A call
  scheduled by a callback during the pass runs on a later pass, even with a delay of 0, so a callback
  that reschedules itself cannot starve the frame.
- A callback that raises is logged (``logger.exception``) and the other calls still run.
- :class:`LoopingCall` schedules each beat from the time it was meant to run, not from when it ran, so
  lateness does not accumulate (no drift); beats missed while the loop was stalled are skipped, never
  run in a burst.

Not thread-safe: one thread (the frame) owns a scheduler.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to: pass ``clock.now`` to :class:`Scheduler` in tests."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` (never backwards: a monotonic clock does not)."""
        if seconds < 0 or math.isnan(seconds):
            raise ValueError(f"a clock only moves forward, not by {seconds!r}")
        self._now += seconds


class DelayedCall:
    """A call scheduled by :meth:`Scheduler.call_later`; keep it to cancel or reset it."""

    __slots__ = ("time", "fn", "args", "kwargs", "_scheduler", "_key", "_cancelled", "_called")

    def __init__(
        self,
        scheduler: Scheduler,
        when: float,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.time = when  # the due time, on the scheduler's clock
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self._scheduler = scheduler
        self._key = -1  # the sequence number of this call's live heap entry
        self._cancelled = False
        self._called = False

    @property
    def active(self) -> bool:
        """True until the call has run or was cancelled."""
        return not (self._cancelled or self._called)

    @property
    def remaining(self) -> float:
        """Seconds until the call is due (0 when overdue)."""
        return max(0.0, self.time - self._scheduler.now())

    def cancel(self) -> None:
        """Make sure the call does not run. Cancelling a call that already ran or was cancelled is a
        no-op, so owners can cancel unconditionally when they tear down."""
        self._cancelled = True

    def reset(self, delay: float) -> None:
        """Run the call ``delay`` seconds from now instead of when it was due."""
        if not self.active:
            raise RuntimeError("reset() of a call that already ran or was cancelled")
        self._scheduler._push(self, self._scheduler.now() + _check_delay(delay))

    def __repr__(self) -> str:
        state = "active" if self.active else ("cancelled" if self._cancelled else "called")
        return f"<DelayedCall {getattr(self.fn, '__qualname__', self.fn)!s} at {self.time:.3f} {state}>"


class LoopingCall:
    """Calls ``fn(*args)`` every ``interval`` seconds until :meth:`stop`; made by
    :meth:`Scheduler.looping_call`. The first call is one interval after the loop starts."""

    def __init__(self, scheduler: Scheduler, interval: float, fn: Callable[..., Any], args: tuple[Any, ...]):
        if not interval > 0:
            raise ValueError(f"a looping call needs an interval > 0, not {interval!r}")
        self.interval = interval
        self.fn = fn
        self.args = args
        self.skipped = 0  # beats skipped because the loop was stalled for longer than an interval
        self._scheduler = scheduler
        self._due = scheduler.now() + interval
        self._call: DelayedCall | None = scheduler.call_at(self._due, self._beat)

    @property
    def running(self) -> bool:
        return self._call is not None

    def stop(self) -> None:
        """No further calls (also from inside the callback). Stopping twice is a no-op."""
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def _beat(self) -> None:
        # Schedule the next beat before calling out, so a callback that raises keeps the loop alive
        # and a callback that calls stop() cancels the beat it would otherwise leave behind.
        now = self._scheduler.now()
        missed = math.floor((now - self._due) / self.interval)
        if missed > 0:
            self.skipped += missed
            logger.debug("%r: %d beats skipped", self.fn, missed)
        self._due += (max(missed, 0) + 1) * self.interval
        self._call = self._scheduler.call_at(self._due, self._beat)
        self.fn(*self.args)


def _check_delay(delay: float) -> float:
    if delay < 0 or math.isnan(delay):
        raise ValueError(f"a delay must be >= 0, not {delay!r}")
    return float(delay)


class Scheduler:
    """Delayed and looping calls on an injectable clock; run them with :meth:`run_due` each frame."""

    def __init__(self, now: Clock = time.monotonic) -> None:
        self.now: Clock = now
        self._heap: list[tuple[float, int, DelayedCall]] = []
        self._counter = itertools.count()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> DelayedCall:
        """Run ``fn(*args, **kwargs)`` on the first :meth:`run_due` at least ``delay`` seconds from now."""
        return self.call_at(self.now() + _check_delay(delay), fn, *args, **kwargs)

    def call_at(self, when: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> DelayedCall:
        """Like :meth:`call_later` with an absolute time on this scheduler's clock."""
        call = DelayedCall(self, when, fn, args, kwargs)
        self._push(call, when)
        return call

    def looping_call(self, interval: float, fn: Callable[..., Any], *args: Any) -> LoopingCall:
        """Run ``fn(*args)`` every ``interval`` seconds, first one interval from now, until stopped."""
        return LoopingCall(self, interval, fn, args)

    def _push(self, call: DelayedCall, when: float) -> None:
        call.time = when
        call._key = next(self._counter)
        heapq.heappush(self._heap, (when, call._key, call))

    def _live(self, entry: tuple[float, int, DelayedCall]) -> bool:
        _, key, call = entry
        return call.active and call._key == key

    def run_due(self) -> int:
        """Run every call due now, in due order; returns how many ran (failed ones included)."""
        now = self.now()
        due: list[tuple[float, int, DelayedCall]] = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if self._live(entry):
                due.append(entry)
        # Calls scheduled from here on are pushed onto the heap, not into ``due``: they wait for the
        # next pass. A call cancelled or reset by an earlier callback of this pass is skipped.
        ran = 0
        for entry in due:
            if not self._live(entry):
                continue
            call = entry[2]
            call._called = True
            ran += 1
            try:
                call.fn(*call.args, **call.kwargs)
            except Exception:
                logger.exception("scheduled call %r failed", call)
        return ran

    def time_until_next(self) -> float | None:
        """Seconds until the next call is due (0 when one is overdue), or None when nothing is
        scheduled: how long an idle loop may wait for input before it must run :meth:`run_due`."""
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        if not heap:
            return None
        return max(0.0, heap[0][0] - self.now())

    def pending(self) -> list[DelayedCall]:
        """The active calls, soonest first (for tests and debugging)."""
        return [call for _, _, call in sorted(e for e in self._heap if self._live(e))]
