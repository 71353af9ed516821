"""Tests for pgboard/render.py's stroke painter: the same pixels as the plain one-call-per-piece painter.

The painter batches what it can into one C call per stroke (``pygame.draw.lines`` for thin strokes, the
dots and discs stamped from cached sprites with ``fblits``) because a late join paints millions of
points. What the user sees must not change: every stroke is compared pixel for pixel with the reference
below (a segment and a dot per point, each drawn on its own, which is what the painter did before),
whole and clipped, on the board's edges too, in every width and in the sprite key's colour.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence

import pygame
import pytest

from pgboard import render
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject

W, H = 360, 240


def reference_polyline(
    surf: pygame.Surface, color: pygame.Color, points: Sequence[tuple[int, int]], width: int
) -> None:
    """One draw call per piece: each segment (a line; a thick one a line BAND_EXTRA thicker, and a quad
    perpendicular to it where that line and the discs at its ends fall short of the true edge by more
    than BAND_GAP), then a dot on each point (a width x width square, or a disc)."""
    prev = None
    half = width / 2
    for p in points:
        if prev is not None and prev != p:
            if width <= render.THIN_WIDTH:
                pygame.draw.line(surf, color, prev, p, width)
            else:
                (ax, ay), (bx, by) = prev, p
                pygame.draw.line(surf, color, prev, p, width + render.BAND_EXTRA)
                d = math.hypot(bx - ax, by - ay)
                band = half * max(abs(bx - ax), abs(by - ay)) / d  # the line's half-thickness across
                discs = math.sqrt(max(0.0, half * half - d * d / 4))  # the end discs' waist halfway
                if half - max(band, discs) > render.BAND_GAP:
                    k = half / d
                    nx, ny = -(by - ay) * k, (bx - ax) * k
                    quad = ((ax + nx, ay + ny), (bx + nx, by + ny), (bx - nx, by - ny), (ax - nx, ay - ny))
                    pygame.draw.polygon(surf, color, quad)
        if width <= render.THIN_WIDTH:
            surf.fill(color, (p[0], p[1], width, width))
        else:
            pygame.draw.circle(surf, color, p, half)
        prev = p


def walk(rng: random.Random, n: int, w: int = W, h: int = H) -> list[tuple[int, int]]:
    """A stroke that wanders, sometimes off the surface's edges (coordinates below 0 and past it)."""
    pts = [(rng.randrange(-12, w + 12), rng.randrange(-12, h + 12))]
    for _ in range(n - 1):
        x, y = pts[-1]
        step = rng.choice((1, 3, 9, 40))
        pts.append((x + rng.randint(-step, step), y + rng.randint(-step, step)))
    return pts


@pytest.mark.parametrize("width", [1, 2, 3, 4, 5, 8, 9, 16, 33])
def test_every_stroke_paints_what_the_one_call_per_piece_painter_paints(width: int) -> None:
    rng = random.Random(width)
    colors = [pygame.Color("#1e50dc"), pygame.Color(255, 0, 255), pygame.Color(0, 0, 0)]
    for trial in range(12):
        pts = walk(rng, rng.choice((1, 2, 5, 60)))
        color = colors[trial % len(colors)]
        for clip in (None, pygame.Rect(40, 30, 150, 100)):
            want, got = pygame.Surface((W, H)), pygame.Surface((W, H))
            for s in (want, got):
                s.fill((255, 255, 255))
                s.set_clip(clip)
            reference_polyline(want, color, pts, width)
            render.draw_segments(got, color, pts, width)
            assert pygame.image.tobytes(got, "RGB") == pygame.image.tobytes(want, "RGB"), (trial, clip)


