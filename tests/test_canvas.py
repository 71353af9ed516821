"""Tests for pgboard/canvas.py and pgboard/render.py: pixels of what a user would see.

The board surface is compared pixel for pixel with a fresh full redraw after every kind of change, the
screen view likewise (tiles rescaled incrementally against a view built from scratch), and the viewport
mapping is checked both ways.
"""

from __future__ import annotations

import random
import time

import pygame
import pygame.freetype
import pytest

from pgboard.board import Board
from pgboard.canvas import MAX_ZOOM, OUTSIDE_BG, SELECTION_COLOR, Canvas, RemoteCursor, Viewport
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    Add,
    BoardObject,
    Clear,
    Delete,
    Extend,
    Move,
    Redo,
    Undo,
)
from pgboard.render import TextCache, find_font, painted_box
from pgboard.tools import clamp_point

WHITE = (255, 255, 255)
RED, GREEN, BLUE = (255, 0, 0), (0, 160, 0), (0, 0, 255)
SCREEN = (1280, 720)


@pytest.fixture(scope="module")
def texts() -> TextCache:
    pygame.font.init()
    return TextCache()


def rgb(surface: pygame.Surface, pos: tuple[float, float]) -> tuple[int, int, int]:
    c = surface.get_at((int(pos[0]), int(pos[1])))
    return (c.r, c.g, c.b)


def near(color: tuple[int, int, int], want: tuple[int, int, int], tolerance: int = 8) -> bool:
    """Screen pixels of a scaled view: the colour, give or take the smoothing's rounding."""
    return all(abs(a - b) <= tolerance for a, b in zip(color, want, strict=True))


def colors_in(surface: pygame.Surface, rect: pygame.Rect) -> set[tuple[int, int, int]]:
    return {rgb(surface, (x, y)) for x in range(rect.left, rect.right) for y in range(rect.top, rect.bottom)}


def pixels(surface: pygame.Surface) -> bytes:
    return pygame.image.tobytes(surface, "RGB")


