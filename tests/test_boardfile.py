"""Board files: what is saved comes back, damaged files get a clear error, opening makes fresh ids."""

from __future__ import annotations

import itertools

import pytest

from pgboard import boardfile
from pgboard.board import Board
from pgboard.protocol import Add, BoardObject

OBJECTS = [
    BoardObject(id="a", kind="pencil", points=((1, 2), (30, 40), (50, 9)), color="#2060e0", width=5),
    BoardObject(id="b", kind="circle", points=((100, 100), (140, 120)), color="#e03030"),
    BoardObject(id="c", kind="text", points=((10, 300),), text="中文 Ø 😀", size=32, author="x1"),
]


def test_saved_board_opens_with_every_object_intact(tmp_path):
    path = tmp_path / "lesson.pgboard"
    boardfile.save(path, OBJECTS)
    assert boardfile.load(path) == OBJECTS
    assert not (tmp_path / "lesson.pgboard.tmp").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"format": "other"}', "not a pgboard board file"),
        ('{"format": "pgboard-board", "version": 99, "objects": []}', "version 99"),
        ('{"format": "pgboard-board", "version": 1, "objects": [{"id": "a"}]}', "object 0 is damaged"),
        ('{"format": "pgboard-board", "version": 1}', "no object list"),
    ],
)
def test_damaged_files_say_what_is_wrong(text, message):
    with pytest.raises(boardfile.BoardFileError, match=message):
        boardfile.loads(text)


def test_opening_a_file_adds_copies_with_fresh_ids_as_the_openers_own():
    ids = (f"n{i}" for i in itertools.count())
    oids = (f"o{i}" for i in itertools.count())
    adds = boardfile.as_adds(OBJECTS, lambda: next(ids), lambda: next(oids))
    board = Board()
    for obj in OBJECTS:  # the room already holds the originals: the copies must not clash
        board.apply(Add(oid="x" + obj.id, obj=obj), "owner")
    for add in adds:
        board.apply(add, "opener")
    copies = [board.get(f"n{i}") for i in range(3)]
    assert [c.author for c in copies] == ["opener"] * 3
    assert [(c.kind, c.points, c.text) for c in copies] == [(o.kind, o.points, o.text) for o in OBJECTS]


def test_a_file_too_large_for_one_frame_goes_as_a_few_batches_each_of_which_can_be_sent() -> None:
    from itertools import count

    from pgboard.protocol import MAX_FRAME, encode

    big = [
        BoardObject(f"s{i}", "pencil", tuple((j % 3000, j % 1700) for j in range(2000))) for i in range(20)
    ]
    n = count()
    gone = [f"old-{i}" for i in range(5)]
    batches = boardfile.as_batches(big, gone, lambda: f"me:{next(n)}", lambda: f"op.{next(n)}")
    assert len(batches) > 1, "20 strokes of 2,000 points do not fit one frame"
    assert all(len(encode(b)) <= MAX_FRAME for b in batches)
    assert batches[0].removed == tuple(gone) and not any(b.removed for b in batches[1:])
    assert [o.points for b in batches for o in b.put] == [o.points for o in big]
    small = boardfile.as_batches(big[:1], gone, lambda: f"me:{next(n)}", lambda: f"op.{next(n)}")
    assert len(small) == 1
