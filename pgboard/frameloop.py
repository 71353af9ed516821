"""The client's run loop: a frame when something changed, and sleep in between.

At most FPS frames a second, as before; but a frame runs (and the window is drawn and flipped) only when
there is something to show: input, a message from the server (its socket turned readable), a timer due
on the app's scheduler (reconnect back-off, heartbeat, silence check), a panel's own deadline (a toast
starting to fade, a tooltip appearing), or work that goes on over frames (a burst of messages applied
under a budget, a big board painted over frames, chat lines wrapped, a fading toast). Otherwise the loop
sleeps in ``select`` until the next timer or panel deadline, woken at once by the connection's socket (a
message arriving while idle is painted in the frame it wakes) and by input: drawing latency is what it
was (a stroke drawn or received is on screen the next frame).

Input: pygame-ce has no event wait that sleeps (``pygame.event.wait`` polls SDL every millisecond, about
3% of a core here under X11). Under X11 the loop selects on the X connection's descriptor too, as SDL's
own wait does (:func:`x11_input_fd`); elsewhere SDL's queue is polled once per frame slot, so input is
seen as soon as the old fixed 60 FPS loop saw it. The wake-up hooks are :func:`wake_sockets` (what
the network wakes the loop with) and :class:`InputWake` (what input wakes it with).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import math
import os
import select
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import pygame

from pgboard import cache_join

if TYPE_CHECKING:
    from pgboard.app import App

log = logging.getLogger(__name__)

FPS = 60  # the most frames a second, as the fixed loop ran
FRAME = 1 / FPS  # seconds: one frame slot; idle without an input descriptor, SDL is polled once a slot
# The longest sleep with an input descriptor, however far the next timer: a safety net should a wake-up
# ever be missed (an event read into a queue behind our back); four cheap looks a second cost nothing.
MAX_SLEEP = 0.25
# For this long after the last input, SDL is polled once a slot even with an input descriptor: an input
# method's answer (composed text from IBus) comes over D-Bus, which does not wake the X descriptor.
POLL_AFTER_INPUT = 1.0

Clock = Callable[[], float]


class Waiter(Protocol):
    def __call__(self, readable: list[int], writable: list[int], timeout: float) -> bool:
        """Sleep until a descriptor is ready or ``timeout`` seconds pass; True when one is ready."""
        ...


def select_wait(readable: list[int], writable: list[int], timeout: float) -> bool:
    """The real wait: ``poll`` (``select`` on Windows) on the connection's socket (a plain sleep
    when there is none)."""
    if not readable and not writable:
        if timeout > 0:
            time.sleep(timeout)  # nothing to watch: the next frame slot is the next thing to do
        return False
    try:
        if not hasattr(select, "poll"):  # Windows: select, whose descriptors are not limited to 1024
            r, w, _ = select.select(readable, writable, [], max(timeout, 0.0))
            return bool(r or w)
        # poll, not select: select refuses a descriptor numbered 1024 or more (a process with many
        # files open), which would turn the idle loop into a busy one
        poller = select.poll()
        for fd in set(readable) | set(writable):
            poller.register(fd, (select.POLLIN if fd in readable else 0)
                            | (select.POLLOUT if fd in writable else 0))
        return bool(poller.poll(max(timeout, 0.0) * 1000))
    except (OSError, ValueError):  # closed under us: the pump finds out and reports it
        return True


class InputWake:
    """How input wakes the idle loop: the X connection's descriptor under X11 (``fd``; select on it,
    after checking that Xlib holds no event already read, as SDL's X11 wait does), else None: poll."""

    def __init__(self, fd: int | None = None, queued: Callable[[], int] | None = None) -> None:
        self.fd = fd
        self.queued = queued if queued is not None else (lambda: 0)

    @classmethod
    def for_display(cls) -> InputWake:
        """The window's input descriptor when the video driver is X11 and libX11 loads; else polling."""
        try:
            if pygame.display.get_driver() != "x11":
                return cls()
            display = pygame.display.get_wm_info()["display"]
            get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
            get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
            pointer = display if isinstance(display, int) else get_pointer(display, b"display")
            x11 = ctypes.CDLL(ctypes.util.find_library("X11") or "libX11.so.6")
            x11.XConnectionNumber.argtypes, x11.XConnectionNumber.restype = [ctypes.c_void_p], ctypes.c_int
            x11.XEventsQueued.argtypes, x11.XEventsQueued.restype = (
                [ctypes.c_void_p, ctypes.c_int],
                ctypes.c_int,
            )
            fd = x11.XConnectionNumber(pointer)
            os.fstat(fd)
        except (pygame.error, KeyError, OSError, ValueError, TypeError, AttributeError) as exc:
            log.info("no input descriptor to sleep on (%s): polling input once a frame", exc)
            return cls()
        queued_already = 0  # XEventsQueued mode: count what Xlib holds, read nothing
        return cls(fd, lambda: int(x11.XEventsQueued(pointer, queued_already)))


def wake_sockets(app: App) -> tuple[list[int], list[int]]:
    """What wakes the loop from the network: the connection's socket when it may bring something
    (readable), and when the pump waits for it to take bytes or finish connecting (writable); on the
    connect screen, a look at a server's rooms when its answer is there (pgboard/room_probe.py)."""
    conn = app.conn
    looks = app.ui.connect_screen.rooms.wake_fds() if app.ui.connect_visible else []  # its room list
    if conn is None:
        return looks, []
    fd = conn.fileno()
    if fd < 0:
        return looks, []
    return [fd, *looks], [fd] if conn.wants_write() else []