class Ops:
    """Applies operations as the server would (Board.apply) with fresh operation ids."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.n = 0

    def __call__(self, op_type: type, author: str = "u1", **fields: object) -> None:
        self.n += 1
        self.board.apply(op_type(oid=f"op{self.n}", **fields), author)

    def add(self, obj: BoardObject, author: str = "u1") -> None:
        self(Add, author, obj=obj)


def one_of_each() -> list[BoardObject]:
    return [
        BoardObject("pencil", "pencil", ((100, 100), (300, 100), (300, 300)), "#ff0000", 9),
        BoardObject("line", "line", ((400, 100), (600, 300)), "#0000ff", 5),
        BoardObject("rect", "rect", ((700, 100), (900, 300)), "#00a000", 5),
        BoardObject("oval", "oval", ((1000, 100), (1300, 300)), "#ff0000", 5),
        BoardObject("circle", "circle", ((1400, 100), (1500, 150)), "#0000ff", 5),
        BoardObject("square", "square", ((1600, 100), (1650, 300)), "#00a000", 5),
        BoardObject("text", "text", ((100, 500),), "#0000ff", text="中文 Ø", size=48),
        BoardObject("dot", "pencil", ((2000, 1000),), "#ff0000", 20),
    ]


# -- drawing each kind of object


def test_each_kind_paints_its_outline_in_its_colour_and_nothing_else() -> None:
    board = Board()
    ops = Ops(board)
    for obj in one_of_each():
        ops.add(obj)
    s = Canvas(board).surface
    on = {
        RED: [(200, 100), (300, 200), (100, 100), (1150, 100), (1000, 200), (1300, 200), (2000, 1000)],
        BLUE: [(500, 200), (400, 100), (600, 300), (1450, 100), (1450, 200), (1400, 150), (1500, 150)],
        GREEN: [(800, 100), (700, 200), (900, 250), (1800, 200), (1700, 300), (1600, 150)],
    }
    off = [(200, 115), (200, 200), (500, 230), (800, 200), (1150, 200), (1010, 110), (1450, 150)]
    off += [(1700, 200), (1600, 310), (2015, 1000), (300, 315), (3100, 1700)]
    for color, points in on.items():
        for p in points:
            assert rgb(s, p) == color, p
    for p in off:
        assert rgb(s, p) == WHITE, p
    # a diagonal thick line is as thick across as a horizontal one (not thinned to w / sqrt 2)
    # (a 45-degree line 5 wide crosses a row of pixels over 5 * sqrt 2 = 7 of them)
    assert [rgb(s, (x, 200)) for x in range(490, 511)].count(BLUE) in (6, 7, 8)


def test_text_is_drawn_in_its_colour_inside_its_painted_box(texts: TextCache) -> None:
    board = Board()
    Ops(board).add(one_of_each()[6])
    s = Canvas(board, texts).surface
    x0, y0, x1, y1 = painted_box(board.get("text"), texts)  # type: ignore[arg-type]
    assert x1 - x0 > 100 and 48 <= y1 - y0 < 100
    inside = [rgb(s, (x, y)) for x in range(x0, x1) for y in range(y0, y1)]
    assert inside.count(BLUE) > 100
    assert all(c[0] == c[1] and c[2] >= c[0] for c in inside)  # only blue blended into white
    ring = [(x, y0 - 1) for x in range(x0 - 1, x1 + 1)] + [(x1, y) for y in range(y0, y1)]
    assert all(rgb(s, p) == WHITE for p in ring)


def test_the_font_found_covers_cjk() -> None:
    path = find_font()
    assert path is not None, "install a CJK font (fonts-wqy-microhei) for these tests"
    pygame.freetype.init()
    font = pygame.freetype.Font(path, 24)
    assert all(font.get_metrics(ch)[0] is not None for ch in "中文Ø")


def test_characters_missing_from_the_main_font_come_from_a_fallback_font(texts: TextCache) -> None:
    if len(texts.paths) == 1:
        pytest.skip("no fallback font with emoji or symbols is installed")
    runs = texts.runs("中文 😀 é")
    assert runs[0] == (0, "中文 ") and runs[1][0] > 0 and runs[-1][1].endswith("é")
    tofu = TextCache(fallbacks=()).surface("😀", 48, "#000000")
    drawn = texts.surface("😀", 48, "#000000")
    assert pygame.image.tobytes(drawn, "RGBA") != pygame.image.tobytes(tofu, "RGBA")
    # the caret after the emoji is where the rendered line ends
    width = texts.surface("中文 😀", 48, "#000000").get_width()
    assert texts.caret_position("中文 😀", 48, 4)[0] == width


def test_a_missing_font_falls_back_to_the_default_and_the_cache_is_bounded() -> None:
    cache = TextCache("/nonexistent/font.ttf", capacity=3)
    surf = cache.surface("fallback", 30, "#ff0000")
    assert surf.get_width() > 60 and any(
        surf.get_at((x, y)).a > 200 for x in range(surf.get_width()) for y in range(surf.get_height())
    )
    for word in ("a", "b", "c", "d"):
        cache.surface(word, 30, "#000000")
    assert len(cache._surfaces) == 3
    assert cache.pixels == sum(s.get_width() * s.get_height() for s in cache._surfaces.values())


# -- incremental redraw equals a full redraw


def assert_same_as_full_redraw(board: Board, canvas: Canvas, vp: Viewport | None = None) -> None:
    fresh = Canvas(board, canvas.texts)
    try:
        assert pixels(canvas.surface) == pixels(fresh.surface)
        if vp is not None:
            a, b = pygame.Surface(vp.rect.size), pygame.Surface(vp.rect.size)
            canvas.draw(a, vp)
            fresh.draw(b, vp)
            assert pixels(a) == pixels(b)
    finally:
        fresh.close()


def random_object(rng: random.Random, oid: str) -> BoardObject:
    kind = rng.choice(["pencil", "line", "rect", "oval", "circle", "square", "text"])
    color = rng.choice(["#000000", "#ff0000", "#0000ff", "#00a000", "#ffa500"])
    x, y = rng.randrange(0, BOARD_W - 300), rng.randrange(0, BOARD_H - 300)
    width = rng.choice([1, 2, 3, 5, 8, 17, 40])
    if kind == "text":
        text = rng.choice(["hello", "中文 Ø", "two\nlines", "x"])
        return BoardObject(oid, kind, ((x, y),), color, text=text, size=rng.choice([12, 24, 60]))
    if kind == "pencil":
        return BoardObject(oid, kind, ((x, y),), color, width)
    end = clamp_point((x + rng.randrange(-200, 300), y + rng.randrange(-200, 300)))
    return BoardObject(oid, kind, ((x, y), end), color, width)


@pytest.mark.parametrize("seed", range(4))
def test_incremental_redraw_equals_full_redraw(seed: int) -> None:
    rng = random.Random(seed)
    board = Board()
    ops = Ops(board)
    canvas = Canvas(board)
    vp = Viewport((0, 0, 900, 600))
    vp.zoom_at((300, 200), [1.0, 1.7, 3.0, 6.5][seed])
    screen = pygame.Surface(vp.rect.size)
    authors = ["u1", "u2"]
    for step in range(120):
        author = rng.choice(authors)
        mine = [o for o in board.snapshot() if o.author == author]
        action = rng.random()
        if action < 0.35 or not mine:
            ops.add(random_object(rng, f"o{step}"), author)
        elif action < 0.6 and any(o.kind == "pencil" for o in mine):
            pencil = rng.choice([o for o in mine if o.kind == "pencil"])
            x, y = pencil.points[-1]
            ops(Extend, author, id=pencil.id, points=(clamp_point((x + rng.randrange(-60, 61), y - 30)),))
        elif action < 0.75:
            obj = rng.choice(mine)
            xs, ys = [p[0] for p in obj.points], [p[1] for p in obj.points]
            dx = rng.randrange(-min(xs), BOARD_W - max(xs) + 1)
            dy = rng.randrange(-min(ys), BOARD_H - max(ys) + 1)
            ops(Move, author, id=obj.id, dx=dx // 4, dy=dy // 4, live=rng.random() < 0.5)
        elif action < 0.85:
            ops(Delete, author, id=rng.choice(mine).id)
        elif action < 0.93:
            ops(Undo, author)
        elif action < 0.97:
            ops(Redo, author)
        else:
            ops(Clear, author)
        if step % 7 == 0:
            canvas.draw(screen, vp)  # the view follows the damage between the checks
        if step % 40 == 39:
            assert_same_as_full_redraw(board, canvas, vp)
    assert_same_as_full_redraw(board, canvas, vp)


def test_extending_a_stroke_under_a_newer_object_keeps_the_newer_one_on_top() -> None:
    board = Board()
    ops = Ops(board)
    canvas = Canvas(board)
    ops.add(BoardObject("s", "pencil", ((100, 300),), "#ff0000", 9))
    ops.add(BoardObject("cover", "rect", ((150, 250), (250, 350)), "#0000ff", 40), "u2")
    ops(Extend, id="s", points=((200, 300), (300, 300)))
    assert rgb(canvas.surface, (150, 300)) == BLUE  # under the rect's thick edge
    assert rgb(canvas.surface, (200, 300)) == RED  # inside the rect's hole
    assert_same_as_full_redraw(board, canvas)


def test_a_moved_or_deleted_object_leaves_no_trace() -> None:
    board = Board()
    ops = Ops(board)
    canvas = Canvas(board)
    ops.add(BoardObject("under", "line", ((0, 200), (BOARD_W, 200)), "#00a000", 5))
    ops.add(BoardObject("r", "rect", ((100, 100), (300, 300)), "#ff0000", 17))
    ops.add(BoardObject("t", "text", ((150, 150),), "#0000ff", text="中文 moves", size=60))
    ops(Move, id="r", dx=1000, dy=1000)
    ops(Move, id="t", dx=5, dy=3, live=True)
    ops(Move, id="t", dx=2000, dy=600, live=False)
    only_under = Board()
    Ops(only_under).add(board.get("under"))  # type: ignore[arg-type]
    reference = Canvas(only_under).surface
    old = pygame.Rect(80, 80, 240, 240)
    assert pixels(canvas.surface.subsurface(old)) == pixels(reference.subsurface(old))
    assert rgb(canvas.surface, (150, 200)) == GREEN and rgb(canvas.surface, (150, 150)) == WHITE
    assert rgb(canvas.surface, (1100, 1200)) == RED
    ops(Delete, id="r")
    assert rgb(canvas.surface, (1100, 1200)) == WHITE
    assert_same_as_full_redraw(board, canvas)


def test_load_redraws_everything() -> None:
    board = Board()
    canvas = Canvas(board)
    Ops(board).add(BoardObject("a", "rect", ((10, 10), (50, 50)), "#ff0000", 5))
    board.load([BoardObject("b", "line", ((0, 900), (3200, 900)), "#0000ff", 9, author="u1")], 5)
    assert rgb(canvas.surface, (10, 30)) == WHITE and rgb(canvas.surface, (1600, 900)) == BLUE
    assert_same_as_full_redraw(board, canvas)


def test_a_dragged_object_floats_over_a_crowded_board_and_lands_when_it_stops() -> None:
    board = Board()
    ops = Ops(board)
    rng = random.Random(9)
    for i in range(400):  # a crowd where the drag goes
        x, y = rng.randrange(300, 900), rng.randrange(300, 700)
        ops.add(BoardObject(f"c{i}", "line", ((x, y), (x + 30, y + 20)), "#000000", 2), "u2")
    ops.add(BoardObject("box", "rect", ((300, 300), (500, 500)), "#ff0000", 9))
    canvas = Canvas(board)
    vp = Viewport((0, 0, *SCREEN))
    vp.zoom_at((0, 0), 2)
    screen = pygame.Surface(SCREEN)
    canvas.draw(screen, vp)
    painted = []
    for _ in range(10):
        ops(Move, id="box", dx=20, dy=10, live=True)
        before = canvas.stats["objects_painted"]
        canvas.draw(screen, vp)
        painted.append(canvas.stats["objects_painted"] - before)
    assert "box" in canvas.floating and painted[0] > 50  # lifting it repainted its crowd once
    assert painted[2:] == [0] * 8  # then the drag costs no repaint at all
    for old_edge in [(300, 400), (500, 350), (400, 300)]:  # the box was here: no trace of red
        assert not near(rgb(screen, vp.to_screen(old_edge)), RED, 60)
    for new_edge in [(500, 500), (700, 450), (600, 400)]:  # it is drawn here, over the crowd
        assert near(rgb(screen, vp.to_screen(new_edge)), RED)
    ops(Move, id="box", dx=0, dy=0, live=False)
    canvas.draw(screen, vp)
    canvas.draw(screen, vp)  # a frame without a move: it lands
    assert canvas.floating == {}
    assert pixels(screen) == fresh_view(board, canvas, vp)
    assert_same_as_full_redraw(board, canvas, vp)


def test_a_long_stroke_being_dragged_is_drawn_once_then_blitted() -> None:
    board = Board()
    ops = Ops(board)
    wave = tuple((100 + i * 4, 600 + (i % 20) * 10) for i in range(600))
    ops.add(BoardObject("s", "pencil", wave, "#ff0000", 6))
    canvas = Canvas(board)
    vp = Viewport((0, 0, *SCREEN))
    screen = pygame.Surface(SCREEN)
    for _ in range(10):
        ops(Move, id="s", dx=7, dy=3, live=True)
        canvas.draw(screen, vp)
    assert "s" in canvas.floating and canvas.stats["sprites_drawn"] == 1
    for x, y in board.get("s").points[::50]:  # type: ignore[union-attr]
        assert near(rgb(screen, vp.to_screen((x, y))), RED, 60)
    ops(Move, id="s", dx=0, dy=0, live=False)
    canvas.draw(screen, vp)
    canvas.draw(screen, vp)
    assert canvas.floating == {} and pixels(screen) == fresh_view(board, canvas, vp)


def test_an_object_deleted_while_floating_leaves_no_trace() -> None:
    board = Board()
    ops = Ops(board)
    ops.add(BoardObject("box", "rect", ((300, 300), (500, 500)), "#ff0000", 9))
    canvas = Canvas(board)
    vp = Viewport((0, 0, *SCREEN))
    screen = pygame.Surface(SCREEN)
    for _ in range(3):
        ops(Move, id="box", dx=20, dy=10, live=True)
        canvas.draw(screen, vp)
    assert "box" in canvas.floating
    ops(Delete, id="box")
    canvas.draw(screen, vp)
    assert canvas.floating == {} and pixels(screen) == fresh_view(board, canvas, vp)
    assert_same_as_full_redraw(board, canvas, vp)


# -- the view on the screen


def test_fit_shows_the_whole_board_scaled_into_the_rect() -> None:
    board = Board()
    Ops(board).add(BoardObject("frame", "rect", ((40, 40), (BOARD_W - 40, BOARD_H - 40)), "#ff0000", 64))
    canvas = Canvas(board)
    vp = Viewport((100, 50, 800, 800))  # square rect: the board is letterboxed
    screen = pygame.Surface((1000, 900))
    screen.fill((1, 2, 3))
    canvas.draw(screen, vp)
    assert vp.scale == 0.25 and vp.to_screen((0, 0)) == (100, 50 + (800 - 450) / 2)
    top = 50 + 175
    assert near(rgb(screen, (110, top + 10)), RED)  # the frame's corner, scaled
    assert rgb(screen, (500, top + 225)) == WHITE  # the middle of the board
    assert rgb(screen, (500, 60)) == OUTSIDE_BG  # above the board, inside the rect
    assert rgb(screen, (50, 60)) == (1, 2, 3)  # outside the rect: untouched


def test_zoomed_view_shows_detail_where_the_cursor_was() -> None:
    board = Board()
    Ops(board).add(BoardObject("l", "line", ((1600, 0), (1600, BOARD_H)), "#0000ff", 3))
    canvas = Canvas(board)
    vp = Viewport((0, 0, *SCREEN))
    screen = pygame.Surface(SCREEN)
    pos = vp.to_screen((1600, 900))
    vp.zoom_at(pos, 8)
    canvas.draw(screen, vp)
    assert vp.to_screen((1600, 900)) == pytest.approx(pos)
    row = [rgb(screen, (x, 360)) for x in range(SCREEN[0])]
    blue = [x for x, c in enumerate(row) if c == BLUE]
    assert set(row) == {WHITE, BLUE}  # crisp, no smoothing when zoomed in
    board_px = [rgb(canvas.surface, (x, 900)) for x in range(1590, 1610)].count(BLUE)
    assert blue == list(range(blue[0], blue[-1] + 1))  # one run
    assert blue[0] <= pos[0] <= blue[-1] and abs(len(blue) - board_px * vp.scale) <= 2


def test_view_follows_new_strokes_and_pans() -> None:
    board = Board()
    ops = Ops(board)
    canvas = Canvas(board)
    vp = Viewport((0, 0, *SCREEN))
    vp.zoom_at((0, 0), 2)
    screen = pygame.Surface(SCREEN)
    canvas.draw(screen, vp)
    ops.add(BoardObject("s", "pencil", ((500, 500),), "#ff0000", 10))
    ops(Extend, id="s", points=((700, 500),))
    canvas.draw(screen, vp)
    assert near(rgb(screen, vp.to_screen((600, 500))), RED)
    vp.pan(-100, -40)
    canvas.draw(screen, vp)
    assert near(rgb(screen, vp.to_screen((600, 500))), RED)
    assert rgb(screen, vp.to_screen((600, 530))) == WHITE


def fresh_view(board: Board, canvas: Canvas, vp: Viewport) -> bytes:
    fresh = Canvas(board, canvas.texts)
    try:
        screen = pygame.Surface(vp.rect.size)
        fresh.draw(screen, vp)
        return pixels(screen)
    finally:
        fresh.close()


@pytest.mark.parametrize("zoom", [2.0, 5.0])
def test_panning_scrolls_the_cached_view_and_matches_a_fresh_one(zoom: float) -> None:
    rng = random.Random(int(zoom))
    board = Board()
    ops = Ops(board)
    for i in range(60):
        ops.add(random_object(rng, f"o{i}"))
    canvas = Canvas(board)
    vp = Viewport((20, 10, 800, 500))
    vp.zoom_at((420, 260), zoom)
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    whole_view = canvas.stats["tiles_rescaled"]
    for step in range(12):
        vp.pan(rng.randrange(-90, 91), rng.randrange(-60, 61))
        if step % 3 == 0:
            obj = board.get(f"o{step}")
            assert obj is not None
            right, top = max(p[0] for p in obj.points) < BOARD_W - 3, min(p[1] for p in obj.points) > 2
            ops(Move, id=obj.id, dx=3 if right else -3, dy=-2 if top else 2)
        before = canvas.stats["tiles_rescaled"]
        canvas.draw(screen, vp)
        assert canvas.stats["tiles_rescaled"] - before < whole_view / 2  # not the whole view again
    assert pixels(screen) == fresh_view(board, canvas, vp)
    vp.pan(-100_000, 0)  # against the bound: a fractional step, the view is rebuilt
    canvas.draw(screen, vp)
    assert pixels(screen) == fresh_view(board, canvas, vp)


def walk(rng: random.Random, start: tuple[int, int], n: int) -> tuple[tuple[int, int], ...]:
    x, y = start
    out = []
    for _ in range(n):
        x, y = clamp_point((x + rng.randrange(-30, 31), y + rng.randrange(-30, 31)))
        out.append((x, y))
    return tuple(out)


@pytest.mark.parametrize("seed", range(3))
def test_a_stroke_growing_under_newer_shapes_paints_like_a_full_redraw(seed: int) -> None:
    rng = random.Random(seed)
    board = Board()
    ops = Ops(board)
    ops.add(BoardObject("s", "pencil", ((800, 500),), "#ff0000", rng.choice([1, 2, 5, 17])))
    for i in range(60):  # shapes and strokes drawn later, over where the stroke will grow (no text)
        obj = random_object(rng, f"o{i}")
        if obj.kind == "text":
            continue
        pts = walk(rng, (800, 500), 8) if obj.kind == "pencil" else obj.points
        ops.add(BoardObject(obj.id, obj.kind, pts, obj.color, obj.width), "u2")
    canvas = Canvas(board)
    vp = Viewport((0, 0, 900, 600))
    screen = pygame.Surface(vp.rect.size)
    canvas.draw(screen, vp)
    last = (800, 500)
    for _ in range(40):
        pts = walk(rng, last, rng.randrange(1, 4))
        last = pts[-1]
        ops(Extend, id="s", points=pts)
        canvas.draw(screen, vp)
    assert_same_as_full_redraw(board, canvas, vp)


def test_a_big_board_is_painted_over_frames_and_what_changes_meanwhile_is_kept() -> None:
    rng = random.Random(7)
    board = Board()
    ops = Ops(board)
    for i in range(300):  # about 30,000 points: more than one frame's painting
        ops.add(BoardObject(f"p{i}", "pencil", walk(rng, (1600, 900), 100), "#0000ff", 3), "u1")
    canvas = Canvas(board)
    vp = Viewport((0, 0, 900, 600))
    screen = pygame.Surface(vp.rect.size)
    assert canvas.painting
    frames = 0
    while canvas.painting:
        step = frames % 4
        if step == 0:
            ops.add(BoardObject(f"n{frames}", "pencil", walk(rng, (1600, 900), 5), "#ff0000", 5), "u2")
        elif step == 1:
            ops(Extend, "u1", id="p299", points=walk(rng, (1600, 900), 3))
        elif step == 2:
            ops(Move, "u1", id=f"p{frames}", dx=5, dy=-5)
        else:
            ops(Delete, "u1", id=f"p{frames + 100}")
        canvas.draw(screen, vp)
        frames += 1
        assert frames < 100
    assert frames > 1
    canvas.draw(screen, vp)
    assert_same_as_full_redraw(board, canvas, vp)


def test_clearing_many_objects_repaints_the_board_once() -> None:
    board = Board()
    ops = Ops(board)
    rng = random.Random(5)
    for i in range(300):
        ops.add(random_object(rng, f"m{i}"), "u1" if i % 3 else "u2")
    canvas = Canvas(board)
    painted = canvas.stats["objects_painted"]
    ops(Clear, "u1")
    canvas.update()
    assert canvas.stats["objects_painted"] - painted == len(board) == 100  # what is left, once
    assert_same_as_full_redraw(board, canvas)
    ops(Undo, "u1")  # everything comes back, each painted on top
    assert_same_as_full_redraw(board, canvas)


# -- the viewport mapping


def test_viewport_round_trips_at_every_zoom_and_pan() -> None:
    rng = random.Random(1)
    vp = Viewport((30, 40, 1000, 700))
    for _ in range(30):
        vp.zoom_at((rng.randrange(30, 1030), rng.randrange(40, 740)), rng.choice([0.5, 1.25, 2.0, 3.0]))
        vp.pan(rng.randrange(-300, 300), rng.randrange(-300, 300))
        for _ in range(20):
            p = (rng.randrange(0, BOARD_W + 1), rng.randrange(0, BOARD_H + 1))
            assert vp.to_board(vp.to_screen(p)) == p
        # a whole screen pixel maps to the board within one pixel's worth of board units
        s = (rng.randrange(30, 1030), rng.randrange(40, 740))
        back = vp.to_screen(vp.to_board(s))
        assert abs(back[0] - s[0]) <= max(vp.scale, 1) and abs(back[1] - s[1]) <= max(vp.scale, 1)


def test_zoom_keeps_the_point_under_the_cursor_and_is_bounded() -> None:
    vp = Viewport((0, 0, *SCREEN))
    fit = vp.scale
    assert fit == 0.4
    cursor = (700, 300)
    under = vp.to_board_f(cursor)
    for factor in (1.5, 2, 1.1, 0.8):
        vp.zoom_at(cursor, factor)
        assert vp.to_board_f(cursor) == pytest.approx(under)
    vp.zoom_at(cursor, 1000)
    assert vp.scale == pytest.approx(fit * MAX_ZOOM)
    vp.zoom_at(cursor, 0.0001)
    assert vp.scale == fit and vp.to_screen((0, 0)) == (0, 0)


def test_pan_cannot_lose_the_board() -> None:
    vp = Viewport((10, 20, *SCREEN))
    vp.pan(500, 500)  # at the fit scale the board already fills the rect: nowhere to go
    assert vp.to_screen((0, 0)) == (10, 20)
    vp.zoom_at((500, 300), 4)
    vp.pan(-100_000, -100_000)
    assert vp.to_screen((BOARD_W, BOARD_H)) == pytest.approx((10 + SCREEN[0], 20 + SCREEN[1]))
    vp.pan(100_000, 100_000)
    assert vp.to_screen((0, 0)) == (10, 20)
    assert vp.to_board((-50, 5000)) == (0, BOARD_H)  # clamped to the board


def test_resize_keeps_the_zoom_and_the_centre() -> None:
    vp = Viewport((0, 0, *SCREEN))
    vp.zoom_at((640, 360), 3)
    centre = vp.to_board_f((640, 360))
    vp.resize((0, 0, 1920, 1080))
    assert vp.zoom == pytest.approx(3) and vp.to_board_f((960, 540)) == pytest.approx(centre)


# -- the overlay


def test_overlay_draws_previews_caret_cursors_and_selection_on_the_screen_only() -> None:
    board = Board()
    Ops(board).add(BoardObject("sel", "rect", ((2000, 1000), (2400, 1400)), "#00a000", 9))
    canvas = Canvas(board)
    before = pixels(canvas.surface)
    vp = Viewport((0, 0, *SCREEN))
    screen = pygame.Surface(SCREEN)
    preview = BoardObject("preview", "rect", ((500, 500), (1000, 1000)), "#ff0000", 10)
    typing = BoardObject("preview", "text", ((100, 1300),), "#0000ff", text="中文", size=100)
    canvas.draw(
        screen,
        vp,
        previews=[preview, typing],
        caret=(typing, 2),
        cursors=[RemoteCursor("bob", (2800, 300), "#ff0000")],
        selection=[board.get("sel")],  # type: ignore[list-item]
    )
    assert pixels(canvas.surface) == before  # the overlay never touches the board
    assert rgb(screen, vp.to_screen((750, 500))) == RED
    assert rgb(screen, vp.to_screen((750, 750))) == WHITE
    caret = canvas.caret_rect(vp, typing, 2)
    assert caret.x > vp.to_screen((100, 0))[0] + 40 and caret.h >= 40  # after two wide glyphs
    assert rgb(screen, caret.center) == BLUE
    cx, cy = vp.to_screen((2800, 300))
    assert rgb(screen, (cx + 2, cy + 6)) == RED  # the arrow
    label_area = colors_in(screen, pygame.Rect(int(cx) + 12, int(cy) + 12, 28, 16))
    # white name on the cursor's colour, translucent: the board shows through (red over white: pink)
    assert WHITE in label_area and any(r == 255 and 0 < g == b < 90 for r, g, b in label_area)
    left = vp.to_screen((2000, 1200))
    assert SELECTION_COLOR in [rgb(screen, (left[0] - d, left[1])) for d in range(3, 9)]


# -- cost does not grow with the board


def many_objects(n: int) -> list[BoardObject]:
    rng = random.Random(7)
    out = []
    for i in range(n):
        x, y = rng.randrange(0, BOARD_W - 40), rng.randrange(0, BOARD_H - 40)
        kind = ("line", "rect", "pencil")[i % 3]
        pts: tuple[tuple[int, int], ...] = ((x, y), (x + rng.randrange(40), y + rng.randrange(40)))
        if kind == "pencil":
            pts = (*pts, (x + 20, y))
        out.append(BoardObject(f"o{i}", kind, pts, "#000000", 2, author="u1"))
    return out


def frame_cost(canvas: Canvas, vp: Viewport, screen: pygame.Surface, frames: int = 200) -> float:
    canvas.draw(screen, vp)
    t0 = time.perf_counter()
    for _ in range(frames):
        canvas.draw(screen, vp)
    return (time.perf_counter() - t0) / frames


def busy_frames(canvas: Canvas, vp: Viewport, screen: pygame.Surface) -> tuple[float, float, int]:
    """Average frame costs of a stroke growing (one extend a frame) and of a live drag of a rect,
    and the tiles the stroke's frames rescaled."""
    ops = Ops(canvas.board)
    ops.add(BoardObject("new", "pencil", ((1600, 900),), "#ff0000", 3))
    ops.add(BoardObject("box", "rect", ((400, 400), (600, 600)), "#0000ff", 5))
    canvas.draw(screen, vp)
    tiles = canvas.stats["tiles_rescaled"]
    t0 = time.perf_counter()
    for i in range(1, 61):
        ops(Extend, id="new", points=((1600 + i * 5, 900 + i),))
        canvas.draw(screen, vp)
    stroke = (time.perf_counter() - t0) / 60
    tiles = canvas.stats["tiles_rescaled"] - tiles
    t0 = time.perf_counter()
    for _ in range(30):
        ops(Move, id="box", dx=10, dy=5, live=True)
        canvas.draw(screen, vp)
    return stroke, (time.perf_counter() - t0) / 30, tiles


