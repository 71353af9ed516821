"""A room's board budget, its log on disk and its chat in the store (issue 10, attack 4), against a real
server process and a real SQLite file.

One connection adds packed 5,000-point strokes as fast as the default limits let it: the board stops at
its points budget (``board_full``), the database keeps the points packed, and the server's memory is
the budget's; a restart replays the same board into the same memory. Deleting, then compaction,
shrinks the log and the file; a client back with an old ``since`` gets the board.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import reliability
from pgboard_server.budget import POINT_BYTES
from support import WAIT, Closed, RawClient, ServerProcess, running_server

from pgboard import wire_fields
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_POINTS,
    TERMINATOR,
    Ack,
    Add,
    BoardObject,
    CatchUp,
    Chat,
    Clear,
    Codec,
    Delete,
    Error,
    Extend,
    Message,
    Obj,
    Ping,
    Pong,
    Redo,
    Say,
    Undo,
    decode_frame,
)

# The test's budget: 200 strokes of 5,000 points (the default, MAX_BOARD_POINTS, is 20 times more; the
# cost per point measured here is what docs/PROTOCOL.md scales up).
BUDGET_POINTS = 1_000_000
STROKES = 300  # 1.5 times the budget, 8 MiB of packed input: the default input burst, then its rate
MORE = 60  # strokes sent to the full board: 1.6 MiB of input at the default rate
FULL_SLACK_MIB = 8  # what a full board may still grow by (allocator noise), whatever is sent to it
# What the server may keep per point of a full board (docs/PROTOCOL.md "Limits"): ~72 bytes of Python
# objects (a shared-coordinate tuple and its slot), plus the allocator's slack; and a fixed allowance
# for the frames in flight, SQLite's page cache and the caches of encoded objects.
RSS_PER_POINT = 110
RSS_SLACK_MIB = 24
DISK_PER_POINT = 6  # a packed point is 16/3 bytes of base64; as JSON lists it was ~12
RESTART_FACTOR = 1.2  # the server's RSS after a restart from the file, over its RSS live


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def disk_mib(db: Path) -> float:
    return sum(os.path.getsize(p) for p in (db, Path(f"{db}-wal")) if p.exists()) / 2**20


def stroke_points(rng: random.Random, n: int = MAX_POINTS) -> list[tuple[int, int]]:
    return [(rng.randrange(BOARD_W + 1), rng.randrange(BOARD_H + 1)) for _ in range(n)]


def packed_add(oid: str, sid: str, points: list[tuple[int, int]]) -> bytes:
    body = {
        "t": "add",
        "oid": oid,
        "obj": {"id": sid, "kind": "pencil", "points": wire_fields.pack_points(points)},
    }
    return json.dumps(body, separators=(",", ":")).encode("ascii") + TERMINATOR


def answers(c: RawClient, oids: set[str]) -> dict[str, Message]:
    """Read until every oid in ``oids`` has its echo or its refusal; returns them by oid."""
    got: dict[str, Message] = {}
    while len(got) < len(oids):
        msg = c.recv(WAIT * 4)
        oid = getattr(msg, "oid", "")
        if oid in oids and isinstance(msg, (Add, Extend, Delete, Undo, Error)):
            if isinstance(msg, Error) and msg.code == "rate_limited" and oid:
                raise AssertionError(f"refused for its rate, not its cost: {msg}")
            got[oid] = msg
    return got


def board_of(address: tuple[str, int], since: int | None = None) -> tuple[str, dict[str, BoardObject]]:
    with RawClient(address) as c:
        c.join("checker", since=since, packed=True)
        head, frames, _ = c.catch_up(WAIT * 4)
        assert isinstance(head, CatchUp)
        return head.mode, {m.obj.id: m.obj for m in frames if isinstance(m, Obj)}


def sync(c: RawClient) -> None:
    """Two pings answered in turn: the server's reader has handled all sent before the first, and
    finished what it does after an input (a compaction) before it read the second."""
    for n in (7, 8):
        c.send(Ping(n))
        c.recv_until(lambda m, n=n: isinstance(m, Pong) and m.n == n, WAIT * 4)


@pytest.mark.reliability
def test_a_flood_of_packed_strokes_stops_at_the_board_budget_and_restarts_into_the_same_memory(
    tmp_path: Path,
) -> None:
    db = tmp_path / "board.sqlite3"
    rng = random.Random(4)
    frames = [packed_add(f"op{i}", f"s{i}", stroke_points(rng)) for i in range(STROKES + MORE)]
    args = ("--max-board-points", str(BUDGET_POINTS))
    server = ServerProcess(db, *args, log_path=tmp_path / "server.log")
    try:
        with RawClient(server.address) as c:
            c.join("flood", client="flood-secret", packed=True)
            c.catch_up()
            base_rss, base_disk = rss_mib(server.proc.pid), disk_mib(db)
            started = time.monotonic()
            sender = threading.Thread(target=lambda: [c.send_bytes(f) for f in frames[:STROKES]], daemon=True)
            sender.start()
            got = answers(c, {f"op{i}" for i in range(STROKES)})
            seconds = time.monotonic() - started
            sender.join(WAIT)
            live_rss = rss_mib(server.proc.pid)
            # the board is full: more of the same costs the server nothing more
            started = time.monotonic()
            sender = threading.Thread(target=lambda: [c.send_bytes(f) for f in frames[STROKES:]], daemon=True)
            sender.start()
            more = answers(c, {f"op{i}" for i in range(STROKES, STROKES + MORE)})
            more_seconds = time.monotonic() - started
            sender.join(WAIT)
            full_rss = rss_mib(server.proc.pid)
        accepted = [m for m in got.values() if isinstance(m, Add)]
        full = [m for m in got.values() if isinstance(m, Error) and m.code == "board_full"]
        assert len(accepted) + len(full) == STROKES, [m for m in got.values() if isinstance(m, Error)][:3]
        assert full, "the board never said it was full"
        assert len(accepted) == BUDGET_POINTS // MAX_POINTS  # the budget exactly, not a stroke more
        points = len(accepted) * MAX_POINTS
        grown = live_rss - base_rss
        assert grown < RSS_PER_POINT * points / 2**20 + RSS_SLACK_MIB, (grown, points)
        assert all(isinstance(m, Error) and m.code == "board_full" for m in more.values())
        assert full_rss - live_rss < FULL_SLACK_MIB, (live_rss, full_rss)
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        stopped_disk = disk_mib(db)  # checkpointed: the write-ahead log is gone
        assert stopped_disk - base_disk < DISK_PER_POINT * points / 2**20 + 1, stopped_disk
        before = {m.obj.id: m.obj for m in accepted}
        server = ServerProcess(db, *args, log_path=tmp_path / "server2.log")
        restart_rss = rss_mib(server.proc.pid)
        mode, after = board_of(server.address)
        assert mode == "board" and after == before  # the same objects, points and all
        assert restart_rss < RESTART_FACTOR * live_rss, (restart_rss, live_rss)
    finally:
        server.kill()
    reliability.record_abuse(
        reliability.Abuse(
            attack="one connection adds packed 5,000-point strokes at the default input rate"
            f" ({STROKES} strokes, 1.5x the board's points budget, then {MORE} more). Before this bound the"
            " same load grew the server 32 MiB/s without end, the DB 4.7 MiB/s (11.5 B a point, as JSON"
            " lists), and a restart took 1.68x the live memory",
            bound=f"MAX_BOARD_POINTS (here {BUDGET_POINTS:,}; default 4,000,000): board_full past it;"
            f" points stored packed; RSS <= {RSS_PER_POINT} B a point + {RSS_SLACK_MIB} MiB;"
            f" restart <= {RESTART_FACTOR}x",
            measured=f"{len(accepted)} accepted, {len(full)} board_full in {seconds:.1f} s:"
            f" server +{grown:.0f} MiB ({grown * 2**20 / points:.0f} B a point,"
            f" {grown / seconds:.1f} MiB/s until full; then"
            f" {(full_rss - live_rss) / more_seconds:+.1f} MiB/s over {MORE} more); DB {stopped_disk:.1f} MiB"
            f" ({(stopped_disk - base_disk) * 2**20 / points:.1f} B a point,"
            f" {(stopped_disk - base_disk) / seconds:.1f} MiB/s until full); RSS live {live_rss:.0f} MiB,"
            f" after restart {restart_rss:.0f} MiB ({restart_rss / live_rss:.2f}x)",
        )
    )


@pytest.mark.reliability
def test_deletes_then_compaction_shrink_the_log_and_an_old_since_gets_the_board(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    rng = random.Random(5)
    n, kept = 120, 10
    server = ServerProcess(db, log_path=tmp_path / "server.log")
    try:
        with RawClient(server.address) as c:
            c.join("artist", client="artist-secret", packed=True)
            c.catch_up()
            adds = [packed_add(f"a{i}", f"s{i}", stroke_points(rng)) for i in range(n)]
            sender = threading.Thread(target=lambda: [c.send_bytes(f) for f in adds], daemon=True)
            sender.start()  # and read meanwhile: the echoes (as lists) are twice what is sent
            got = answers(c, {f"a{i}" for i in range(n)})
            sender.join(WAIT)
            assert all(isinstance(m, Add) for m in got.values())
            old_since = got[f"a{kept - 1}"].seq  # a client that saw the first strokes, then left
            c.send_bytes(b"".join(Codec.send(Delete(f"d{i}", f"s{i}")) for i in range(kept, n)))
            got = answers(c, {f"d{i}" for i in range(kept, n)})
            assert all(isinstance(m, Delete) for m in got.values())
            sync(c)  # the reader compacted (if it was due) before it answered
            rows, floor = log_rows(db)
            assert floor >= max(m.seq for m in got.values()), "no compaction"
            # undo still works for what is in the log's tail: the last delete comes back
            c.send(Undo("u1"))
            undo = c.recv_until(lambda m: isinstance(m, Undo) and m.oid == "u1")
            assert isinstance(undo, Undo) and [o.id for o in undo.put] == [f"s{n - 1}"]
        mode, board = board_of(server.address, since=old_since)
        assert mode == "board" and sorted(board) == sorted([f"s{i}" for i in range(kept)] + [f"s{n - 1}"])
        recent_mode, _ = board_of(server.address, since=floor)
        assert recent_mode == "ops"  # a since the log still reaches gets operations
        live_rss = rss_mib(server.proc.pid)
        server.signal(signal.SIGTERM)
        assert server.wait() == 0
        stopped = disk_mib(db)
        server = ServerProcess(db, log_path=tmp_path / "server2.log")
        restart_rss = rss_mib(server.proc.pid)
        mode, again = board_of(server.address)
        assert again == board
        assert restart_rss < RESTART_FACTOR * live_rss
    finally:
        server.kill()
    full_log_mib = n * MAX_POINTS * 16 / 3 / 2**20
    assert rows == 0, rows  # the log starts after the snapshot
    assert stopped < full_log_mib / 2, (stopped, full_log_mib)
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"add {n} 5,000-point strokes, delete {n - kept}: the log of what is gone",
            bound="COMPACT_FACTOR (2) x the board's bytes (at least COMPACT_MIN_BYTES): then a snapshot,"
            " the log before it deleted, the pages given back (incremental vacuum)",
            measured=f"log rows after compaction {rows} (floor seq {floor}); DB {stopped:.1f} MiB stopped"
            f" (the {n} strokes' log alone: {full_log_mib:.1f} MiB); a since of {old_since} gets the board"
            f" ({len(board)} objects); RSS live {live_rss:.0f} MiB, after restart {restart_rss:.0f} MiB",
        )
    )


def log_rows(db: Path) -> tuple[int, int]:
    """(rows in the ops table, the snapshot's floor) read from the file as the server left it."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT COUNT(*) FROM ops").fetchone()[0]
        try:
            floor = con.execute("SELECT COALESCE(MAX(floor), 0) FROM snapshots").fetchone()[0]
        except sqlite3.OperationalError:  # a store from before compaction
            floor = 0
        return int(rows), int(floor)
    finally:
        con.close()


@pytest.mark.reliability
def test_room_chat_kept_in_the_store_is_bounded(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    lines = 20
    with running_server(db, chat_history=3, chat_kept=5) as server, RawClient(server.address) as c:
        c.join("talker")
        c.catch_up()
        for i in range(lines):
            c.send(Say(f"line {i} " + "W" * 1000))
        c.recv_until(lambda m: getattr(m, "text", "").startswith(f"line {lines - 1} "))
        kept = server.store.chat_count(server.rooms.all()[0].name)
        history = [m.text.split()[1] for m in board_chat(server.address)]
    assert kept == 5, kept
    assert history == [str(i) for i in range(lines - 3, lines)]  # the latest are still replayed
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"{lines} room chat lines of 1,000 characters (a room's chat kept forever in the store)",
            bound="CHAT_KEPT (200; here 5): a room keeps its latest lines in the store, older are deleted",
            measured=f"{kept} lines kept of {lines} sent; the latest 3 still replayed to a joiner",
        )
    )


