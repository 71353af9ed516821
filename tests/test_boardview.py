"""The view split out of the canvas (issue 12, 3): named view keys, the preview's phases, one index.

The view's pixels are held by tests/test_canvas.py and tests/test_preview.py (unchanged by the split);
these hold the shape: a view key says what its fields are, the preview of a late join goes through
its phases in order and the view ends rebuilt from the board surface, and the canvas paints from the
board's own index, which measures text as it is painted.
"""

from __future__ import annotations

import pygame
import pytest
from test_canvas import pixels
from test_preview import join

from pgboard import boardview
from pgboard.board import Board
from pgboard.boardview import Phase
from pgboard.canvas import Canvas, Viewport
from pgboard.protocol import BoardObject
from pgboard.render import TextCache


@pytest.fixture(scope="module")
def texts() -> TextCache:
    pygame.font.init()
    return TextCache()


def test_a_view_key_names_what_the_view_depends_on() -> None:
    vp = Viewport((10, 20, 800, 450))
    vp.zoom_at((400, 300), 2.0)
    key = vp.key
    assert (key.x, key.y, key.w, key.h) == (10, 20, 800, 450)
    assert (key.scale, key.ox, key.oy) == (vp.scale, vp.ox, vp.oy)
    vp.pan(-30, 0)
    assert vp.key.same_tiles(key), "a pan keeps the tiles: the cached view scrolls"
    assert key.panned(-30, 0) == vp.key
    vp.zoom_at((400, 300), 1.5)
    assert not vp.key.same_tiles(key), "a zoom rescales every tile"


def test_a_late_join_goes_through_the_preview_phases_and_ends_on_the_board_surface(
    texts: TextCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boardview, "PREVIEW_BUDGET", 3_000)  # a preview of several frames
    board, canvas = join(texts)  # 40,000 points: frames of painting, previewed first
    vp = Viewport((0, 0, 1600, 900))
    screen = pygame.Surface(vp.rect.size)
    phases = []
    for _ in range(500):
        canvas.draw(screen, vp)
        phase = canvas._phase.phase  # noqa: SLF001 - the state machine under test
        if not phases or phases[-1] != phase:
            phases.append(phase)
        if not canvas.painting:
            break
    assert phases[:2] == [Phase.PAINTING, Phase.COMPLETE], phases
    assert phases[-1] is Phase.NONE and canvas.view_complete
    fresh = Canvas(Board(text_box=texts.box), texts)  # the same board, without a preview
    fresh.board.load(board.snapshot(), board.seq)
    fresh.update(land_all=True)  # the whole board surface at once
    again = pygame.Surface(vp.rect.size)
    fresh.draw(again, vp)
    canvas.draw(screen, vp)
    assert pixels(screen) == pixels(again), "the view was not rebuilt from the complete board surface"


def test_the_canvas_paints_from_the_boards_index_which_measures_text_as_painted(texts: TextCache) -> None:
    board = Board()  # estimates text boxes until a canvas shows it
    word = BoardObject("t1", "text", ((100, 100),), "#000000", 3, "W" * 30, 60)
    board.place(word)
    canvas = Canvas(board, texts)
    assert board.grid.box("t1") == texts.box(word), "the board's index still holds the estimate"
    later = BoardObject("t2", "text", ((100, 400),), "#000000", 3, "iiii" * 10, 40)
    board.place(later)
    assert board.grid.box("t2") == texts.box(later)
    right_edge = texts.box(word)[2] - 2
    assert [o.id for o in board.hit(right_edge, 120)] == ["t1"], "a click on the painted text misses it"
    canvas.close()
