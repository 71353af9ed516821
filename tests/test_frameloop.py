"""The run loop sleeps while nothing changes (issue 13, 2): the real App (dummy driver) and a real server.

An idle window runs no frame and flips nothing; a message from the server wakes it and is on the screen
in the frame it wakes; a toast still fades frame by frame; the reconnect back-off and the heartbeat
still fire while it sleeps. Sleeping is on the app's ManualClock where a test needs time to pass: the
loop's wait advances it by the timeout the loop asked for (what a real sleep would have let pass), and
looks at the real sockets without blocking.
"""

from __future__ import annotations

import socket
import time

import pygame
from support import RawClient, running_server
from test_app import joined, run_until

from bench import fdselect
from pgboard import net
from pgboard.app import App
from pgboard.frameloop import FRAME, MAX_SLEEP, POLL_AFTER_INPUT, FrameLoop, InputWake
from pgboard.protocol import Add, BoardObject
from pgboard.scheduler import ManualClock, Scheduler
from pgboard.widgets.overlays import TOAST_FADE, TOAST_SECONDS

IDLE_FRAMES = 180  # three seconds' worth of frame slots at 60 FPS
WAIT = 15.0  # a bound on a condition, never a pause


class SleepOnClock:
    """The loop's wait on a ManualClock: time passes by the timeout asked for, sockets are looked at
    as they are (a real select, never blocking)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.timeouts: list[float] = []

    def __call__(self, readable: list[int], writable: list[int], timeout: float) -> bool:
        self.timeouts.append(timeout)
        ready = bool(readable or writable) and any(fdselect.select(readable, writable, [], 0)[:2])
        if not ready:
            self.clock.advance(timeout)
        return ready


def manual_app(screen: pygame.Surface, tmp_path, clock: ManualClock) -> App:
    return App(
        screen,
        scheduler=Scheduler(now=clock.now),
        settings_path=tmp_path / "settings.json",
        export_dir=tmp_path,
    )


def quiet_loop(app: App, clock: ManualClock, **kw: object) -> tuple[FrameLoop, SleepOnClock]:
    wait = SleepOnClock(clock)
    loop = FrameLoop(app, wait=wait, flip=lambda: None, get_events=pygame.event.get, now=clock.now, **kw)
    return loop, wait


def settle(loop: FrameLoop, limit: int = 600) -> None:
    """Run passes until one runs no frame (the first frames show the join)."""
    for _ in range(limit):
        if not loop.tick():
            return
    raise AssertionError(f"still drawing after {limit} passes")


def test_an_idle_window_runs_no_frame_and_flips_nothing(screen, tmp_path):
    clock = ManualClock()
    with running_server() as srv:
        app = joined(manual_app(screen, tmp_path, clock), srv)
        loop, _ = quiet_loop(app, clock)
        settle(loop)
        frames, flips = loop.frames, loop.flips
        for _ in range(IDLE_FRAMES):
            loop.tick()
        assert (loop.frames - frames, loop.flips - flips) == (0, 0), "an idle window redrew itself"
        assert app.conn.state == "online"
        app.shutdown()


def test_the_real_run_loop_does_not_flip_while_nothing_changes(screen, tmp_path, monkeypatch):
    """App.run itself, as users run it, for a few frames' worth of wall time: it used to draw and flip
    every one of them (60 a second)."""
    app = App(screen, settings_path=tmp_path / "settings.json", export_dir=tmp_path)
    flips = []
    real_flip = pygame.display.flip
    monkeypatch.setattr(pygame.display, "flip", lambda: (flips.append(1), real_flip()))
    app.scheduler.call_later(30 * FRAME, setattr, app, "running", False)  # the loop's own sleep, not ours
    app.run()
    assert len(flips) <= 2, f"{len(flips)} flips of an unchanging connect screen in 30 frames' time"


def test_a_stroke_from_another_user_wakes_the_sleeping_window_and_is_painted(screen, tmp_path):
    with running_server() as srv:
        app = joined(App(screen, settings_path=tmp_path / "settings.json", export_dir=tmp_path), srv)
        loop = FrameLoop(app, flip=lambda: None)  # the real select on the real socket, real time
        settle(loop)
        bob = RawClient(srv.address)
        bob.join("bob", room="r")
        settle(loop)  # bob's arrival is shown (the people panel), then the window sleeps again
        idle = loop.frames
        for _ in range(10):
            assert not loop.tick()
        assert loop.frames == idle
        line = BoardObject(bob.obj_id("s1"), "line", ((100, 100), (1500, 900)), "#dc2828", 20)
        bob.send(Add(oid=bob.obj_id("o1"), obj=line))
        deadline = time.monotonic() + WAIT
        while line.id not in app.board.objects:
            assert time.monotonic() < deadline, "the message never woke the loop"
            loop.tick()
        assert loop.frames > idle
        middle = app.viewport.to_screen((800, 500))
        assert screen.get_at((round(middle[0]), round(middle[1])))[:3] == (0xDC, 0x28, 0x28), (
            "received and applied, but not on the screen in the frame it woke"
        )
        bob.close()
        app.shutdown()


def test_a_toast_fades_frame_by_frame_and_the_loop_sleeps_before_and_after(screen, tmp_path):
    clock = ManualClock()
    app = manual_app(screen, tmp_path, clock)
    a, b = socket.socketpair()  # stands for the X connection: input never comes, so sleeps are long
    try:
        loop, wait = quiet_loop(app, clock, input_wake=InputWake(a.fileno()))
        settle(loop)
        app.ui.toast("Saved the board")
        start = clock.now()
        shown = []
        while clock.now() - start < TOAST_SECONDS + 1.0:
            if loop.tick():
                shown.append((clock.now() - start, app.ui.toast_line.visible))
        fading = [t for t, visible in shown if visible and t >= TOAST_SECONDS - TOAST_FADE]
        assert len(fading) >= TOAST_FADE / FRAME / 2, f"the fade was drawn in {len(fading)} frames"
        assert shown[-1][1] is False, "the frame after the toast went was not drawn"
        before_fade = [t for t in wait.timeouts if t > FRAME]
        assert before_fade, "the loop polled every frame slot instead of sleeping to the fade"
        assert len(shown) < len(fading) + 5, "frames drawn while nothing moved"
    finally:
        a.close()
        b.close()
        app.shutdown()


def test_after_input_the_loop_looks_at_input_every_slot_for_a_while_then_sleeps(screen, tmp_path):
    """An input method's answer (IBus over D-Bus) does not wake the X descriptor: right after input,
    SDL is polled every frame slot, so composed text is not left waiting for the next timer."""
    clock = ManualClock()
    app = manual_app(screen, tmp_path, clock)
    a, b = socket.socketpair()
    try:
        loop, wait = quiet_loop(app, clock, input_wake=InputWake(a.fileno()))
        settle(loop)
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(5, 5), rel=(1, 1), buttons=(0, 0, 0)))
        assert loop.tick(), "input ran a frame"
        wait.timeouts.clear()
        start = clock.now()
        while clock.now() - start < POLL_AFTER_INPUT * 0.9:
            loop.tick()
        assert wait.timeouts and max(wait.timeouts) <= FRAME + 1e-9, "input not polled every slot"
        while clock.now() - start < POLL_AFTER_INPUT * 2:
            loop.tick()
        assert max(wait.timeouts) > FRAME, "still polling long after the last input"
    finally:
        a.close()
        b.close()
        app.shutdown()


def test_the_heartbeat_and_the_reconnect_back_off_fire_while_the_loop_sleeps(screen, tmp_path):
    clock = ManualClock()
    a, b = socket.socketpair()
    try:
        with running_server() as srv:
            app = joined(manual_app(screen, tmp_path, clock), srv)
            loop, wait = quiet_loop(app, clock, input_wake=InputWake(a.fileno()))
            settle(loop)
            assert app.conn.latency is None
            deadline = time.monotonic() + WAIT
            while app.conn.latency is None:  # a ping goes out after PING_INTERVAL, the pong comes back
                assert time.monotonic() < deadline, "no heartbeat while the loop slept"
                loop.tick()
            assert clock.now() >= net.PING_INTERVAL
            assert max(wait.timeouts) <= MAX_SLEEP
        run_until(app, lambda: app.conn.state == "offline")  # the server is gone: retries, backing off
        attempts = app.conn.attempts
        settle(loop)
        shown: dict[int, set[str]] = {}  # per try: the countdowns drawn while waiting for it
        deadline = time.monotonic() + WAIT
        while app.conn.attempts < attempts + 5:  # tries backing off to 4 s and more, with no input
            assert time.monotonic() < deadline, f"no retry while the loop slept ({app.conn.state})"
            if loop.tick() and "retrying in" in app.ui.status.state:
                shown.setdefault(app.conn.attempts, set()).add(app.ui.status.state)
        assert max(wait.timeouts) <= MAX_SLEEP
        longest = max(shown.values(), key=len)
        assert len(longest) >= 3, f"the countdown to the next try was not redrawn each second: {shown}"
        app.shutdown()
    finally:
        a.close()
        b.close()