def board_chat(address: tuple[str, int]) -> list[Chat]:
    with RawClient(address) as c:
        c.join("reader")
        c.catch_up()
        out = []
        try:
            while True:
                m = c.recv(0.5)
                if isinstance(m, Chat) and m.history:
                    out.append(m)
        except (TimeoutError, Closed):
            pass
        return out


def test_undo_and_extend_past_the_points_budget_get_board_full() -> None:
    with running_server(max_board_points=100) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        c.send(Add("o1", BoardObject("s1", "pencil", tuple((i, i) for i in range(60)))))
        c.send(Extend("o2", "s1", tuple((i, 1) for i in range(50))))
        got = answers(c, {"o1", "o2"})
        assert isinstance(got["o1"], Add)
        assert isinstance(got["o2"], Error) and got["o2"].code == "board_full"
        c.send(Delete("o3", "s1"))
        answers(c, {"o3"})
        with RawClient(server.address) as b:
            b.join("b", client="b-secret")
            b.catch_up()
            b.send(Add("o4", BoardObject("s2", "pencil", tuple((i, 2) for i in range(60)))))
            assert isinstance(answers(b, {"o4"})["o4"], Add)
        c.send(Undo("o5"))  # would put s1 back: 120 points
        refused = answers(c, {"o5"})["o5"]
        assert isinstance(refused, Error) and refused.code == "board_full"
        room = server.rooms.all()[0]
        assert room.meter.points == 60 and set(room.board.objects) == {"s2"}
        assert room.board.can_undo(c.welcome.user if c.welcome else "")  # the step waits for room


