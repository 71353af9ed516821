"""Joining a big board fast: snapshot frames (pgboard/protocol_snapshot.py), points kept packed
(pgboard/points.py) and the board cached on disk between runs (pgboard/boardcache.py,
pgboard/cache_join.py), with the real server and the real App under the dummy driver."""

from __future__ import annotations

import base64
import gc
import logging
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pygame
import pytest
from support import RawClient, running_server, wait_for_fds
from test_app import board_point, drag, key

from bench.client_bench import fill_store, make_objects
from pgboard import boardcache, protocol_snapshot
from pgboard.app import App
from pgboard.points import Points
from pgboard.protocol import BOARD_H, BOARD_W, Add, BoardObject, ProtocolError, decode_frame, encode
from pgboard.protocol_snapshot import MAX_SNAPSHOT_RAW, Snapshot

WAIT = 60.0  # a bound on a condition, never a pause (a big join on a shared machine)
SIZE = (1280, 800)
BIG = 2_000  # objects of the "big" board here (under tracemalloc); the benchmark joins 100,000


@pytest.fixture
def screen() -> Iterator[pygame.Surface]:
    pygame.init()
    yield pygame.display.set_mode(SIZE)
    pygame.quit()


def run_until(app: App, condition: Callable[[], object], timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"condition not met within {timeout} s (state {app.conn and app.conn.state})"
            )
        app.frame([])
        fd = app.conn.fileno() if app.conn is not None else -1
        wait_for_fds([fd] if fd >= 0 else [], [], 0.005)


def settled(app: App) -> bool:
    """Caught up, every event applied, the board surface painted."""
    room = app.room
    return room is not None and room.caught_up and not room.waiting and not app.canvas.painting


def big_board(tmp_path: Path, n: int = BIG) -> tuple[Path, list[BoardObject]]:
    """A server log holding a board of ``n`` objects (as bench/client_bench.py writes it)."""
    db = tmp_path / "board.sqlite3"
    fill_store(db, {"big": n})
    from pgboard_server.room import author_id

    from bench.client_bench import SECRET

    return db, make_objects(n, 1, author_id(SECRET))


def joins_seen(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "joined from" in r.getMessage()]


def test_a_late_join_of_a_big_board_shows_every_object_with_its_points_packed(screen, tmp_path):
    db, objects = big_board(tmp_path)
    with running_server(db) as server:
        app = App(screen, settings_path=tmp_path / "settings.json", save_settings=False, export_dir=tmp_path)
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            app.connect("127.0.0.1", server.address[1], "late", "big")
            run_until(app, lambda: settled(app))
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert list(app.board.objects.values()) == objects  # every object, in order, as drawn
        points = sum(len(o.points) for o in objects)
        # packed: 4 bytes a point, where a tuple of pairs takes 64 at least (a 2-tuple and its slot);
        # the rest is per object (ids, the index) and the in-process server's frames, traced too
        assert grown / points < 48, f"{grown / points:.1f} bytes a point"
        # and what the user sees: the board surface is what painting the objects anew paints
        fresh = App(screen, settings_path=tmp_path / "s2.json", save_settings=False, export_dir=tmp_path)
        fresh.board.load(objects, app.board.seq)
        assert pygame.image.tobytes(fresh.canvas.surface, "RGB") == pygame.image.tobytes(
            app.canvas.surface, "RGB"
        )
        app.shutdown()
        fresh.shutdown()


def test_a_restarted_client_asks_since_and_shows_its_cached_board(screen, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="pgboard_server")
    db, objects = big_board(tmp_path, 600)  # more than one frame paints (PAINT_BUDGET): the cache shows it
    settings = tmp_path / "settings.json"
    with running_server(db) as server:
        port = server.address[1]
        first = App(screen, settings_path=settings, export_dir=tmp_path)
        first.connect("127.0.0.1", port, "alice", "big")
        run_until(first, lambda: settled(first))
        seq = first.board.seq
        first.shutdown()  # the window closes: the board is written beside the settings
        cached = boardcache.read(
            boardcache.path_for(settings, "127.0.0.1", port, "big"), "127.0.0.1", port, "big"
        )
        assert cached is not None and cached.seq == seq and cached.objects == objects
        with RawClient(server.address) as bob:  # drawn while alice is away
            bob.join("bob", room="big")
            bob.catch_up()
            shape = BoardObject(bob.obj_id("late"), "rect", ((10, 10), (90, 60)))
            bob.send(Add("op-late", shape))
            bob.recv_until(Add)
        caplog.clear()
        again = App(screen, settings_path=settings, export_dir=tmp_path)
        again.connect("127.0.0.1", port, "alice", "big")
        run_until(again, lambda: settled(again))
        assert [line for line in joins_seen(caplog) if "alice" in line][-1].endswith(f"since={seq}")
        ids = [o.id for o in again.board.objects.values()]
        assert ids == [o.id for o in objects] + [shape.id]  # the cached board and what was missed
        assert again.board.seq == seq + 1
        # painted from the cache at once: only what was missed was painted here, and it shows
        assert again.canvas.stats["objects_painted"] <= 2
        fresh = App(screen, settings_path=tmp_path / "s2.json", save_settings=False, export_dir=tmp_path)
        fresh.board.load(again.board.snapshot(), again.board.seq)
        assert pygame.image.tobytes(fresh.canvas.surface, "RGB") == pygame.image.tobytes(
            again.canvas.surface, "RGB"
        )
        again.shutdown()
        fresh.shutdown()


