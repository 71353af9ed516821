"""Issue 10, attacks 1 and 2: text objects whose cost is their area, not their length, against the real App.

One valid ``text`` (150 "W", then 1,850 newlines, size 200) used to make every client ask pygame for a
26,550 x 434,985 RGBA surface while measuring it (43 GiB: ``pygame.error: Out of memory``, the client
exits, and every later joiner with it); tall texts ("\\n" * 1998 + "W1", size 200) cost ~0.3 GiB and
~0.5 s each to measure. A guest (a RawClient on a real server) adds them; the App in the room, a late
joiner and a user opening them from a board file must all survive, with the largest text surface under
render.MAX_SURFACE_PIXELS, every frame's rendered text pixels under FRAME_TEXT_PIXELS, and the process's
peak memory growth under RSS_BUDGET_MIB (read from /proc, so it counts what pygame allocates too).
"""

from __future__ import annotations

import time
from pathlib import Path

import pygame
import pytest
import reliability
from support import RawClient
from test_app import between_frames, joined, key, make_app

from pgboard import boardfile, render
from pgboard.app import App
from pgboard.protocol import Add, BoardObject

GIANT = "W" * 150 + "\n" * 1850  # attack 1: 2,000 characters, 26,550 x 434,985 pixels at size 200
TALL = "\n" * 1998 + "W1"  # attack 2: 2,000 characters, ~468,000 pixels tall at size 200 (each in its
# own colour, so that no cache of rendered text serves one for another)
TALL_COUNT = 80  # froze the client ~50 s before the fix, until the server dropped it
# Text rendered in one frame: the board surface repainted whole (3200 x 1800) plus the screen's previews
# at most: a frame never renders more text than twice that, whatever the texts' sizes.
FRAME_TEXT_PIXELS = 2 * 3200 * 1800
# Peak memory growth of the whole process while the attack is applied and painted: the text cache's
# budget (render.TEXT_CACHE_PIXELS RGBA, 64 MB) and slack for the board's own surfaces being repainted.
RSS_BUDGET_MIB = 160
FRAMES = 400  # a bound on frames, to fail rather than spin when the board never completes


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    raise AssertionError(field)


