"""The board model as the server and the clients use it: the authority's rules (who may edit what,
limits, duplicates), undo/redo per author, and replicas that replay the echoes ending identical to the
authority, also after joining from a compacted snapshot."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pgboard import board as board_module
from pgboard import board_authority, geometry
from pgboard import history as history_module
from pgboard.board import MAX_HISTORY, Board, BoardError, DuplicateOperation, Operation
from pgboard.clearing import MAX_CLEAR_ID_BYTES
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_FRAME,
    MAX_POINTS,
    TERMINATOR,
    Add,
    BoardObject,
    Clear,
    Delete,
    Extend,
    Move,
    Redo,
    Undo,
    decode_frame,
    encode,
)

_oids = itertools.count(1)


def oid() -> str:
    return f"op{next(_oids)}"


def pencil(id: str, *points: tuple[int, int], width: int = 3) -> BoardObject:
    return BoardObject(id=id, kind="pencil", points=points or ((10, 10), (20, 20)), width=width)


def shape(id: str, kind: str, a: tuple[int, int], b: tuple[int, int], width: int = 3) -> BoardObject:
    return BoardObject(id=id, kind=kind, points=(a, b), width=width)


def text(id: str, at: tuple[int, int], s: str = "hello", size: int = 20) -> BoardObject:
    return BoardObject(id=id, kind="text", points=(at,), text=s, size=size)


def add(obj: BoardObject) -> Add:
    return Add(oid=oid(), obj=obj)


def move(id: str, dx: int, dy: int, live: bool = False) -> Move:
    return Move(oid=oid(), id=id, dx=dx, dy=dy, live=live)


def delete(id: str) -> Delete:
    return Delete(oid=oid(), id=id)


def extend(id: str, *points: tuple[int, int]) -> Extend:
    return Extend(oid=oid(), id=id, points=points)


def undo() -> Undo:
    return Undo(oid=oid())


def redo() -> Redo:
    return Redo(oid=oid())


def clear() -> Clear:
    return Clear(oid=oid())


def state(board: Board) -> list[BoardObject]:
    """What a user sees: every object, in drawing order."""
    return board.snapshot()


def ids(board: Board) -> list[str]:
    return [o.id for o in board.snapshot()]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, BoardObject | None, BoardObject | None]] = []

    def object_changed(self, old: BoardObject | None, new: BoardObject | None, old_box: object) -> None:
        self.events.append(("changed", old, new))

    def board_reset(self) -> None:
        self.events.append(("reset", None, None))


class Room:
    """An authority and a replica fed every echo through the wire format, as a client would be."""

    def __init__(self) -> None:
        self.server = Board()
        self.replica = Board()
        self.echoes: list[Operation] = []

    def do(self, author: str, op: Operation) -> Operation:
        echo = self.server.apply(op, author)
        wire = decode_frame(encode(echo)[:-2])
        assert wire == echo  # every echo can be sent as it is
        self.replica.apply_echo(wire)
        self.echoes.append(echo)
        return echo

    def assert_in_sync(self) -> None:
        assert state(self.replica) == state(self.server)
        assert self.replica.seq == self.server.seq


# -- each operation, applied by the authority and echoed


def test_add_stamps_the_author_and_a_sequence_number() -> None:
    room = Room()
    echo = room.do("alice", add(dataclasses.replace(pencil("s1"), author="mallory")))
    assert isinstance(echo, Add)
    assert echo.seq == 1 and echo.author == "alice" and echo.obj.author == "alice"
    assert room.server.get("s1") == echo.obj
    room.assert_in_sync()


def test_every_operation_round_trips_to_a_replica() -> None:
    room = Room()
    room.do("a", add(pencil("s1", (10, 10))))
    room.do("a", extend("s1", (11, 12), (13, 14)))
    room.do("a", add(shape("r1", "rect", (100, 100), (200, 150))))
    room.do("a", move("r1", 5, -5))
    room.do("a", add(text("t1", (300, 300), "李雷 Zoë 😀")))
    room.do("a", delete("t1"))
    room.do("a", clear())
    room.do("a", undo())
    room.do("a", redo())
    room.do("a", undo())
    room.assert_in_sync()
    assert room.server.get("s1") is not None
    assert room.server.get("s1").points == ((10, 10), (11, 12), (13, 14))  # type: ignore[union-attr]
    assert room.server.get("r1").points == ((105, 95), (205, 145))  # type: ignore[union-attr]
    assert [e.seq for e in room.echoes] == list(range(1, 11))


@pytest.mark.parametrize(
    "op",
    [lambda: move("s1", 1, 1), lambda: delete("s1"), lambda: extend("s1", (1, 1))],
    ids=["move", "delete", "extend"],
)
def test_others_objects_are_not_allowed(op) -> None:  # type: ignore[no-untyped-def]
    board = Board()
    board.apply(add(pencil("s1")), "alice")
    before = state(board)
    with pytest.raises(BoardError) as info:
        board.apply(op(), "bob")
    assert info.value.code == "not_allowed"
    assert state(board) == before and board.seq == 1


@pytest.mark.parametrize(
    "op", [lambda: move("nope", 1, 1), lambda: delete("nope"), lambda: extend("nope", (1, 1))]
)
def test_missing_objects_are_no_such_object(op) -> None:  # type: ignore[no-untyped-def]
    board = Board()
    with pytest.raises(BoardError) as info:
        board.apply(op(), "alice")
    assert info.value.code == "no_such_object"
    assert board.seq == 0


def test_a_repeated_operation_id_is_a_duplicate_with_the_original_seq() -> None:
    board = Board()
    first = add(pencil("s1"))
    board.apply(add(pencil("s0")), "alice")
    assert board.apply(first, "alice").seq == 2
    board.apply(add(pencil("s2")), "alice")
    with pytest.raises(DuplicateOperation) as info:
        board.apply(dataclasses.replace(first, obj=pencil("s9")), "alice")
    assert info.value.seq == 2
    assert board.get("s9") is None and board.seq == 3
    assert board.apply(dataclasses.replace(first, obj=pencil("s9")), "bob").seq == 4  # oids are per author


def test_an_object_id_on_the_board_is_not_added_again_and_a_deleted_one_is_not_remembered() -> None:
    """Ids are scoped to their device (pgboard/ids.py, checked by the server), so only its own client
    could bring a deleted id back: the board keeps nothing per id ever used (tests/test_ids.py)."""
    board = Board()
    board.apply(add(pencil("s1")), "alice")
    with pytest.raises(BoardError, match="duplicate_id"):
        board.apply(add(pencil("s1")), "bob")
    board.apply(delete("s1"), "alice")
    board.apply(add(pencil("s1")), "alice")
    assert board.get("s1") is not None


def test_extend_up_to_max_points_and_not_beyond() -> None:
    board = Board()
    board.apply(add(pencil("s1", *[(1, 1)] * 10)), "alice")
    board.apply(extend("s1", *[(2, 2)] * (MAX_POINTS - 11)), "alice")
    board.apply(extend("s1", (3, 3)), "alice")
    assert len(board.get("s1").points) == MAX_POINTS  # type: ignore[union-attr]
    with pytest.raises(BoardError, match="too_many_points"):
        board.apply(extend("s1", (4, 4)), "alice")
    assert len(board.get("s1").points) == MAX_POINTS  # type: ignore[union-attr]


def test_only_pencil_strokes_are_extended() -> None:
    board = Board()
    board.apply(add(shape("l1", "line", (0, 0), (5, 5))), "alice")
    with pytest.raises(BoardError, match="not_allowed"):
        board.apply(extend("l1", (9, 9)), "alice")


@pytest.mark.parametrize(("dx", "dy"), [(-11, 0), (0, -11), (BOARD_W - 19, 0), (0, BOARD_H - 19)])
def test_a_move_off_the_board_is_refused(dx: int, dy: int) -> None:
    board = Board()
    board.apply(add(shape("r1", "rect", (10, 10), (20, 20))), "alice")
    with pytest.raises(BoardError, match="bad_coordinates"):
        board.apply(move("r1", dx, dy), "alice")
    assert board.get("r1").points == ((10, 10), (20, 20))  # type: ignore[union-attr]
    board.apply(move("r1", -10, BOARD_H - 20), "alice")  # exactly to the edges is fine
    assert board.get("r1").points == ((0, BOARD_H - 10), (10, BOARD_H))  # type: ignore[union-attr]


def test_clear_removes_only_own_objects_and_undo_restores_them_in_order() -> None:
    room = Room()
    for i in range(3):
        room.do("alice", add(pencil(f"a{i}")))
        room.do("bob", add(pencil(f"b{i}")))
    echo = room.do("alice", clear())
    assert isinstance(echo, Clear) and echo.removed == ("a0", "a1", "a2")
    assert ids(room.server) == ["b0", "b1", "b2"]
    room.do("alice", undo())
    assert sorted(ids(room.server)) == ["a0", "a1", "a2", "b0", "b1", "b2"]
    assert [i for i in ids(room.server) if i[0] == "a"] == ["a0", "a1", "a2"]
    room.assert_in_sync()


def test_undo_and_redo_are_per_author() -> None:
    room = Room()
    room.do("alice", add(pencil("a1")))
    room.do("bob", add(pencil("b1")))
    room.do("alice", add(pencil("a2")))
    room.do("bob", move("b1", 5, 5))
    room.do("alice", undo())
    assert ids(room.server) == ["a1", "b1"]
    assert room.server.get("b1").points[0] == (15, 15)  # type: ignore[union-attr]
    room.do("alice", undo())
    room.do("alice", undo())  # nothing left for alice: a no-op, bob untouched
    assert ids(room.server) == ["b1"]
    room.do("bob", undo())
    assert room.server.get("b1").points[0] == (10, 10)  # type: ignore[union-attr]
    room.do("alice", redo())
    assert ids(room.server) == ["b1", "a1"]
    room.do("bob", redo())
    assert room.server.get("b1").points[0] == (15, 15)  # type: ignore[union-attr]
    room.assert_in_sync()


def test_nothing_to_undo_says_target_zero_and_changes_nothing() -> None:
    room = Room()
    room.do("bob", add(pencil("b1")))
    for op in (undo(), redo()):
        echo = room.do("alice", op)
        assert echo.target == 0 and echo.removed == () and echo.put == ()  # type: ignore[union-attr]
    assert ids(room.server) == ["b1"]


def test_a_drag_of_many_live_moves_is_one_undo_step() -> None:
    room = Room()
    room.do("alice", add(shape("r1", "rect", (100, 100), (120, 120))))
    room.do("alice", move("r1", 1, 0))  # an earlier, separate move
    for _ in range(20):
        room.do("alice", move("r1", 2, 1, live=True))
    room.do("alice", move("r1", 1, 1))  # the drop ends the drag
    assert room.server.get("r1").points[0] == (142, 121)  # type: ignore[union-attr]
    room.do("alice", undo())
    assert room.server.get("r1").points[0] == (101, 100)  # type: ignore[union-attr]
    room.do("alice", undo())
    assert room.server.get("r1").points[0] == (100, 100)  # type: ignore[union-attr]
    room.do("alice", redo())
    room.do("alice", redo())
    assert room.server.get("r1").points[0] == (142, 121)  # type: ignore[union-attr]
    room.assert_in_sync()


def test_a_new_operation_clears_redo() -> None:
    room = Room()
    room.do("alice", add(pencil("a1")))
    room.do("alice", undo())
    assert room.server.can_redo("alice")
    room.do("alice", add(pencil("a2")))
    assert not room.server.can_redo("alice")
    echo = room.do("alice", redo())
    assert echo.target == 0  # type: ignore[union-attr]
    assert ids(room.server) == ["a2"]


def test_undo_history_is_bounded() -> None:
    board = Board()
    for i in range(MAX_HISTORY + 5):
        board.apply(add(pencil(f"s{i}")), "alice")
    for _ in range(MAX_HISTORY + 5):
        board.apply(undo(), "alice")
    assert len(board) == 5  # the oldest five are beyond the history and stay


def test_undo_of_a_clear_too_large_for_one_frame_is_refused_before_it_changes_anything() -> None:
    room = Room()
    big = [(x % BOARD_W, (x * 7) % BOARD_H) for x in range(MAX_POINTS)]
    for i in range(6):  # six strokes of 5000 points: about 360 KB together, more than MAX_FRAME
        room.do("alice", add(pencil(f"s{i}", *big)))
    room.do("alice", clear())
    seq = room.server.seq
    with pytest.raises(BoardError, match="too_large"):
        room.do("alice", undo())
    assert room.server.seq == seq and len(room.server) == 0
    room.assert_in_sync()


# -- replicas: replay and compaction


def test_a_replica_joining_from_a_snapshot_follows_later_echoes_including_old_undos() -> None:
    server = Board()
    script: list[tuple[str, Operation]] = [
        ("alice", add(pencil("a1"))),
        ("bob", add(shape("b1", "oval", (50, 50), (90, 70)))),
        ("alice", add(text("a2", (400, 400), "こんにちは"))),
        ("alice", move("a1", 10, 10)),
        ("bob", delete("b1")),
        ("alice", delete("a2")),
    ]
    for author, op in script:
        server.apply(op, author)
    late = Board()
    late.load(server.snapshot(), server.seq)
    assert state(late) == state(server)
    later: list[tuple[str, Operation]] = [
        ("alice", undo()),  # the delete of a2, before the snapshot
        ("bob", undo()),  # the delete of b1
        ("alice", undo()),  # the move of a1
        ("alice", redo()),
        ("bob", add(pencil("b2"))),
        ("alice", undo()),
        ("alice", undo()),  # the add of a2: a2 goes again
        ("bob", clear()),
        ("bob", undo()),
    ]
    for author, op in later:
        late.apply_echo(server.apply(op, author))
        assert state(late) == state(server)
    assert late.seq == server.seq


def test_load_replaces_everything_and_tells_listeners_once() -> None:
    board = Board()
    board.apply(add(pencil("old")), "alice")
    rec = Recorder()
    board.listeners.append(rec)
    board.load([pencil("n1"), pencil("n2")], seq=40)
    assert ids(board) == ["n1", "n2"] and board.seq == 40
    assert rec.events == [("reset", None, None)]
    assert not board.can_undo("alice")
    assert board.hit(15, 15) == [board.get("n2"), board.get("n1")]


def test_listeners_see_old_and_new() -> None:
    board = Board()
    rec = Recorder()
    board.listeners.append(rec)
    e1 = board.apply(add(pencil("s1")), "alice")
    assert isinstance(e1, Add)
    board.apply(move("s1", 1, 1), "alice")
    moved = board.get("s1")
    board.apply(delete("s1"), "alice")
    board.apply(undo(), "alice")
    assert rec.events == [
        ("changed", None, e1.obj),
        ("changed", e1.obj, moved),
        ("changed", moved, None),
        ("changed", None, moved),
    ]


def test_apply_echo_refuses_what_is_not_an_operation() -> None:
    with pytest.raises(TypeError):
        Board().apply_echo(encode)  # type: ignore[arg-type]


# -- hit tests


@pytest.mark.parametrize(
    ("obj", "on", "off"),
    [
        (pencil("p", (100, 100), (200, 100), (200, 200)), (150, 101), (150, 150)),
        (shape("l", "line", (100, 100), (200, 200)), (150, 151), (150, 180)),
        (shape("r", "rect", (100, 100), (200, 150)), (100, 125), (150, 125)),
        (shape("s", "square", (100, 100), (150, 200)), (200, 150), (150, 150)),
        (shape("o", "oval", (100, 100), (200, 150)), (150, 100), (150, 125)),
        (shape("c", "circle", (100, 100), (200, 110)), (150, 200), (150, 150)),
        (text("t", (100, 100), "hello"), (110, 110), (100, 200)),
    ],
    ids=lambda v: v.kind if isinstance(v, BoardObject) else "",
)
def test_hit_each_kind(obj: BoardObject, on: tuple[int, int], off: tuple[int, int]) -> None:
    board = Board()
    board.apply(add(obj), "alice")
    assert [o.id for o in board.hit(*on)] == [obj.id]
    assert board.hit(*off) == []


def test_hit_returns_topmost_first_and_objects_in_bottom_first() -> None:
    board = Board()
    for i in range(3):
        board.apply(add(shape(f"l{i}", "line", (0, 50), (100, 50))), "alice")
    assert [o.id for o in board.hit(50, 50)] == ["l2", "l1", "l0"]
    assert [o.id for o in board.objects_in((0, 0, 10, 100))] == ["l0", "l1", "l2"]


def test_hit_on_wide_text() -> None:
    board = Board()
    board.apply(add(text("t", (100, 100), "李雷李雷李雷", size=40)), "alice")
    assert [o.id for o in board.hit(100 + 5 * 40 + 20, 120)] == ["t"]  # the sixth character


# -- random sequences by three authors


AUTHORS = ("alice", "bob", "carol")


class ReplayMachine(RuleBasedStateMachine):
    """Random operations by three authors: a replica replaying the echoes always equals the
    authority, sequence numbers are contiguous, and a late joiner from a snapshot keeps up too."""

    def __init__(self) -> None:
        super().__init__()
        self.room = Room()
        self.late: Board | None = None
        self.next_id = 0
        self.refused = 0
        self.authors_of: dict[str, str] = {}

    def _do(self, author: str, op: Operation) -> None:
        seq = self.room.server.seq
        try:
            echo = self.room.do(author, op)
        except BoardError:
            self.refused += 1
            assert self.room.server.seq == seq
            return
        assert echo.seq == seq + 1
        if isinstance(echo, (Clear, Undo, Redo)):  # an effect never touches another author's objects
            assert all(o.author == author for o in echo.put)
            assert all(i in self.authors_of and self.authors_of[i] == author for i in echo.removed)
        if self.late is not None:
            self.late.apply_echo(echo)
        for obj in self.room.server.snapshot():
            self.authors_of[obj.id] = obj.author

    def _pick(self, data: st.DataObject) -> str:
        existing = ids(self.room.server)
        return data.draw(st.sampled_from(existing)) if existing else "missing"

    @rule(
        author=st.sampled_from(AUTHORS),
        kind=st.sampled_from(["pencil", "line", "rect", "circle", "text"]),
        x=st.integers(0, BOARD_W - 100),
        y=st.integers(0, BOARD_H - 100),
    )
    def add(self, author: str, kind: str, x: int, y: int) -> None:
        self.next_id += 1
        oid_ = f"x{self.next_id}"
        obj = text(oid_, (x, y), "t") if kind == "text" else shape(oid_, kind, (x, y), (x + 30, y + 20))
        if kind == "pencil":
            obj = pencil(oid_, (x, y))
        self._do(author, add(obj))

    @rule(author=st.sampled_from(AUTHORS), data=st.data())
    def extend(self, author: str, data: st.DataObject) -> None:
        self._do(author, extend(self._pick(data), (5, 5), (6, 7)))

    @rule(
        author=st.sampled_from(AUTHORS),
        data=st.data(),
        dx=st.integers(-60, 60),
        dy=st.integers(-60, 60),
        live=st.booleans(),
    )
    def move(self, author: str, data: st.DataObject, dx: int, dy: int, live: bool) -> None:
        self._do(author, move(self._pick(data), dx, dy, live))

    @rule(author=st.sampled_from(AUTHORS), data=st.data())
    def delete(self, author: str, data: st.DataObject) -> None:
        self._do(author, delete(self._pick(data)))

    @rule(author=st.sampled_from(AUTHORS))
    def clear(self, author: str) -> None:
        self._do(author, clear())

    @rule(author=st.sampled_from(AUTHORS))
    def undo(self, author: str) -> None:
        self._do(author, undo())

    @rule(author=st.sampled_from(AUTHORS))
    def redo(self, author: str) -> None:
        self._do(author, redo())

    @rule(author=st.sampled_from(AUTHORS))
    def undo_then_redo(self, author: str) -> None:
        """Undo and redo straight after it leave every object as it was (drawing order aside)."""
        before = {o.id: o for o in self.room.server.snapshot()}
        if not self.room.server.can_undo(author):
            return
        self._do(author, undo())
        self._do(author, redo())
        assert {o.id: o for o in self.room.server.snapshot()} == before

    @precondition(lambda self: self.late is None)
    @rule()
    def late_join(self) -> None:
        self.late = Board()
        self.late.load(self.room.server.snapshot(), self.room.server.seq)

    @invariant()
    def replicas_equal_the_authority(self) -> None:
        self.room.assert_in_sync()
        if self.late is not None:
            assert state(self.late) == state(self.room.server)
        assert [e.seq for e in self.room.echoes] == list(range(1, len(self.room.echoes) + 1))

    @invariant()
    def a_fresh_replay_of_every_echo_equals_the_authority(self) -> None:
        fresh = Board()
        for echo in self.room.echoes:
            fresh.apply_echo(echo)
        assert state(fresh) == state(self.room.server)
        server = self.room.server
        for author in (*AUTHORS, None):  # the same history too: restart memory equals live memory
            assert fresh.history_bytes(author) == server.history_bytes(author)
            assert self.room.replica.history_bytes(author) == server.history_bytes(author)

    @invariant()
    def the_grid_indexes_every_object_by_its_box(self) -> None:
        for board in (self.room.server, self.room.replica):
            for obj in board.snapshot():
                assert board.grid.box(obj.id) == geometry.bbox(obj)

    @invariant()
    def the_index_by_author_lists_each_authors_objects_in_drawing_order(self) -> None:
        for board in (self.room.server, self.room.replica):
            for author in AUTHORS:
                assert board.ids_of(author) == tuple(o.id for o in board.snapshot() if o.author == author)
                assert board.editable_by(author) == list(board.ids_of(author))

    @invariant()
    def authorship_rules_hold(self) -> None:
        for obj in self.room.server.snapshot():
            assert obj.author in AUTHORS


TestReplay = ReplayMachine.TestCase
TestReplay.settings = settings(
    max_examples=150, stateful_step_count=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["pencil", "line", "rect", "oval", "circle", "square", "text"]),
            st.integers(0, 400),
            st.integers(0, 400),
            st.integers(-80, 80),
            st.integers(-80, 80),
            st.integers(1, 64),
        ),
        max_size=12,
    ),
    st.integers(-20, 500),
    st.integers(-20, 500),
    st.sampled_from([0, 1.5, 4, 10]),
)
@settings(max_examples=300, deadline=None)
def test_hit_equals_brute_force(
    shapes: list[tuple[str, int, int, int, int, int]], x: int, y: int, tolerance: float
) -> None:
    board = Board()
    for i, (kind, x0, y0, dx, dy, width) in enumerate(shapes):
        a, b = (x0, y0), (max(0, x0 + dx), max(0, y0 + dy))
        if kind == "text":
            obj = BoardObject(id=f"o{i}", kind="text", points=(a,), text="Wi李", size=width + 8, width=width)
        else:
            obj = BoardObject(id=f"o{i}", kind=kind, points=(a, b), width=width)
        board.apply(add(obj), "alice")
    expected = [o for o in reversed(board.snapshot()) if geometry.touches(o, x, y, tolerance)]
    assert board.hit(x, y, tolerance) == expected


def test_extending_a_long_stroke_costs_the_new_points_not_the_whole_stroke(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A stroke of MAX_POINTS drawn two points at a time: the points looked at for its box stay
    linear in its length (the server holds the room's lock while it applies each extend)."""
    looked_at = 0
    real_bbox = geometry.bbox

    def counting_bbox(obj: BoardObject) -> geometry.Box:
        nonlocal looked_at
        looked_at += len(obj.points)
        return real_bbox(obj)

    monkeypatch.setattr(geometry, "bbox", counting_bbox)
    board = Board()
    board.apply(add(pencil("s", (0, 0))), "alice")
    for i in range((MAX_POINTS - 1) // 2):
        board.apply(extend("s", (i % BOARD_W, (7 * i) % BOARD_H), (3 * i % BOARD_W, 5)), "alice")
    stroke = board.get("s")
    assert stroke is not None and len(stroke.points) >= MAX_POINTS - 1
    assert looked_at < 4 * MAX_POINTS
    assert board.grid.box("s") == real_bbox(stroke)
    assert [o.id for o in board.hit(*stroke.points[-1])] == ["s"]


def test_a_clear_with_nothing_to_clear_does_not_cost_an_undo() -> None:
    room = Room()
    room.do("alice", add(pencil("a1")))
    room.do("bob", add(pencil("b1")))
    room.do("alice", delete("a1"))
    room.do("alice", clear())  # nothing of alice's is left: an empty clear
    room.do("alice", undo())
    assert ids(room.server) == ["b1", "a1"]  # the undo brought back the delete, not the empty clear
    room.assert_in_sync()


def test_operation_ids_are_remembered_up_to_a_bound_per_author(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(board_module, "MAX_REMEMBERED_OPS", 10)
    board = Board()
    first, bobs = add(pencil("s0")), add(pencil("b0"))
    board.apply(first, "alice")
    board.apply(bobs, "bob")
    for i in range(1, 11):
        board.apply(add(pencil(f"s{i}")), "alice")
    assert board.seen("alice", first.oid) is None  # the oldest of alice's is forgotten
    assert board.seen("bob", bobs.oid) == 2  # bob's are his own to forget
    recent = add(pencil("s11"))
    board.apply(recent, "alice")
    with pytest.raises(DuplicateOperation) as info:
        board.apply(recent, "alice")  # a recent resend is still recognised
    assert info.value.seq == 13


def test_only_the_authors_who_drew_last_are_remembered(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(board_module, "MAX_REMEMBERED_AUTHORS", 3)
    board = Board()
    firsts = {}
    for name in ("alice", "bob", "carol"):
        firsts[name] = add(pencil(f"{name}0"))
        board.apply(firsts[name], name)
    board.apply(add(pencil("alice1")), "alice")  # alice drew last: bob is now the least recent
    board.apply(add(pencil("mallory0")), "mallory")  # a fourth author: bob's ids are forgotten
    assert board.seen("bob", firsts["bob"].oid) is None
    assert board.seen("alice", firsts["alice"].oid) == 1 and board.seen("carol", firsts["carol"].oid) == 3
    for i in range(50):  # a crowd of made-up authors keeps the memory at three authors' worth
        board.apply(add(pencil(f"crowd{i}")), f"author{i}")
    assert len(board._oid_order) == 3 and len(board._oids) == 3


def test_the_ids_remembered_cover_what_the_client_keeps_in_flight() -> None:
    from pgboard_server.limits import MAX_ROOM_MEMBERS

    from pgboard.net import MAX_IN_FLIGHT

    assert board_module.MAX_REMEMBERED_OPS >= 10 * MAX_IN_FLIGHT
    assert board_module.MAX_REMEMBERED_AUTHORS >= 2 * MAX_ROOM_MEMBERS


def test_a_client_can_give_the_board_its_measured_text_boxes() -> None:
    """Hit tests then match what the screen shows, not the font-less estimate."""
    measured = {"t": (100, 100, 700, 140)}  # say the font draws this text 600 wide
    board = Board(text_box=lambda obj: measured[obj.id])
    board.apply(add(text("t", (100, 100), "hello", size=30)), "alice")
    assert board.grid.box("t") == measured["t"]
    assert [o.id for o in board.hit(690, 120)] == ["t"]  # far beyond the estimate, inside the measure
    assert board.hit(710, 120, tolerance=4) == []
    estimating = Board()
    estimating.apply(add(text("t", (100, 100), "hello", size=30)), "alice")
    assert estimating.hit(690, 120) == []


# -- the history's bounds (issue 10, attack 3) and the index by author (attack 9)


def far_stroke(id: str, n: int = MAX_POINTS) -> BoardObject:
    """A stroke whose coordinates are all above 256 (each a new int when decoded from JSON)."""
    return pencil(id, *((300 + (i * 7) % 2600, 300 + (i * 13) % 1200) for i in range(n)))


def test_a_move_step_keeps_the_shift_not_a_copy_and_undo_redo_shift_the_object() -> None:
    room = Room()
    room.do("alice", add(far_stroke("s")))
    start = room.server.get("s")
    assert start is not None
    offsets = [(0, 0)]
    for i in range(MAX_HISTORY - 1):
        d = (3, 1) if i % 2 == 0 else (-2, -1)
        room.do("alice", move("s", *d))
        offsets.append((offsets[-1][0] + d[0], offsets[-1][1] + d[1]))
    for board in (room.server, room.replica):
        steps = MAX_HISTORY * history_module.STEP_BYTES
        assert board.history_bytes("alice") == history_module.AUTHOR_BYTES + steps  # no point kept
    for back in (2, 3, 4):
        room.do("alice", undo())
        dx, dy = offsets[-back]
        assert room.server.get("s").points[0] == (start.points[0][0] + dx, start.points[0][1] + dy)  # type: ignore[union-attr]
    room.do("alice", redo())
    dx, dy = offsets[-3]
    assert room.server.get("s").points[0] == (start.points[0][0] + dx, start.points[0][1] + dy)  # type: ignore[union-attr]
    room.assert_in_sync()
    moved = room.server.get("s")
    assert moved is not None and moved.points[0][0] is board_module.shared_ints(BOARD_W)[moved.points[0][0]]


def test_undo_of_a_move_shifts_the_object_as_it_is_now_and_stays_on_the_board() -> None:
    """Someone allowed to edit it moved the object towards the edge since: the undo stops at the
    edge (a point off the board could not be sent), and the redo goes back exactly."""
    server, replica = Board(may_edit=lambda user, obj: True), Board(may_edit=lambda user, obj: True)

    def do(author: str, op: Operation) -> None:
        replica.apply_echo(decode_frame(encode(server.apply(op, author))[:-2]))

    do("alice", add(shape("r", "rect", (200, 100), (300, 200))))
    do("alice", move("r", 100, 0))  # (300, 100)-(400, 200)
    do("bob", move("r", -250, 0))  # (50, 100)-(150, 200)
    do("alice", undo())  # back by 100 would leave the board: back by 50
    assert server.get("r").points == ((0, 100), (100, 200))  # type: ignore[union-attr]
    do("alice", redo())
    assert server.get("r").points == ((50, 100), (150, 200))  # type: ignore[union-attr]
    assert state(replica) == state(server)


def test_an_authors_history_is_bounded_in_bytes_oldest_steps_first(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    room = Room()
    per_stroke = history_module.kept_bytes(far_stroke("x", 1000))
    budget = history_module.AUTHOR_BYTES + 3 * (per_stroke + history_module.STEP_BYTES)
    monkeypatch.setattr(history_module, "MAX_HISTORY_BYTES", budget)
    for i in range(6):
        room.do("alice", add(far_stroke(f"s{i}", 1000)))
    for i in range(6):
        room.do("alice", delete(f"s{i}"))
    for board in (room.server, room.replica):
        assert board.history_bytes("alice") <= history_module.MAX_HISTORY_BYTES
    for _ in range(6):
        room.do("alice", undo())
    assert ids(room.server) == ["s5", "s4", "s3"]  # the three latest deletes came back, no more
    room.assert_in_sync()


def test_a_crowd_of_authors_cannot_grow_the_boards_history(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    room = Room()
    per_author = history_module.kept_bytes(far_stroke("x", 1000)) + 2 * history_module.STEP_BYTES
    per_author += history_module.AUTHOR_BYTES
    monkeypatch.setattr(history_module, "MAX_BOARD_HISTORY_BYTES", 5 * per_author)
    room.do("alice", add(far_stroke("a", 1000)))
    room.do("alice", delete("a"))
    for i in range(40):  # made-up authors, each with a stroke kept in history
        room.do(f"crowd{i}", add(far_stroke(f"c{i}", 1000)))
        room.do(f"crowd{i}", delete(f"c{i}"))
        if i == 20:
            room.do("alice", undo())  # alice drew lately: the least recent of the crowd go first
            room.do("alice", redo())
    for board in (room.server, room.replica):
        assert board.history_bytes() <= history_module.MAX_BOARD_HISTORY_BYTES
        assert sum(board.history_bytes(f"crowd{i}") > 0 for i in range(40)) <= 5
    assert room.server.can_undo("crowd39") and not room.server.can_undo("crowd0")
    assert not room.server.can_undo("alice")  # she drew less recently than the last five
    room.assert_in_sync()


def test_a_replay_of_the_echoes_keeps_the_same_bounded_history(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Restart memory equals live memory: a board rebuilt from the log has the same history."""
    monkeypatch.setattr(history_module, "MAX_HISTORY_BYTES", 40_000)
    monkeypatch.setattr(history_module, "MAX_BOARD_HISTORY_BYTES", 100_000)
    room = Room()
    for i in range(30):
        who = f"u{i % 7}"
        room.do(who, add(far_stroke(f"s{i}", 40)))
        room.do(who, move(f"s{i}", 1, 1))
        if i % 3 == 0:
            room.do(who, delete(f"s{i}"))
        if i % 4 == 0:
            room.do(who, undo())
        if i % 5 == 0:
            room.do(who, clear())
    fresh = Board()
    for echo in room.echoes:
        fresh.apply_echo(decode_frame(encode(echo)[:-2]))
    for author in [f"u{i}" for i in range(7)] + [None]:
        assert (
            fresh.history_bytes(author)
            == room.server.history_bytes(author)
            == room.replica.history_bytes(author)
        )
    for i in range(7):  # and the next undo of each author does the same on both
        op = undo()
        assert fresh.apply(op, f"u{i}") == room.server.apply(op, f"u{i}")


def test_an_empty_clear_looks_at_no_object_and_a_clear_only_at_what_it_removes() -> None:
    asked = 0
    operators, granted = {"op"}, {"guest": {"owner"}}

    def may_edit(user: str, obj: BoardObject) -> bool:
        nonlocal asked
        asked += 1
        return obj.author == user or user in operators or obj.author in granted.get(user, ())

    def scope(user: str) -> set[str] | None:
        return None if user in operators else {user, *granted.get(user, ())}

    board = Board(may_edit=may_edit, edit_scope=scope)
    for i in range(30_000):
        board.place(dataclasses.replace(pencil(f"o{i}"), author=f"a{i % 10}"))
    board.apply(add(pencil("own1")), "owner")
    board.apply(add(pencil("g1")), "guest")
    board.apply(add(pencil("own2")), "owner")
    asked = 0
    assert board.apply(clear(), "nobody").removed == ()  # type: ignore[union-attr]
    assert board.apply(clear(), "guest").removed == ("own1", "g1", "own2")  # type: ignore[union-attr]
    assert asked == 0
    assert board.editable_by("op") == [o.id for o in board.snapshot()]
    assert board.ids_of("a3") == tuple(f"o{i}" for i in range(3, 30_000, 10))


def test_a_clear_whose_ids_cannot_fit_one_frame_removes_what_fits_bottom_first_reading_only_those() -> None:
    """5,000 objects of 60-character ids: their ids alone are over MAX_FRAME. A clear used to be
    refused too_large, so such a board could never be cleared; now it removes the bottom ones whose
    ids fit one echo (pgboard/clearing.py), reading the index no further than one id past them, and
    the next clear removes the rest. Its echo fits a frame."""
    board = Board()
    long_ids = [f"{i:060d}" for i in range(5000)]
    for oid in long_ids:
        board.apply(add(pencil(oid)), "guest")
    board.apply(add(pencil("other")), "bob")
    read = 0

    class Counted(dict):  # type: ignore[type-arg]
        def __iter__(self):  # type: ignore[no-untyped-def]
            nonlocal read
            for oid in super().__iter__():
                read += 1
                yield oid

    board._by_author["guest"] = Counted(board._by_author["guest"])
    first = board.apply(clear(), "guest")
    fits = MAX_CLEAR_ID_BYTES // (60 + 3)
    assert isinstance(first, Clear) and first.removed == tuple(long_ids[:fits])
    assert read == fits + 1 and len(encode(first)) <= MAX_FRAME + len(TERMINATOR)
    second = board.apply(clear(), "guest")
    assert isinstance(second, Clear) and second.removed == tuple(long_ids[fits:])
    assert [o.id for o in board.snapshot()] == ["other"]
    assert board.apply(clear(), "bob").removed == ("other",)  # type: ignore[union-attr]


def test_an_undo_refused_as_too_large_is_refused_at_once_the_next_time(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    room = Room()
    big = [(x % BOARD_W, (x * 7) % BOARD_H) for x in range(MAX_POINTS)]
    for i in range(6):  # about 360 KB of points together, more than MAX_FRAME
        room.do("alice", add(pencil(f"s{i}", *big)))
    room.do("alice", clear())
    with pytest.raises(BoardError, match="too_large"):
        room.do("alice", undo())
    encoded = 0
    real = board_authority.encode

    def counting(msg, **kw):  # type: ignore[no-untyped-def]
        nonlocal encoded
        encoded += 1
        return real(msg, **kw)

    monkeypatch.setattr(board_authority, "encode", counting)
    for _ in range(3):
        with pytest.raises(BoardError, match="too_large"):
            room.server.apply(undo(), "alice")
    assert encoded == 0 and len(room.server) == 0