def test_a_board_only_i_drew_on_is_cached_at_my_last_operation(screen, tmp_path, caplog):
    """A teacher alone at the board: every seq is an echo of their own. The board is at the last one
    (it was at 0, so nothing was cached, and a restart asked for the whole board again)."""
    caplog.set_level(logging.INFO, logger="pgboard_server")
    settings = tmp_path / "settings.json"
    with running_server(tmp_path / "b.db") as server:
        port = server.address[1]
        first = App(screen, settings_path=settings, export_dir=tmp_path)
        first.connect("127.0.0.1", port, "alice", "mine")
        run_until(first, lambda: settled(first))
        first.frame([key(pygame.K_r, unicode="r")])
        for i in range(2):
            first.frame(
                drag([board_point(first, 0.1 + 0.3 * i, 0.2), board_point(first, 0.3 + 0.3 * i, 0.5)])
            )
        run_until(first, lambda: not first.conn.pending_ops)
        assert first.board.seq == first.conn.last_seq == 2
        first.shutdown()
        cached = boardcache.read(
            boardcache.path_for(settings, "127.0.0.1", port, "mine"), "127.0.0.1", port, "mine"
        )
        assert cached is not None and cached.seq == 2 and len(cached.objects) == 2
        caplog.clear()
        again = App(screen, settings_path=settings, export_dir=tmp_path)
        again.connect("127.0.0.1", port, "alice", "mine")
        run_until(again, lambda: settled(again) and len(again.board) == 2)
        assert [line for line in joins_seen(caplog) if "alice" in line][-1].endswith("since=2")
        again.shutdown()


