"""Tests for pgboard/preview.py through the canvas: what the user sees while a big board comes in.

A board bigger than one frame's painting (PAINT_BUDGET) is drafted at board resolution first (the
preview: strokes as plain lines, without round joins and corner quads), spread over frames (a small
PREVIEW_BUDGET here, so a board of a few hundred objects takes several), and the view rescaled from
that draft while the board-resolution surface fills in behind it. The screen once the preview is
complete, while the board surface is not, is compared with the screen once everything is painted (the
view then smoothscaled from the board surface): the draft's joins differ, so they are compared as
12x12 blocks of screen pixels, each block's mean colour (measured on these boards: the worst block by
48; when the preview painted at screen scale, rounding widths to whole pixels, by 101).
A stroke 3 units wide missing from the final view moved its worst block by 140 to 200 levels. So no
block may differ by more than BLOCK_TOLERANCE, and only a few by more than BLOCK_NOISE; whether an
object is there or not is checked by its colour too. Remote changes during the preview must show on the
next frame.
"""

from __future__ import annotations

import random

import pygame
import pytest
from test_canvas import pixels, random_object, walk

from pgboard import boardview, preview
from pgboard.board import Board
from pgboard.canvas import Canvas, Viewport
from pgboard.protocol import Add, BoardObject, Delete, Extend
from pgboard.render import TextCache

BLOCK = 12  # screen pixels per side of a compared block
BLOCK_TOLERANCE = 128  # levels (0-255) any block's mean colour may differ by between preview and final
BLOCK_NOISE, NOISY_SHARE = 48, 0.08  # and at most 8% of the blocks by more than 48 (measured: 1.6-5.5%)
ADDED = (255, 0, 0)  # colours no generated object has
DELETED = (0, 200, 0)
VIEW = (0, 0, 1600, 900)  # the scale of a late join at 1920x1080 (0.5)
SEQ = 1000  # the joined board's sequence number


@pytest.fixture(scope="module")
def texts() -> TextCache:
    pygame.font.init()
    return TextCache()


@pytest.fixture(autouse=True)
def small_preview_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boardview, "PREVIEW_BUDGET", 6_000)  # a preview of about ten frames


def join(texts: TextCache, bottom: tuple[BoardObject, ...] = ()) -> tuple[Board, Canvas]:
    """A canvas joining a board of ``bottom``, then about 300 strokes and 100 other objects (40,000
    points: four frames of board painting) in blues and black, as the App joins (staged, then taken)."""
    rng = random.Random(3)
    board = Board(text_box=texts.box)
    canvas = Canvas(board, texts)
    staged = Board(text_box=texts.box)
    for obj in bottom:
        staged.place(obj)
    for i in range(300):
        start = (rng.randrange(100, 3100), rng.randrange(100, 1700))
        color = rng.choice(["#000000", "#0000ff", "#1e50dc"])
        staged.place(BoardObject(f"p{i}", "pencil", walk(rng, start, 120), color, rng.choice([1, 3, 5, 8])))
    for i in range(100):
        obj = random_object(rng, f"r{i}")
        staged.place(BoardObject(obj.id, obj.kind, obj.points, "#000000", obj.width, obj.text, obj.size))
    board.take(staged, SEQ)
    return board, canvas


