"""Geometry as the screen shows it: a box covers every pixel an object paints (so redrawing that box
erases it completely), hit distances match the shapes, and the spatial grid finds what brute force finds."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgboard import geometry
from pgboard.geometry import SpatialGrid, bbox, intersects, shape_box
from pgboard.protocol import MAX_WIDTH, BoardObject

SHAPES = ("pencil", "line", "rect", "oval", "circle", "square")
COORD = st.integers(40, 260)


@st.composite
def drawn_objects(draw: st.DrawFn) -> BoardObject:
    kind = draw(st.sampled_from(SHAPES))
    n = draw(st.integers(1, 6)) if kind == "pencil" else 2
    pts = tuple(draw(st.lists(st.tuples(COORD, COORD), min_size=n, max_size=n)))
    return BoardObject(id="o", kind=kind, points=pts, width=draw(st.integers(1, MAX_WIDTH)))


@pytest.fixture(scope="module")
def render():  # type: ignore[no-untyped-def]
    pygame = pytest.importorskip("pygame")
    render = pytest.importorskip("pgboard.render")
    pygame.font.init()
    return render


def painted_rects(render, obj: BoardObject):  # type: ignore[no-untyped-def]
    """Bounding rectangles of the pixels the client's renderer paints for ``obj``."""
    import pygame

    surf = pygame.Surface((700, 700))
    surf.fill((0, 0, 0))
    render.draw_object(surf, dataclasses.replace(obj, color="#ffffff"), render.TextCache())
    mask = pygame.mask.from_threshold(surf, (255, 255, 255), (1, 1, 1, 255))
    return mask.get_bounding_rects()


@given(drawn_objects())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_bbox_covers_every_painted_pixel(render, obj: BoardObject) -> None:  # type: ignore[no-untyped-def]
    x0, y0, x1, y1 = bbox(obj)
    for r in painted_rects(render, obj):
        assert x0 <= r.left and y0 <= r.top and r.right <= x1 and r.bottom <= y1, (r, bbox(obj))


@given(drawn_objects(), st.integers(0, 700), st.integers(0, 700))
@settings(max_examples=500)
def test_everything_within_stroke_reach_is_inside_the_bbox(obj: BoardObject, x: int, y: int) -> None:
    """What a hit test can touch with zero tolerance is inside the box the grid indexes."""
    if geometry.touches(obj, x, y, 0):
        x0, y0, x1, y1 = bbox(obj)
        assert x0 <= x < x1 and y0 <= y < y1


TEXTS = [
    "WWWWWWWW",
    "MMMM mmm",
    "hello world",
    "iiiii",
    "李雷李雷",
    "こんにちは",
    "안녕",
    "😀🎨",
    "Zoë",
    "a\nbbbbbbbbbbbbb",
    "@@@@",
    "two\nlines\nthree",
]
# scripts the estimate can only bound from above (the font may lack them and draw a box per character)
WIDE_GUESSES = [
    "Алиса",
    "ЖШЩЮЖШЩЮ",
    "ΩΨΦΩΨΦ",
    "ÆŒæœ",
    "½¾©®",
    "→←↑↓",
    "♥★☺",
    "…—–",
    "สวัสดีครับ",
    "नमस्ते दुनिया",
    "مرحبا بالعالم",
    "שלום עולם",
]


@pytest.mark.parametrize("text", TEXTS + WIDE_GUESSES)
@pytest.mark.parametrize("size", [8, 13, 24, 57, 200])
def test_text_box_covers_the_rendered_text(render, text: str, size: int) -> None:  # type: ignore[no-untyped-def]
    obj = BoardObject(id="t", kind="text", points=((10, 10),), text=text, size=size)
    px0, py0, px1, py1 = render.painted_box(obj, render.TextCache())
    x0, y0, x1, y1 = bbox(obj)
    assert x0 <= px0 and y0 <= py0 and px1 <= x1 and py1 <= y1
    if text in TEXTS:  # and not far beyond it: a click well right of short text must not hit it
        assert x1 - px1 <= max(8, 0.4 * (px1 - px0))


@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30), st.integers(8, 200)
)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_text_box_covers_any_ascii_text(render, text: str, size: int) -> None:  # type: ignore[no-untyped-def]
    obj = BoardObject(id="t", kind="text", points=((0, 0),), text=text, size=size)
    px0, py0, px1, py1 = render.painted_box(obj, render.TextCache())
    assert px1 <= bbox(obj)[2] and py1 <= bbox(obj)[3]


@pytest.mark.parametrize(
    ("a", "b", "box"),
    [
        ((100, 100), (130, 110), (100, 100, 130, 130)),  # side is the larger distance
        ((100, 100), (90, 140), (60, 100, 100, 140)),  # towards points[1]
        ((100, 100), (70, 80), (70, 70, 100, 100)),
        ((100, 100), (100, 100), (100, 100, 100, 100)),
    ],
)
@pytest.mark.parametrize("kind", ["square", "circle"])
def test_square_and_circle_take_the_larger_side_towards_the_second_point(
    kind: str, a: tuple[int, int], b: tuple[int, int], box: geometry.Box
) -> None:
    obj = BoardObject(id="s", kind=kind, points=(a, b))
    assert shape_box(obj) == box
    x0, y0, x1, y1 = shape_box(obj)
    assert x1 - x0 == y1 - y0