def _reset_peak() -> int:
    """Reset VmHWM to the current RSS (Linux: clear_refs 5) and return it in MiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmHWM")


def attack_objects(tag: str) -> list[BoardObject]:
    giant = BoardObject(f"{tag}-0", "text", ((40, 40),), "#aa0000", 2, text=GIANT, size=200)
    tall = [
        BoardObject(
            f"{tag}-{i + 1}",
            "text",
            ((40 + i * 38, 200 + i * 18),),
            f"#0000{i + 40:02x}",
            2,
            text=TALL,
            size=200,
        )
        for i in range(TALL_COUNT)
    ]
    return [giant, *tall]


class FrameMeter:
    """Frames run one by one, counting the text pixels each rendered (the App's own TextCache)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.frames = 0
        self.most = 0  # the most text pixels rendered in one frame

    def frame(self, events: list[pygame.event.Event]) -> None:
        # (the TextCache before the fix counted nothing: getattr lets this test show how it failed)
        stats = getattr(self.app.texts, "stats", {"pixels_rendered": 0})
        before = stats["pixels_rendered"]
        self.app.frame(events)  # raised pygame.error "Out of memory" before the fix
        self.most = max(self.most, stats["pixels_rendered"] - before)
        self.frames += 1

    def run_until(self, condition, limit: int = FRAMES) -> None:  # type: ignore[no-untyped-def]
        while not condition():
            assert self.frames < limit, f"not done within {limit} frames"
            self.frame([])
            between_frames(self.app)


def _painted(app: App, count: int) -> bool:
    return len(app.board) >= count and not app.canvas.painting and app.canvas.view_complete


def _ink(surface: pygame.Surface, rect: pygame.Rect, color: tuple[int, int, int]) -> int:
    """Pixels of about ``color`` in ``rect`` of ``surface`` (anti-aliased edges count when dark)."""
    sub = surface.subsurface(rect.clip(surface.get_rect()))
    return pygame.transform.threshold(None, sub, color, (60, 60, 60, 255), set_behavior=0)  # type: ignore[arg-type]


@pytest.mark.reliability
def test_a_guest_s_giant_and_tall_texts_leave_every_client_alive_with_bounded_frames(
    screen,  # noqa: F811
    server,  # noqa: F811
    tmp_path,
):
    app = joined(make_app(screen, tmp_path), server)
    guest = RawClient(server.address)
    guest.join("mallory", room="r", client="secret-mallory")
    guest.catch_up()
    base = _reset_peak()
    started = time.monotonic()
    objects = attack_objects(guest.obj_id("mallory"))
    for n, obj in enumerate(objects):
        guest.send(Add(f"op-{n}", obj))
    guest.recv_until(lambda m: isinstance(m, Add) and m.obj.id == objects[-1].id)
    meter = FrameMeter(app)
    meter.run_until(lambda: _painted(app, len(objects)))
    peak = _status("VmHWM") - base
    seconds = time.monotonic() - started
    stats = dict(app.texts.stats)
    assert app.conn.state == "online"  # alive, and not dropped by the server as timed out
    assert stats["largest_surface"] <= render.MAX_SURFACE_PIXELS, stats
    assert meter.most <= FRAME_TEXT_PIXELS, meter.most
    assert peak <= RSS_BUDGET_MIB, f"peak memory grew {peak} MiB"
    # the user sees the giant's "W"s in red on the board surface, and the tall texts' ends are off it
    shown = app.canvas.surface
    assert _ink(shown, pygame.Rect(40, 40, 3200 - 40, 230), (170, 0, 0)) > 10_000
    pygame.image.save(screen, str(tmp_path / "attack.png"))

    # a late joiner catches the whole log up and survives it too
    (tmp_path / "late").mkdir()
    late = make_app(screen, tmp_path / "late")
    late_base = _reset_peak()
    late.connect("127.0.0.1", server.address[1], "bob", "r")
    late_meter = FrameMeter(late)
    late_meter.run_until(lambda: late.conn.state == "online" and _painted(late, len(objects)))
    late_peak = _status("VmHWM") - late_base
    assert late.conn.state == "online"
    assert late.texts.stats["largest_surface"] <= render.MAX_SURFACE_PIXELS
    assert late_meter.most <= FRAME_TEXT_PIXELS, late_meter.most
    assert late_peak <= RSS_BUDGET_MIB, f"the late joiner's peak memory grew {late_peak} MiB"
    reliability.record_abuse(
        reliability.Abuse(
            attack=(
                'a guest adds one text of 150 "W" then 1,850 newlines at size 200 (26,550 x 434,985 px) '
                f'and {TALL_COUNT} texts of 1,998 newlines then "W1" at size 200; the App in the room '
                "and a late joiner paint them"
            ),
            bound=(
                f"MAX_SURFACE_PIXELS: no text surface over {render.MAX_SURFACE_PIXELS:,} px (text measured "
                "from font metrics, painted piece by piece where the region being painted shows it); "
                f"text rendered per frame under {FRAME_TEXT_PIXELS:,} px; peak RSS growth under "
                f"{RSS_BUDGET_MIB} MiB"
            ),
            measured=(
                f"both clients alive; largest text surface {stats['largest_surface']:,} px (was a "
                f"26,550 x 434,985 request: Out of memory, the client exited); most text px in one frame "
                f"{meter.most:,}; peak RSS growth {peak} MiB in the room, {late_peak} MiB for the late "
                f"joiner ({late_meter.frames} frames to the whole board); {meter.frames} frames, "
                f"{seconds:.1f} s from the first add to the board painted"
            ),
        )
    )
    late.shutdown()
    app.shutdown()
    guest.close()


@pytest.mark.reliability
def test_opening_a_board_file_with_the_giant_text_works_and_is_bounded(screen, server, tmp_path):  # noqa: F811
    path = tmp_path / "hostile.pgboard"
    boardfile.save(path, attack_objects("f"))
    app = joined(make_app(screen, tmp_path), server)
    base = _reset_peak()
    meter = FrameMeter(app)
    meter.frame([key(pygame.K_o, mod=pygame.KMOD_LCTRL)])
    assert app.ui.picklist.open and app.ui.picklist.items[0][0].endswith("hostile.pgboard")
    meter.frame([key(pygame.K_1, unicode="1")])
    meter.frame([key(pygame.K_1, unicode="1")])  # add it to the board (or 2: replace it)
    meter.run_until(lambda: _painted(app, TALL_COUNT + 1) and not app.conn.pending_ops)
    peak = _status("VmHWM") - base
    assert app.conn.state == "online"
    assert len(server.rooms.get("r").board) == TALL_COUNT + 1  # the copies reached the server
    assert app.texts.stats["largest_surface"] <= render.MAX_SURFACE_PIXELS
    assert meter.most <= FRAME_TEXT_PIXELS, meter.most
    assert peak <= RSS_BUDGET_MIB, f"peak memory grew {peak} MiB"
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"Ctrl+O of a board file holding the giant text and {TALL_COUNT} tall texts (size 200)",
            bound=(
                f"MAX_SURFACE_PIXELS ({render.MAX_SURFACE_PIXELS:,} px); "
                f"peak RSS growth under {RSS_BUDGET_MIB} MiB"
            ),
            measured=(
                f"opened and sent ({TALL_COUNT + 1} objects); largest text surface "
                f"{app.texts.stats['largest_surface']:,} px; most text px in one frame {meter.most:,}; "
                f"peak RSS growth {peak} MiB; {meter.frames} frames (was: pygame.error Out of memory)"
            ),
        )
    )
    app.shutdown()


