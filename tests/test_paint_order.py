"""The drawing order holds on the screen while huge strokes are painted over frames (paint budgets).

A guest sends zigzag pencil strokes 64 wide covering the board; while the App is still "catching up,
painting" them (pgboard/paintjobs.py), its user draws a short stroke on top. Once nothing is left to
paint, the user's stroke must show in the App's window, and the view must be what a canvas painting
the same board in one go shows.

Status: a guard, not yet a reproduction. The lead saw the user's stroke covered under Xvfb (30 strokes
of 5,000 points); with the sizes and timings tried here (3 x 2,000, 10 x 5,000, the user's gesture
started after every stroke arrived, one to three events a frame) the App shows it correctly.
"""

from __future__ import annotations

import time

import pygame
import pytest
from support import RawClient
from test_app import between_frames, board_point, ev, joined, make_app

from pgboard.canvas import Canvas
from pgboard.protocol import Add, BoardObject

STROKES, POINTS, WIDTH = 3, 2000, 64
RED, BLUE = "#e03131", "#1c7ed6"
DEADLINE = 60.0  # seconds: a bound on a condition, never a pause


def zigzag(k: int) -> tuple[tuple[int, int], ...]:
    return tuple((((j * 37 + k * 13) % 3200), (j % 2) * 1700 + 50) for j in range(POINTS))


def view_pixels(canvas: Canvas, app, size: tuple[int, int]) -> bytes:
    out = pygame.Surface(size)
    canvas.draw(out, app.viewport)
    return pygame.image.tobytes(out.subsurface(app.viewport.rect), "RGB")


@pytest.mark.parametrize("per_frame", [1, 3])
def test_my_stroke_drawn_while_huge_strokes_are_painted_stays_on_top_on_screen(
    screen,  # noqa: F811
    server,  # noqa: F811
    tmp_path,
    per_frame: int,
):
    app = joined(make_app(screen, tmp_path), server)
    app.pick_color(BLUE)
    app.pick_width(26)
    guest = RawClient(server.address)
    guest.join("mallory", room="r")
    strokes = [BoardObject(guest.obj_id(f"zz-{k}"), "pencil", zigzag(k), RED, WIDTH) for k in range(STROKES)]
    for k, stroke in enumerate(strokes):
        guest.send(Add(oid=f"zz.{k}", obj=stroke))
    guest.recv_until(lambda m: isinstance(m, Add) and m.obj.id == strokes[-1].id)
    mine = [board_point(app, 0.3 + 0.02 * i, 0.5) for i in range(6)]
    gesture = [ev(pygame.MOUSEBUTTONDOWN, pos=mine[0], button=1)]
    gesture += [ev(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0)) for p in mine[1:]]
    gesture.append(ev(pygame.MOUSEBUTTONUP, pos=mine[-1], button=1))
    drawn_while_painting = False
    deadline = time.monotonic() + DEADLINE
    while True:
        events = []
        if len(app.board) >= 1 and gesture:
            events = [gesture.pop(0) for _ in range(min(per_frame, len(gesture)))]
            drawn_while_painting = drawn_while_painting or app.canvas.behind
        app.frame(events)
        done = not gesture and not app.room.waiting and not app.conn.pending_ops
        if done and not app.canvas.behind and len(app.board) == STROKES + 1:
            break
        assert time.monotonic() < deadline, f"not painted within {DEADLINE} s"
        between_frames(app)
    assert drawn_while_painting
    assert list(app.board.objects.values())[-1].author == app.room.me  # on top, as the server has it
    blue = pygame.Color(BLUE)
    for point in mine[1:-1]:  # what the user sees in the window
        assert screen.get_at(point)[:3] == blue[:3], f"my stroke is covered at {point}"
    fresh = Canvas(app.board, app.canvas.texts)
    try:
        fresh.surface  # noqa: B018 - painted in one go
        assert view_pixels(app.canvas, app, screen.get_size()) == view_pixels(fresh, app, screen.get_size())
        assert pygame.image.tobytes(app.canvas.surface, "RGB") == pygame.image.tobytes(fresh.surface, "RGB")
    finally:
        fresh.close()
    guest.close()