class FrameLoop:
    """Runs ``app`` frame after frame until it stops, drawing only frames with something to show.

    ``frames`` counts the frames that ran (input, messages, timers applied), ``flips`` the ones drawn
    and flipped; tests read both. ``wait``, ``flip``, ``get_events`` and ``now`` (wall time for the
    frame slots; the app's own timers and panels run on the app's scheduler clock) are injectable."""

    def __init__(
        self,
        app: App,
        *,
        wait: Waiter = select_wait,
        flip: Callable[[], None] = pygame.display.flip,
        get_events: Callable[[], list[pygame.event.Event]] = pygame.event.get,
        now: Clock = time.monotonic,
        input_wake: InputWake | None = None,
    ) -> None:
        self.app = app
        self.input = input_wake if input_wake is not None else InputWake()
        self.wait = wait
        self.flip = flip
        self.get_events = get_events
        self.now = now
        self.frames = 0
        self.flips = 0
        self._next_slot = now()  # no frame before this (FPS)
        self._worked = True  # the last pass ran a frame: the next one waits for its slot first
        self._ui_due: float | None = None  # when a panel changes by itself (on the app's clock)
        self._seen: tuple[object, ...] = ()  # what the window showed about the connection
        self._last_input = -math.inf  # when the last event came (wall time)

    def run(self) -> None:
        if self.input.fd is None:  # the window exists now: its input descriptor, when it has one
            self.input = InputWake.for_display()
        while self.app.running:
            self.tick()

    def tick(self) -> bool:
        """One pass: wait for the next frame slot (idle: until something happens or the slot after),
        then run a frame and draw it if there is anything to show. True when a frame was drawn."""
        app = self.app
        readable, writable = wake_sockets(app)
        timeout = max(0.0, self._next_slot - self.now())
        if self._worked:  # frames run back to back (a drag, a burst): one per slot, as clock.tick did
            self.wait([], [], timeout)
            ready = self.wait(readable, writable, 0.0) if readable else False
        elif self.input.fd is None or self.now() - self._last_input < POLL_AFTER_INPUT:
            # idle: the socket wakes us at once; input is polled each slot
            ready = self.wait(readable, writable, timeout)
        elif self.input.queued():  # input read already (by a flip, say): no sleep, SDL takes it now
            ready = self.wait(readable, writable, 0.0)
        else:  # idle: the socket and input wake us at once; else the next timer or panel deadline
            timeout = max(timeout, self._sleep_for())
            ready = self.wait([*readable, self.input.fd], writable, timeout)
        events = self.get_events()
        start = self.now()
        if events:
            self._last_input = start
        if not (events or ready or self._due() or self._busy() or self._connection_moved()):
            self._worked = False
            self._next_slot = max(self._next_slot + FRAME, start)
            return False
        self._worked = True
        self._next_slot = start + FRAME
        app.step(events)
        self.frames += 1
        app.draw()
        self.flip()
        self.flips += 1
        now = app.scheduler.now()
        waits = [w for w in (app.ui.next_change(now), self._countdown()) if w is not None]
        self._ui_due = now + min(waits) if waits else None
        self._seen = self._connection_key()
        return True

    def _countdown(self) -> float | None:
        """Offline, the status bar counts the seconds to the next try down: seconds until the count
        changes (its next whole second before the next timer, the retry), None when not offline."""
        app = self.app
        if app.conn is None or app.conn.state != "offline":
            return None
        left = app.scheduler.time_until_next()
        if left is None:
            return None
        return left - math.floor(left) or 1.0

    def _sleep_for(self) -> float:
        """Seconds until the next timer or panel deadline on the app's clock (MAX_SLEEP at most)."""
        app = self.app
        now = app.scheduler.now()
        waits = [
            FRAME if cache_join.loading(app) else MAX_SLEEP,  # a thread reading the cache: look each slot
            app.scheduler.time_until_next(),
            None if self._ui_due is None else self._ui_due - now,
        ]
        return max(0.0, min(w for w in waits if w is not None))

    def _due(self) -> bool:
        """A timer on the app's scheduler, or a panel's own change, is due."""
        app = self.app
        now = app.scheduler.now()
        if self._ui_due is not None and now >= self._ui_due:
            return True
        next_timer = app.scheduler.time_until_next()
        return next_timer is not None and next_timer <= 0

    def _busy(self) -> bool:
        """Work that goes on over frames, one frame's budget at a time: every slot gets a frame."""
        app = self.app
        if app.room is not None and app.room.waiting:  # a burst applied under LIVE_BUDGET
            return True
        if app.canvas.behind:  # a big board or huge strokes painted over frames
            return True
        if app.canvas.floating:  # a dragged object lands on the board surface the frame it stops
            return True
        if cache_join.ready(app):  # the board cache read in its thread has something to show
            return True
        wait = app.ui.next_change(app.scheduler.now())
        return wait is not None and wait <= 0  # a fading toast, chat lines to wrap

    def _connection_key(self) -> tuple[object, ...]:
        conn = self.app.conn
        return (id(conn), None if conn is None else conn.state, self.app.ui.connect_visible)

    def _connection_moved(self) -> bool:
        """The connection changed under the window (a new one, a state) since the last frame."""
        return self._connection_key() != self._seen
