"""The timeline in the window (key H, or ``/history``): the room's history replayed in place of the
live board, with its bar; the "watch what you missed" offer; the time-lapse export. Kept out of app.py,
which calls it from hook lines (``App.timeline``).

While the timeline is open the window shows a board of its own (the :class:`~pgboard.timeline.Timeline`'s,
painted by a second :class:`~pgboard.canvas.Canvas` through the same viewport), and the live board
stays live underneath: the room's events keep applying to it and its canvas every frame. Esc or H
leaves and shows now. The replay fetches the log from the server in ``history`` pages as it needs them.

Keys while it is open: Space play/pause, Left/Right one operation back/on, Up/Down speed, Home/End,
Ctrl+S export the time-lapse (GIF), Esc or H back to now. The export renders in steps on this thread
(one step a frame) and encodes in a worker thread (pgboard/timelapse.py).

"What you missed": a catch-up after a reconnect (the board this client had, at the seq it had) that
brought operations in, or a join to a board with history, offers to replay them; accepting plays them
fast from the state before the gap (a reconnect's) or from the start (a join's).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygame

from pgboard.canvas import Canvas
from pgboard.client_session import CatchUpFinished, CatchUpStarted
from pgboard.protocol import BoardObject, Message
from pgboard.timelapse import TimelapseExport
from pgboard.timeline import BASE_RATE, SPEEDS, Timeline
from pgboard.viewport import Viewport, around
from pgboard.widgets import theme
from pgboard.widgets.timeline import MissedOffer, TimelineBar

if TYPE_CHECKING:
    from pgboard.app import App
    from pgboard.room import RoomView

log = logging.getLogger(__name__)

MISSED_SECONDS = 6.0  # how long "what you missed" plays at most: its speed is chosen for it (max 64x)
EXPORT_SUFFIX = ".gif"  # Ctrl+S and the bar's button (the headless export takes .webp too)


class TimelineMode:
    """The App's timeline (see the module's docstring)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.timeline: Timeline | None = None
        self.canvas: Canvas | None = None
        self.bar = TimelineBar(app.ui.fonts)
        self.bar.on_toggle = lambda: self.timeline.toggle(self._now()) if self.timeline else None
        self.bar.on_speed = self._cycle_speed
        self.bar.on_seek = lambda f: self.timeline.seek_fraction(f) if self.timeline else None
        self.bar.on_export = self._export_clicked
        self.bar.on_close = self.close
        self.offer = MissedOffer(app.ui.fonts)
        self.offer.on_accept = self.watch_missed
        self.exporting: TimelapseExport | None = None
        self._pregap: tuple[list[BoardObject], int] | None = None  # the board before a catch-up
        self._missed: tuple[list[BoardObject], int, int] | None = None  # base, its seq, the end seq
        self._seen_caught_up = False
        self._presence_next: Any = None

    def _now(self) -> float:
        return self.app.scheduler.now()

    @property
    def active(self) -> bool:
        return self.timeline is not None

    # -- opening and closing

    def open(self, timeline: Timeline | None = None, *, play: bool = False, speed: int = 1) -> bool:
        app = self.app
        if app.room is None or app.conn is None:
            app.ui.toast("Join a room to replay its history")
            return False
        self.close()
        app.tool.cancel()
        self.timeline = timeline if timeline is not None else Timeline(text_box=app.texts.box)
        self.canvas = Canvas(self.timeline.board, app.texts)
        self.timeline.set_speed(speed)
        if play:
            self.timeline.play(self._now())
        self.offer.hide()
        return True

    def close(self) -> None:
        """Back to now (an export under way goes on: it has its own board)."""
        if self.canvas is not None:
            self.canvas.close()
        self.timeline = self.canvas = None
        self.bar.dragging = False

    def toggle(self) -> None:
        self.close() if self.active else self.open()

    def watch_missed(self) -> None:
        missed, self._missed = self._missed, None
        if missed is None:
            self.open(play=True, speed=SPEEDS[-1])
            return
        base, since, end = missed
        speed = min(SPEEDS, key=lambda s: abs(s * BASE_RATE * MISSED_SECONDS - (end - since)))
        self.open(
            Timeline(base=base, base_seq=since, end_seq=end, text_box=self.app.texts.box),
            play=True,
            speed=speed,
        )

    # -- what the room says

    def receive(self, msg: Message) -> None:
        if self.timeline is not None:
            self.timeline.receive(msg, self._now())

    def catch_up(self, event: object) -> None:
        """RoomView's catch-up events: remember the board before a reconnect's catch-up, and offer
        what it brought in once it ends."""
        room = self.app.room
        if room is None:
            return
        if isinstance(event, CatchUpStarted):
            self._pregap = (room.board.snapshot(), room.board.seq) if self._seen_caught_up else None
        elif isinstance(event, CatchUpFinished) and event.msg is not None:
            self._seen_caught_up = True
            end = event.msg.seq
            if self._pregap is not None:
                base, since = self._pregap
                if end > since:
                    self._missed = (base, since, end)
                    self.offer.show(f"Watch what you missed ({end - since:,} ops)", self._now())
            elif end > 0 and not self.app.game.running:  # a game's banner takes the board's top
                self._missed = None
                self.offer.show(f"Watch how this board was drawn ({end:,} ops)", self._now())
            self._pregap = None

    # -- the frame

    def step(self) -> None:
        now, conn = self._now(), self.app.conn
        self.offer.update(now)
        t = self.timeline
        if t is not None:
            if conn is None or conn.state != "online":
                t.fetch.waiting = t.fetch.in_page = False  # a page cut by the link: asked again later
            else:
                req = t.request(now)
                if req is not None and not conn.send(req):
                    t.fetch.waiting = False
            t.tick(now)
            self._show(t)
            self.app.canvas.update_hidden()  # the live board, painted underneath, its changes unlisted
        if self.exporting is not None:
            self.exporting.step()
            self.bar.export_progress = self.exporting.progress
            if self.exporting.finished:
                self._export_ended(self.exporting)

    def _show(self, t: Timeline) -> None:
        bar = self.bar
        bar.playing, bar.speed, bar.position, bar.total = t.playing, t.speed, t.position, t.total
        bar.fetched = len(t.ops) / t.total if t.total else 1.0
        label = f"op {t.position:,} of {t.total:,} · seq {t.seq:,}"
        if t.fetch.error:
            label += f" · {t.fetch.error}"
        elif not t.fetch.complete:
            label += " · loading"
        bar.label = label

    def next_change(self, now: float) -> float | None:
        waits = [self.offer.next_change(now)]
        if self.timeline is not None:
            waits.append(self.timeline.next_change(now))
        if self.exporting is not None:
            waits.append(now)
        return min((w for w in waits if w is not None), default=None)

    # -- input

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Consumed: the offer's clicks; while open, the bar, its keys and clicks on the board (the
        replay is not drawn on)."""
        if not self.active:
            return self.offer.handle_event(event)
        t = self.timeline
        assert t is not None
        if self.bar.handle_event(event):
            return True
        if event.type == pygame.KEYDOWN:
            return self._key(t, event.key, getattr(event, "mod", 0))
        if event.type == pygame.KEYUP and event.key == pygame.K_SPACE:
            return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            return bool(self.app.ui.board_rect.collidepoint(event.pos))
        return False

    def _key(self, t: Timeline, key: int, mod: int) -> bool:
        now = self._now()
        if key in (pygame.K_ESCAPE, pygame.K_h):
            self.close()
        elif key == pygame.K_SPACE:
            t.toggle(now)
        elif key in (pygame.K_LEFT, pygame.K_RIGHT):
            t.pause()
            t.seek(t.position + (1 if key == pygame.K_RIGHT else -1))
        elif key in (pygame.K_UP, pygame.K_DOWN):
            t.faster(1 if key == pygame.K_UP else -1)
        elif key in (pygame.K_HOME, pygame.K_END):
            t.seek(0 if key == pygame.K_HOME else len(t.ops))
        elif key == pygame.K_s and mod & pygame.KMOD_CTRL:
            self.export()
        else:
            return False
        return True

    def _cycle_speed(self) -> None:
        if self.timeline is not None:
            i = SPEEDS.index(self.timeline.speed)
            self.timeline.set_speed(SPEEDS[(i + 1) % len(SPEEDS)])

    # -- drawing

    def draw(self, screen: pygame.Surface, viewport: Viewport) -> None:
        """The replay in place of the live board, and the bar."""
        assert self.canvas is not None
        for strip in around(screen.get_rect(), viewport.rect):
            screen.fill(theme.PANEL_BG, strip)
        self.canvas.draw(screen, viewport)
        board = self.app.ui.board_rect
        tag = self.app.ui.fonts.render(
            "History replay · Esc: back to now", theme.FONT_SMALL, theme.TOOLTIP_TEXT
        )
        box = tag.get_rect(topleft=(board.x + theme.PAD * 2, board.y + theme.PAD * 2)).inflate(16, 8)
        pygame.draw.rect(screen, theme.TOOLTIP_BG, box, border_radius=box.h // 2)
        screen.blit(tag, tag.get_rect(center=box.center))
        self.bar.layout(board)
        self.bar.draw(screen)

    def draw_offer(self, screen: pygame.Surface) -> None:
        if self.offer.visible:
            self.offer.layout(self.app.ui.board_rect)
            self.offer.draw(screen)

    # -- the export

    def export(self, path: Path | None = None) -> TimelapseExport | None:
        """Start exporting the replay (what is fetched of it) as an animated image."""
        t, app = self.timeline, self.app
        if t is None or self.exporting is not None:
            return None
        if path is None:
            room = app.conn.room if app.conn is not None and app.conn.room else "board"
            path = (
                app.export_dir / f"pgboard-{room}-{time.strftime('%Y%m%d-%H%M%S')}-timelapse{EXPORT_SUFFIX}"
            )
        base = list(t.base)
        self.exporting = TimelapseExport(path, base, t.base_seq, list(t.ops), app.texts)
        self.bar.export_progress = 0.0
        app.ui.toast(f"Exporting the time-lapse ({len(self.exporting.samples)} frames) to {path.name}")
        return self.exporting

    def _export_clicked(self) -> None:
        self.export()

    def _export_ended(self, export: TimelapseExport) -> None:
        self.exporting = None
        self.bar.export_progress = None
        export.close()
        if export.error:
            self.app.ui.toast(f"Could not export {export.path.name}: {export.error}")
        else:
            self.app.ui.toast(f"Saved {export.path}")


def wire(app: App, room: RoomView) -> None:
    """A new room: the timeline closes, and hears the room's history answers and catch-ups."""
    mode: TimelineMode = app.timeline
    mode.close()
    mode.offer.hide()
    mode._seen_caught_up = False
    mode._missed = mode._pregap = None
    room.on_history = mode.receive
    room.on_catch_up = mode.catch_up
    presence_next = app.ui.board_next_change  # the presence's cursors (presence.wire, just before)

    def next_change(now: float) -> float | None:
        waits = [w for w in (presence_next(now), mode.next_change(now)) if w is not None]
        return min(waits, default=None)

    app.ui.board_next_change = next_change