def test_a_stroke_along_the_board_edge_in_pieces_paints_what_it_paints_whole() -> None:
    color = pygame.Color("#dc2828")
    rng = random.Random(7)
    pts = [(0, 0)] + [(min(BOARD_W, abs(x)), min(BOARD_H, abs(y))) for x, y in walk(rng, 80, 40, 40)]
    for width in (2, 5):
        whole, parts = pygame.Surface((80, 80)), pygame.Surface((80, 80))
        whole.fill((255, 255, 255))
        parts.fill((255, 255, 255))
        render.draw_segments(whole, color, pts, width)
        render.draw_segments(parts, color, pts[:31], width)
        render.draw_segments(parts, color, pts[30:], width)
        want = pygame.Surface((80, 80))
        want.fill((255, 255, 255))
        reference_polyline(want, color, pts, width)
        assert pygame.image.tobytes(whole, "RGB") == pygame.image.tobytes(want, "RGB")
        assert pygame.image.tobytes(parts, "RGB") == pygame.image.tobytes(want, "RGB")


def test_an_object_that_raises_while_painted_is_a_grey_box_logged_once(caplog) -> None:  # type: ignore[no-untyped-def]
    texts = render.TextCache()
    obj = BoardObject(id="t", kind="text", points=((10, 10),), text="hello", size=24, color="#000000")
    surf = pygame.Surface((200, 100))
    surf.fill((255, 255, 255))
    surf.lock()  # a real pygame error: a locked surface refuses blits (fills still work)
    with caplog.at_level(logging.ERROR, logger="pgboard.render"):
        render.draw_object(surf, obj, texts)
        render.draw_object(surf, obj, texts)
    surf.unlock()
    x0, y0, x1, y1 = render.painted_box(obj, texts)
    assert surf.get_at((x0, y0))[:3] == render.PLACEHOLDER_COLOR
    assert surf.get_at((x1 - 1, y1 - 1))[:3] == render.PLACEHOLDER_COLOR
    assert surf.get_at(((x0 + x1) // 2, (y0 + y1) // 2))[:3] == (255, 255, 255)
    assert len([r for r in caplog.records if "drawn as a box" in r.getMessage()]) == 1


def test_a_giant_text_is_measured_without_rendering_and_painted_only_where_shown() -> None:
    texts = render.TextCache()
    giant = "W" * 150 + "\n" * 1850  # issue 10: a 26,550 x 434,985 surface when rendered whole
    obj = BoardObject(id="t", kind="text", points=((0, 0),), text=giant, size=200, color="#000000")
    w, h = texts.measure(giant, 200)
    assert h == 1851 * texts.line_height(200) and render.MAX_TEXT_PIXELS <= w
    assert w <= render.MAX_TEXT_PIXELS + render.MAX_RUN_PIXELS + 200
    assert texts.stats["pixels_rendered"] == 0  # measured from metrics alone
    assert render.painted_box(obj, texts) == (0, 0, BOARD_W, BOARD_H)  # cut at the board's edge
    surf = pygame.Surface((300, 300))
    surf.fill((255, 255, 255))
    surf.set_clip(pygame.Rect(100, 50, 100, 100))
    render.draw_object(surf, obj, texts)
    assert 0 < texts.stats["pixels_rendered"] <= render.MAX_RUN_PIXELS * 2 * texts.line_height(200)
    assert texts.stats["largest_surface"] <= render.MAX_SURFACE_PIXELS
    assert surf.get_at((120, 100))[:3] != (255, 255, 255) or surf.get_at((150, 120))[:3] != (255, 255, 255)
    assert surf.get_at((50, 100))[:3] == (255, 255, 255)  # outside the clip: untouched


def test_the_layout_cache_holds_a_bounded_number_of_pieces() -> None:
    texts = render.TextCache()
    if len(texts.paths) == 1:
        pytest.skip("no fallback font: every line is one run")
    for i in range(120):  # lines whose characters alternate fonts: a piece per character
        texts.measure(f"{i}" + "中😀" * 999, 8)
    held = sum(len(v) for v in texts._layouts.values())
    assert held <= render.LAYOUT_CACHE_PIECES + 2000


def test_a_text_that_cannot_be_measured_gets_the_estimate_instead_of_raising() -> None:
    from pgboard import geometry

    texts = render.TextCache()
    obj = BoardObject(id="t", kind="text", points=((10, 10),), text="hello", size=31, color="#000000")
    pygame.font.quit()  # a real failure: no font can be opened
    try:
        assert texts.box(obj) == geometry.bbox(obj)
    finally:
        pygame.font.init()
    assert texts.box(obj) != geometry.bbox(obj)  # measured once fonts work again