@pytest.mark.reliability
def test_eighty_tall_texts_cost_the_room_s_app_bounded_memory_and_frames(screen, server, tmp_path):  # noqa: F811
    app = joined(make_app(screen, tmp_path), server)
    guest = RawClient(server.address)
    guest.join("mallory", room="r", client="secret-mallory")
    guest.catch_up()
    tall = attack_objects(guest.obj_id("mallory"))[1:]
    base = _reset_peak()
    for n, obj in enumerate(tall):
        guest.send(Add(f"op-{n}", obj))
    guest.recv_until(lambda m: isinstance(m, Add) and m.obj.id == tall[-1].id)
    meter = FrameMeter(app)
    meter.run_until(lambda: _painted(app, len(tall)))
    peak = _status("VmHWM") - base
    assert app.conn.state == "online"
    assert peak <= RSS_BUDGET_MIB, f"peak memory grew {peak} MiB in {meter.frames} frames"
    assert app.texts.stats["largest_surface"] <= render.MAX_SURFACE_PIXELS
    assert meter.most <= FRAME_TEXT_PIXELS, meter.most
    # each tall text's "W1" is 468,000 px below its top: far off the board, so nothing of it is rendered
    assert app.texts.stats["pixels_rendered"] == 0
    reliability.record_abuse(
        reliability.Abuse(
            attack=f'a guest adds {TALL_COUNT} texts of 1,998 newlines then "W1" at size 200',
            bound=(
                "text measured from font metrics (line height x lines), painted only where shown; "
                f"text rendered per frame under {FRAME_TEXT_PIXELS:,} px; peak RSS growth under "
                f"{RSS_BUDGET_MIB} MiB"
            ),
            measured=(
                f"alive; {app.texts.stats['pixels_rendered']:,} text px rendered in all, peak RSS growth "
                f"{peak} MiB, {meter.frames} frames to the painted board (was ~0.3 GiB and ~0.5 s to "
                "measure each: 80 froze the client ~50 s until the server dropped it)"
            ),
        )
    )
    app.shutdown()
    guest.close()