def block_means(surface: pygame.Surface) -> list[tuple[int, int, int]]:
    w, h = surface.get_size()
    small = pygame.transform.box_blur(surface, 0)  # a copy
    small = pygame.transform.smoothscale(small, (w // BLOCK, h // BLOCK))
    return [tuple(small.get_at((x, y)))[:3] for y in range(h // BLOCK) for x in range(w // BLOCK)]


def assert_close(preview: pygame.Surface, final: pygame.Surface) -> None:
    """No block of ``preview`` differs from ``final`` by an object, and few by much anti-aliasing."""
    diffs = [
        max(abs(p - q) for p, q in zip(x, y, strict=True))
        for x, y in zip(block_means(preview), block_means(final), strict=True)
    ]
    assert max(diffs) <= BLOCK_TOLERANCE
    assert sum(d > BLOCK_NOISE for d in diffs) <= len(diffs) * NOISY_SHARE


def colour_count(surface: pygame.Surface, color: tuple[int, int, int], tolerance: int = 60) -> int:
    w, h = surface.get_size()
    return sum(
        1
        for y in range(0, h, 2)
        for x in range(0, w, 2)
        if all(abs(c - k) <= tolerance for c, k in zip(surface.get_at((x, y))[:3], color, strict=True))
    )


def until_view_complete(canvas: Canvas, screen: pygame.Surface, vp: Viewport) -> int:
    frames = 0
    while True:
        canvas.draw(screen, vp)
        frames += 1
        if canvas.view_complete:
            return frames
        assert frames < 200


def final_view(board: Board, texts: TextCache, vp: Viewport) -> pygame.Surface:
    """The view a canvas shows once everything is painted at board resolution."""
    fresh = Canvas(board, texts)
    try:
        fresh.surface  # noqa: B018 - paints what is left at once
        out = pygame.Surface(vp.rect.size)
        fresh.draw(out, vp)
        return out
    finally:
        fresh.close()


def test_the_whole_board_shows_before_the_board_surface_is_complete(texts: TextCache) -> None:
    board, canvas = join(texts)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    assert canvas.painting and not canvas.view_complete
    frames = until_view_complete(canvas, screen, vp)
    assert frames > 2  # the preview was spread over frames
    assert canvas.painting  # the board surface is still filling in behind it
    preview = screen.copy()
    while True:
        rescaled = canvas.stats["tiles_rescaled"]
        canvas.draw(screen, vp)
        if not canvas.painting:
            break  # this frame painted the last objects and rebuilt the view from the board surface
        assert pixels(screen) == pixels(preview)  # the half-painted surface is never shown meanwhile
        assert canvas.stats["tiles_rescaled"] == rescaled  # nor the draft rescaled again for nothing
    want = final_view(board, texts, vp)
    assert pixels(screen) == pixels(want)
    assert_close(preview, want)
    canvas.close()


def test_a_small_board_needs_no_preview(texts: TextCache) -> None:
    board = Board(text_box=texts.box)
    canvas = Canvas(board, texts)
    board.load([BoardObject("s", "pencil", ((10, 10), (500, 300)), "#000000", 3)], 1)
    assert not canvas.painting and canvas.view_complete
    canvas.close()


def test_remote_changes_during_the_preview_show_at_once(texts: TextCache) -> None:
    gone = BoardObject("gone", "pencil", walk(random.Random(1), (800, 800), 60), "#00c800", 8)
    board, canvas = join(texts, bottom=(gone,))
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    canvas.draw(screen, vp)
    assert not canvas.view_complete
    assert colour_count(screen, DELETED) > 0  # painted first, so already on the screen
    board.apply_echo(Delete(oid="d1", id="gone", author="", seq=SEQ + 1))
    new = BoardObject("new", "pencil", ((200, 200), (3000, 1600)), "#ff0000", 8, author="u2")
    board.apply_echo(Add(oid="a1", obj=new, author="u2", seq=SEQ + 2))
    canvas.draw(screen, vp)
    assert not canvas.view_complete  # still a preview
    assert colour_count(screen, DELETED) == 0
    added = colour_count(screen, ADDED)
    assert added > 0
    until_view_complete(canvas, screen, vp)
    assert colour_count(screen, DELETED) == 0
    assert colour_count(screen, ADDED) >= added  # what the preview painted later went under it
    later = BoardObject("later", "rect", ((100, 1500), (600, 1750)), "#ff0000", 8, author="u2")
    board.apply_echo(Add(oid="a2", obj=later, author="u2", seq=SEQ + 3))
    canvas.draw(screen, vp)  # the preview is complete, the board surface not: shown at once too
    assert canvas.painting
    assert colour_count(screen, ADDED) > added
    preview = screen.copy()
    while canvas.behind:  # the changes too, within the budget
        canvas.draw(screen, vp)
    canvas.draw(screen, vp)
    want = final_view(board, texts, vp)
    assert pixels(screen) == pixels(want)
    assert_close(preview, want)
    canvas.close()


@pytest.mark.parametrize("move", ["zoom", "pan"])
def test_a_zoom_or_pan_during_the_preview_previews_the_new_view(texts: TextCache, move: str) -> None:
    board, canvas = join(texts)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    vp.zoom_at((300, 200), 2.5)
    if move == "pan":
        canvas.draw(screen, vp)
        vp.pan(-40, 25)
    until_view_complete(canvas, screen, vp)
    assert canvas.painting
    want = final_view(board, texts, vp)
    assert_close(screen, want)
    while canvas.behind:
        canvas.draw(screen, vp)
    canvas.draw(screen, vp)
    assert pixels(screen) == pixels(want)
    canvas.close()


def test_too_many_changes_during_the_preview_fall_back_to_the_board_surface(texts: TextCache) -> None:
    board, canvas = join(texts)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    for i, obj in enumerate(board.snapshot()[:100]):  # more regions than one frame repaints in the view
        board.apply_echo(Delete(oid=f"d{i}", id=obj.id, author="", seq=SEQ + 1 + i))
    canvas.draw(screen, vp)
    assert not canvas.view_complete  # the progress of the board surface, as without a preview
    frames = 0
    while canvas.behind:  # then, as before, a repaint of the whole board for all those regions
        canvas.draw(screen, vp)
        frames += 1
        assert frames < 200
    canvas.draw(screen, vp)
    assert pixels(screen) == pixels(final_view(board, texts, vp))
    canvas.close()


def test_a_stroke_growing_during_the_preview_shows_each_segment_at_once(texts: TextCache) -> None:
    board, canvas = join(texts)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)  # the preview has begun
    stroke = BoardObject("live", "pencil", ((300, 300),), "#ff0000", 8, author="u2")
    board.apply_echo(Add(oid="a1", obj=stroke, author="u2", seq=SEQ + 1))
    seq, point = SEQ + 1, (300, 300)
    while not canvas.view_complete:
        for _ in range(8):  # a remote user's segments arriving in one frame
            nxt = (point[0] + 10, point[1] + (5 if seq % 20 < 10 else -5))
            seq += 1
            board.apply_echo(Extend(oid=f"e{seq}", id="live", points=(nxt,), author="u2", seq=seq))
            middle, point = ((point[0] + nxt[0]) / 2, (point[1] + nxt[1]) / 2), nxt
        canvas.draw(screen, vp)
        x, y = vp.to_screen(middle)
        got = screen.get_at((round(x), round(y)))[:3]  # the last segment, on this frame (smoothscaled,
        assert all(abs(c - k) <= 4 for c, k in zip(got, ADDED, strict=True)), got  # as the final view)
    assert seq - SEQ > preview.MAX_PATCHES  # more changes than the preview keeps separate patches for
    assert canvas.painting  # and the preview went on to the end before the board surface
    shown = screen.copy()
    while canvas.behind:
        canvas.draw(screen, vp)
    want = final_view(board, texts, vp)
    assert pixels(screen) == pixels(want)
    assert_close(shown, want)
    canvas.close()


@pytest.mark.reliability
def test_big_changes_during_the_preview_keep_its_patches_bounded(texts: TextCache) -> None:
    # each change's region of the draft is copied (a patch at board resolution, 4 bytes a pixel) until
    # the draft is complete: five huge strokes, none inside another, would hold 5 x 2.9 M pixels
    board, canvas = join(texts)
    vp = Viewport(VIEW)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    assert not canvas.view_complete
    corners = [
        ((5, 5), (1595, 1795)),
        ((1605, 5), (3195, 1795)),
        ((5, 5), (3195, 895)),
        ((5, 905), (3195, 1795)),
        ((805, 5), (2395, 1795)),
    ]
    for i, (a, b) in enumerate(corners):
        stroke = BoardObject(f"huge{i}", "line", (a, b), "#ff0000", 8, author="u2")
        board.apply_echo(Add(oid=f"h{i}", obj=stroke, author="u2", seq=SEQ + 1 + i))
        canvas.draw(screen, vp)
        phase = canvas._phase
        if phase.preview is not None:
            held = sum(r.w * r.h for r, _ in phase.preview._patches)
            assert held <= preview.MAX_PATCH_PIXELS + 3200 * 1800  # the bound, and the one that passed it
    assert phase.phase is boardview.Phase.GAVE_UP  # the view shows the board surface's progress instead
    while canvas.behind:
        canvas.draw(screen, vp)
    canvas.draw(screen, vp)
    assert pixels(screen) == pixels(final_view(board, texts, vp))
    canvas.close()