def test_rect_and_oval_keep_their_two_corners() -> None:
    for kind in ("rect", "oval"):
        obj = BoardObject(id="r", kind=kind, points=((130, 90), (100, 110)))
        assert shape_box(obj) == (100, 90, 130, 110)


@pytest.mark.parametrize(
    ("obj", "point", "expected"),
    [
        (BoardObject(id="l", kind="line", points=((0, 0), (100, 0))), (50, 7), 7.0),
        (BoardObject(id="l", kind="line", points=((0, 0), (100, 0))), (103, 4), 5.0),
        (BoardObject(id="p", kind="pencil", points=((5, 5),)), (8, 9), 5.0),
        (BoardObject(id="r", kind="rect", points=((0, 0), (100, 50))), (50, 20), 20.0),
        (BoardObject(id="r", kind="rect", points=((0, 0), (100, 50))), (50, 60), 10.0),
        (BoardObject(id="c", kind="circle", points=((0, 0), (100, 0))), (50, 50), 50.0),
        (BoardObject(id="c", kind="circle", points=((0, 0), (100, 0))), (50, 110), 10.0),
        (BoardObject(id="o", kind="oval", points=((0, 0), (100, 50))), (100, 25), 0.0),
    ],
)
def test_distance_to_what_is_painted(obj: BoardObject, point: tuple[int, int], expected: float) -> None:
    assert geometry.distance(obj, *point) == pytest.approx(expected, abs=1e-6)


# -- the spatial grid agrees with brute force

BOXES = st.tuples(
    st.integers(-300, 3500), st.integers(-300, 2100), st.integers(0, 700), st.integers(0, 700)
).map(lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3]))


@given(
    st.lists(st.tuples(st.sampled_from("abcdefghij"), BOXES), max_size=40),
    st.lists(st.sampled_from("abcdefghij"), max_size=5),
    st.lists(
        BOXES | st.tuples(st.integers(-5, 600), st.integers(-5, 600)).map(lambda t: (*t, *t)), max_size=10
    ),
    st.sampled_from([16, 37, 128]),
)
@settings(max_examples=400)
def test_grid_query_equals_brute_force(
    inserts: list[tuple[str, geometry.Box]], removals: list[str], queries: list[geometry.Box], cell: int
) -> None:
    grid = SpatialGrid(cell)
    truth: dict[str, geometry.Box] = {}
    for oid, box in inserts:
        grid.insert(oid, box)
        truth[oid] = box
    for oid in removals:
        grid.remove(oid)
        truth.pop(oid, None)
    for q in [*queries, (-(10**6), -(10**6), 10**6, 10**6)]:
        assert grid.query(q) == {o for o, b in truth.items() if intersects(b, q)}
    for oid, box in truth.items():
        assert grid.box(oid) == box


def test_zero_width_boxes_on_a_cell_border_are_found() -> None:
    grid = SpatialGrid(128)
    grid.insert("wide", (100, 100, 200, 200))
    assert grid.query((128, 150, 128, 150)) == {"wide"}
    grid.insert("line", (128, 0, 128, 300))  # a zero-width box meets what strictly contains its edge
    assert "line" in grid.query((120, 10, 140, 20))


def test_a_huge_query_costs_what_is_stored_not_its_area() -> None:
    grid = SpatialGrid(16)
    grid.insert("a", (5, 5, 10, 10))
    assert grid.query((-(10**9), -(10**9), 10**9, 10**9)) == {"a"}  # would be 10^16 cells


def test_union_and_points_box() -> None:
    assert geometry.union((0, 0, 5, 5), (3, -2, 4, 9)) == (0, -2, 5, 9)
    assert geometry.points_box([(3, 4), (1, 9)], pad=2) == (-1, 2, 6, 12)


@given(st.lists(BOXES, min_size=1, max_size=15), st.lists(BOXES, max_size=5), st.sampled_from([16, 128]))
@settings(max_examples=200, deadline=None)  # a property, not a timing: no deadline under load
def test_a_growing_box_is_indexed_like_a_fresh_one(
    growth: list[geometry.Box], probes: list[geometry.Box], cell: int
) -> None:
    grid, fresh = SpatialGrid(cell), SpatialGrid(cell)
    box = growth[0]
    for step in growth:
        box = geometry.union(box, step)
        grid.insert("s", box)
    fresh.insert("s", box)
    for q in [*probes, *growth]:
        assert grid.query(q) == fresh.query(q)
    grid.remove("s")
    assert grid.query((-(10**6), -(10**6), 10**6, 10**6)) == set()
    assert not grid._cells  # nothing left behind in any cell