HEADLESS_TIMEOUT = 600.0  # seconds `pgboard --export-timelapse` waits for the server and the log at most
HEADLESS_POLL = 0.05  # seconds between two frames while it waits for the socket


def export_headless(app: App, path: Path, timeout: float = HEADLESS_TIMEOUT) -> int:
    """``pgboard --export-timelapse FILE --connect ...``: join, fetch the whole log, write the file,
    no window needed (the dummy video driver). Returns the exit status (0: written)."""
    from pgboard.frameloop import select_wait  # the run loop's wait on the socket

    deadline = app.scheduler.now() + timeout

    def frames_until(done: Any) -> bool:
        while not done():
            if app.scheduler.now() > deadline or app.conn is None or app.conn.state in ("refused", "failed"):
                return False
            app.step([])
            fd = app.conn.fileno()
            select_wait([fd] if fd >= 0 else [], [], HEADLESS_POLL)
        return True

    mode: TimelineMode = app.timeline
    if not frames_until(lambda: app.conn is not None and app.conn.state == "online"):
        log.error("could not join: %s", app.conn.last_error if app.conn is not None else "no connection")
        return 2
    mode.open()
    t = mode.timeline
    if t is None or not frames_until(lambda: t.fetch.complete or t.fetch.error):
        log.error("could not fetch the room's history")
        return 2
    export = TimelapseExport(path, list(t.base), t.base_seq, list(t.ops), app.texts)
    try:
        export.run()
    except RuntimeError as exc:
        log.error("could not write %s: %s", path, exc)
        return 1
    finally:
        export.close()
    print(f"wrote {path}: {len(export.samples)} frames of {len(t.ops)} operations")
    return 0