def test_idle_frame_cost_does_not_grow_with_the_number_of_objects(capsys: pytest.CaptureFixture[str]) -> None:
    vp = Viewport((0, 0, *SCREEN))
    screen = pygame.Surface(SCREEN)
    empty = Canvas(Board())
    board = Board()
    t0 = time.perf_counter()
    board.load(many_objects(100_000), 1)
    full = Canvas(board)
    build = time.perf_counter() - t0
    idle_empty, idle_full = frame_cost(empty, vp, screen), frame_cost(full, vp, screen)
    before = dict(full.stats)
    frame_cost(full, vp, screen, 20)
    assert full.stats == before  # idle frames paint nothing and rescale nothing
    stroke_empty, drag_empty, _ = busy_frames(empty, vp, screen)
    stroke_full, drag_full, tiles = busy_frames(full, vp, screen)
    assert tiles <= 60 * 4  # a frame rescales the few tiles its segment touched, not the view
    with capsys.disabled():
        print(
            f"\n[canvas cost, ms per frame: empty board / 100,000 objects] "
            f"idle {idle_empty * 1e3:.2f} / {idle_full * 1e3:.2f}; "
            f"stroke growing {stroke_empty * 1e3:.2f} / {stroke_full * 1e3:.2f} ({tiles / 60:.1f} tiles); "
            f"live drag of a 200x200 rect {drag_empty * 1e3:.2f} / {drag_full * 1e3:.2f}; "
            f"painting the 100,000 once took {build:.1f} s"
        )