@pytest.mark.reliability
@pytest.mark.parametrize("damage", ["flipped byte", "another room's file", "truncated", "not a cache"])
def test_a_damaged_or_foreign_cache_file_is_ignored_and_the_board_still_arrives(
    screen, tmp_path, caplog, damage
):
    caplog.set_level(logging.INFO, logger="pgboard_server")
    db, objects = big_board(tmp_path, 200)
    settings = tmp_path / "settings.json"
    with running_server(db) as server:
        port = server.address[1]
        path = boardcache.path_for(settings, "127.0.0.1", port, "big")
        good = boardcache.encode("127.0.0.1", port, "big", 99, objects[:50])
        if damage == "flipped byte":
            data = good[:-10] + bytes([good[-10] ^ 0x40]) + good[-9:]
        elif damage == "another room's file":
            data = boardcache.encode("127.0.0.1", port, "elsewhere", 99, objects[:50])
        elif damage == "truncated":
            data = good[: len(good) // 2]
        else:
            data = b"\x00" * 1000
        assert boardcache.write(path, data)
        app = App(screen, settings_path=settings, export_dir=tmp_path)
        app.connect("127.0.0.1", port, "alice", "big")
        run_until(app, lambda: settled(app))
        assert joins_seen(caplog)[-1].endswith("since=None"), "the whole board was asked for"
        assert list(app.board.objects.values()) == objects
        app.shutdown()
        # and the file is the good board again now
        cached = boardcache.read(path, "127.0.0.1", port, "big")
        assert cached is not None and cached.objects == objects


# -- the snapshot frame, as a hostile server would send it


def snapshot_frame(blob: bytes, *, deflate: bool = True) -> bytes:
    data = zlib.compress(blob) if deflate else blob
    return b'{"t":"snapshot","objects":"' + base64.b64encode(data) + b'"}'


def refused(payload: bytes) -> str:
    with pytest.raises(ProtocolError) as caught:
        decode_frame(payload)
    assert caught.value.code == "bad_field" and not caught.value.fatal
    return caught.value.detail


PENCIL = BoardObject("s1", "pencil", ((0, 0), (5, 7), (BOARD_W, 9)), "#ff0000", 3, author="u1")
TEXT = BoardObject("t1", "text", ((10, 20),), text="héllo Ø 李雷", size=30)


def test_a_snapshot_round_trips_and_its_points_stay_packed() -> None:
    msg = decode_frame(encode(Snapshot((PENCIL, TEXT)))[:-2])
    assert isinstance(msg, Snapshot) and msg.objects == (PENCIL, TEXT)
    assert type(msg.objects[0].points) is Points and msg.objects[0].points == PENCIL.points
    assert hash(msg.objects[0]) == hash(PENCIL)  # equal to the tuple it stands for, hash included


@pytest.mark.reliability
def test_a_zip_bomb_is_refused_after_max_snapshot_raw_bytes() -> None:
    bomb = zlib.compress(b"\0" * (64 * MAX_SNAPSHOT_RAW), 9)  # 11 MiB inflated from ~12 KiB
    t0 = time.process_time()
    assert "MAX_SNAPSHOT_RAW" in refused(snapshot_frame(bomb, deflate=False))
    assert time.process_time() - t0 < 1.0  # bounded: only MAX_SNAPSHOT_RAW + 1 bytes were inflated


@pytest.mark.reliability
@pytest.mark.parametrize(
    "case",
    [
        "bad magic",
        "lengths",
        "off the board",
        "unknown kind",
        "bad id",
        "one-point line",
        "trailing",
        "not zlib",
    ],
)
def test_a_hostile_snapshot_blob_is_refused_with_a_typed_error(case: str) -> None:
    blob = protocol_snapshot.pack_blob([PENCIL, TEXT])
    head = protocol_snapshot._HEADER.size
    if case == "bad magic":
        frame = snapshot_frame(b"XXXX" + blob[4:])
    elif case == "lengths":
        frame = snapshot_frame(blob + b"\0\0")
    elif case == "off the board":
        big = BoardObject("s1", "pencil", ((0, 0), (1, 1)))
        raw = bytearray(protocol_snapshot.pack_blob([big]))
        raw[head + 9 : head + 11] = (BOARD_W + 1).to_bytes(2, "little")  # its first x
        frame = snapshot_frame(bytes(raw))
    elif case == "unknown kind":
        frame = snapshot_frame(blob[:head] + b"\x09" + blob[head + 1 :])
    elif case == "bad id":
        frame = snapshot_frame(blob.replace(b"s1\0", b"s/\0"))
    elif case == "one-point line":
        line = BoardObject("l1", "pencil", ((0, 0),))
        raw = bytearray(protocol_snapshot.pack_blob([line]))
        raw[head] = 1  # kind: line, which has exactly 2 points
        frame = snapshot_frame(bytes(raw))
    elif case == "trailing":
        frame = snapshot_frame(zlib.compress(blob) + b"more", deflate=False)
    else:
        frame = snapshot_frame(b"not zlib at all", deflate=False)
    refused(frame)


def test_packed_points_behave_as_the_tuple_they_stand_for() -> None:
    pts = ((1, 2), (3, 4), (5, 6))
    p = Points.of(pts)
    assert p == pts and pts == p and hash(p) == hash(pts) and len(p) == 3
    assert p[1] == (3, 4) and p[-1] == (5, 6) and p[1:] == pts[1:] and type(p[1:]) is Points
    assert p + ((7, 8),) == pts + ((7, 8),) and list(p) == list(pts)
    assert p.box() == (1, 2, 5, 6)
    with pytest.raises(IndexError):
        p[3]


def test_a_restart_shows_the_board_it_left_before_its_objects_are_read(screen, tmp_path):
    # the image kept with the board is checked and shown first; 20,000 objects take a few tenths of a
    # second more to decode in the reading thread, while the window already shows what they look like
    objects = make_objects(20_000)
    painted = pygame.Surface((BOARD_W, BOARD_H))
    painted.fill((200, 30, 30))  # a colour no empty board shows
    settings = tmp_path / "settings.json"
    with running_server() as server:
        port = server.address[1]
        path = boardcache.path_for(settings, "127.0.0.1", port, "r")
        data = boardcache.encode("127.0.0.1", port, "r", 7, objects, pygame.image.tobytes(painted, "RGB"))
        assert boardcache.write(path, data)
        app = App(screen, settings_path=settings, export_dir=tmp_path)
        app.connect("127.0.0.1", port, "alice", "r")
        cache = app.board_cache
        assert cache is not None and cache.loader is not None
        seen = []  # (objects on the board, the surface's colour) in the frame the image first showed
        run_until(app, lambda: cache.image_shown or cache.loader is None)
        seen.append((len(app.board), app.canvas.surface.get_at((BOARD_W // 2, BOARD_H // 2))[:3]))
        assert seen == [(0, (200, 30, 30))]  # the board left, shown before any object is installed
        run_until(app, lambda: cache.loader is None)  # then its objects, and the join
        assert len(app.board) == len(objects)
        app.shutdown()