def test_text_past_the_bytes_budget_gets_board_full() -> None:
    with running_server(max_board_bytes=5000) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        for i in range(3):
            c.send(Add(f"o{i}", BoardObject(f"t{i}", "text", ((10, 10),), text="é" * 1000)))
        got = answers(c, {"o0", "o1", "o2"})
        assert [type(got[f"o{i}"]).__name__ for i in range(3)] == ["Add", "Add", "Error"]
        assert isinstance(got["o2"], Error) and got["o2"].code == "board_full"
        assert server.rooms.all()[0].meter.bytes == 2 * (128 + POINT_BYTES + 2000)


def test_an_ops_catch_up_gives_points_as_lists_unless_the_joiner_asked_packed(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    with running_server(db) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        c.send(Add("o1", BoardObject("s1", "pencil", ((300, 400), (1000, 1200)))))
        c.send(Extend("o2", "s1", ((2000, 1500),)))
        answers(c, {"o1", "o2"})
        stored = [r[0] for r in sqlite3.connect(db).execute("SELECT echo FROM ops ORDER BY seq")]
        assert all('"points":"' in r for r in stored)  # packed in the log
        for packed in (False, True):
            with RawClient(server.address) as j:
                j.join("b", since=0, packed=packed)
                j.recv_until(CatchUp)
                raw = [j.recv_frame() for _ in range(2)]
                assert all((b'"points":"' in f) == packed for f in raw), raw


def test_a_resend_after_a_restart_behind_a_snapshot_is_acknowledged_not_applied_twice(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    knobs = {"compact_min_bytes": 300, "compact_factor": 1.0}  # compact once the log passes 300 bytes
    more = tuple((30 + i, 30) for i in range(30))
    with running_server(db, **knobs) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        c.send(Add("o1", BoardObject("s1", "pencil", ((10, 10), (20, 20)))))
        sync(c)  # one input each: the log (its add, ~140 bytes) is still small
        c.send(Extend("o2", "s1", more))
        sync(c)  # now it is not
        assert log_rows(db)[1] == 2  # compacted: the log starts after seq 2
    with running_server(db, **knobs) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret", since=1)  # as if the echo of o2 never arrived
        _, frames, _ = c.catch_up()
        c.send(Extend("o2", "s1", more))  # its resend
        reply = c.recv_until(lambda m: getattr(m, "oid", "") == "o2")
        board = server.rooms.all()[0].board
        assert reply == Ack("o2", 2) and board.objects["s1"].points == ((10, 10), (20, 20), *more)


def test_a_compaction_never_deletes_what_an_unfinished_ops_catch_up_still_sends(tmp_path: Path) -> None:
    db = tmp_path / "board.sqlite3"
    never = 2**40  # no compaction but the test's own
    with running_server(db, compact_min_bytes=never) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        adds = (Add(f"o{i}", BoardObject(f"s{i}", "line", ((i, 1), (i, 9)))) for i in range(5))
        c.send_bytes(b"".join(Codec.send(add) for add in adds))
        answers(c, {f"o{i}" for i in range(5)})
        room = server.rooms.all()[0]
        with room.lock:
            frames = room.catch_up(since=2)  # a joiner whose writer has not sent its catch-up yet
        c.send(Delete("d0", "s0"))
        answers(c, {"d0"})
        room.compaction.compact()  # at seq 6, but the rows after seq 2 are pinned
        assert log_rows(db) == (4, 2)
        sent = [decode_frame(frame[: -len(TERMINATOR)]) for frame in frames]
        assert [getattr(m, "oid", "") for m in sent] == ["", "o2", "o3", "o4", ""]  # catchup ... caught_up
        del frames, sent
        room.compaction.compact()  # unpinned: now they go
        assert log_rows(db) == (0, 6)


@pytest.mark.reliability
def test_undo_redo_of_a_big_clear_over_and_over_keeps_the_log_bounded(tmp_path: Path) -> None:
    """Beyond attack 4: each undo of a clear logs every object it puts back (up to MAX_FRAME an
    operation, from a few bytes of input); the log of a board that never grows still stays bounded."""
    db = tmp_path / "board.sqlite3"
    n, toggles, batch = 500, 100, 20
    knobs = {
        "op_rate": 0,  # the operation rate only slows this down
        "address_op_rate": 0,
        "compact_min_bytes": 64 * 1024,  # a small board's log is compacted sooner (default 1 MiB)
    }
    with running_server(db, **knobs) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret")
        c.catch_up()
        adds = (Add(f"o{i}", BoardObject(f"s{i}", "line", ((i, 1), (i + 50, 900)))) for i in range(n))
        c.send_bytes(b"".join(Codec.send(add) for add in adds))
        c.send(Clear("clear"))
        c.recv_until(lambda m: isinstance(m, Clear))
        room = server.rooms.all()[0]
        logged = 0
        for k in range(0, toggles, batch):
            ops = [Undo(f"u{i}") if i % 2 == 0 else Redo(f"u{i}") for i in range(k, k + batch)]
            c.send_bytes(b"".join(Codec.send(op) for op in ops))
            last = f'"oid":"u{k + batch - 1}"'.encode()
            while True:  # raw frames: decoding 500 objects each is slow
                frame = c.recv_frame(WAIT * 4)
                logged += len(frame)  # what a log without compaction keeps (as lists; packed is ~as big)
                if last in frame:
                    break
        sync(c)
        log_bytes, board_bytes = server.store.log_bytes(room.name), room.meter.bytes
        rows, floor = log_rows(db)
    budget = room.budget
    bound = budget.compact_factor * max(board_bytes, budget.compact_min_bytes)
    assert logged > 4 * bound  # what the log would hold without compaction
    assert log_bytes <= bound, (log_bytes, bound)
    assert floor > 0 and rows < toggles
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"undo and redo a clear of {n} objects {toggles} times (each echo lists every object)",
            bound="COMPACT_FACTOR (2) x the board's bytes, at least COMPACT_MIN_BYTES (here 64 KiB)",
            measured=f"{logged / 2**20:.1f} MiB of echoes; the log after its snapshot"
            f" {log_bytes / 2**10:.0f} KiB (bound {bound / 2**20:.1f} MiB), {rows} rows on disk",
        )
    )


def test_a_compaction_on_a_full_disk_is_not_retried_on_every_input(tmp_path: Path, caplog) -> None:
    db = tmp_path / "board.sqlite3"
    rng = random.Random(6)
    knobs = {"compact_min_bytes": 64 * 1024, "op_rate": 0, "address_op_rate": 0}
    with running_server(db, **knobs) as server, RawClient(server.address) as c:
        c.join("a", client="a-secret", packed=True)
        c.catch_up()
        c.send_bytes(b"".join(packed_add(f"a{i}", f"s{i}", stroke_points(rng)) for i in range(20)))
        answers(c, {f"a{i}" for i in range(20)})
        db_conn = server.store._db  # a disk with 40 KiB left: small operations fit, a snapshot does not
        pages = db_conn.execute("PRAGMA page_count").fetchone()[0]
        db_conn.execute(f"PRAGMA max_page_count = {pages + 10}")
        with caplog.at_level("ERROR", logger="pgboard_server.compaction"):
            for i in range(15):  # the board shrinks: its log outgrows it, a compaction is due
                c.send(Delete(f"d{i}", f"s{i}"))
                assert isinstance(answers(c, {f"d{i}"})[f"d{i}"], Delete)
                sync(c)
        failures = [r for r in caplog.records if "could not compact" in r.getMessage()]
        assert len(failures) == 1, len(failures)  # tried once, then only after COMPACT_MIN_BYTES more log
        assert log_rows(db) == (35, 0)  # and the log is whole
