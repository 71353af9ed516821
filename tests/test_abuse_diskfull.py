"""Issue 10, attack 10: a full disk. Every write the store refuses is answered store_failed (operations
and chat alike); the board takes back what it applied in O(chunk) (pgboard/board_journal.py), never by
replaying its log under the room's lock; the server's log says once what is full.

The full disk is SQLite's own: ``PRAGMA max_page_count`` on the server's connection to the real file,
which makes every write that needs a new page fail with SQLITE_FULL, as a full file system does."""

from __future__ import annotations

import logging
import sqlite3
import statistics
import threading
import time
from collections.abc import Iterator

import pytest
import reliability
from pgboard_server.limits import NO_RATE_LIMITS
from pgboard_server.server import BoardServer
from support import RawClient, running_server

from pgboard.board import Board
from pgboard.protocol import (
    Add,
    BoardObject,
    Chat,
    Codec,
    Cursor,
    Delete,
    Error,
    Message,
    Move,
    Say,
    Undo,
    decode_frame,
)

ROOM = "full"
LOG_OPS = 8000  # the log: each refused operation replayed all of it (290-570 ms)
SEGMENT = 200  # operations per TCP segment while the log is built
REFUSED = 100  # operations refused on the full disk, one input chunk each
SAMPLES = 60  # bystander cursor round trips per phase
MAX_RATIO = 4.0  # the bystander's median latency under the attack over the quiet one, at most


def rect(oid: str, i: int) -> BoardObject:
    x, y = 10 + (i * 37) % 3000, 10 + (i * 53) % 1700
    return BoardObject(oid, "rect", ((x, y), (x + 20, y + 15)))


def answer_to(c: RawClient, oid: str) -> Message:
    """The echo of ``oid``, or the error refusing it."""
    return c.recv_until(lambda m: getattr(m, "oid", None) == oid, timeout=30)


def build_log(c: RawClient) -> None:
    for start in range(0, LOG_OPS, SEGMENT):
        ops = [Add(f"b{i}", rect(c.obj_id(f"big-{i}"), i)) for i in range(start, start + SEGMENT)]
        c.send_bytes(b"".join(Codec.send(op) for op in ops))
        answer_to(c, ops[-1].oid)


def fill_the_pages(c: RawClient) -> int:
    """Users go on drawing and chatting until the pages the tables have are full too: the smallest
    echo (a move) and a chat line as long as the attack's are refused. Returns what was kept."""
    kept = 0
    for i in range(2000):
        c.send(Say(f"filling the last pages {i:06d}"))
        if isinstance(c.recv_until((Error, Chat)), Error):
            break
        kept += 1
    for i in range(2000):
        oid = f"f{i}"  # short: every operation of the attack is longer
        c.send(Move(oid, c.obj_id("evil-0"), 1 if i % 2 == 0 else -1, 0))
        if isinstance(answer_to(c, oid), Error):
            return kept
        kept += 1
    raise AssertionError("the store never filled up")


def fill_the_disk(server: BoardServer) -> int:
    """Make the database full: a table of filler rows up to a page limit of what the file has now."""
    store = server.store
    assert store is not None
    with store._lock:
        db = store._db
        db.execute("CREATE TABLE filler (b BLOB)")
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
        filled = 0
        for size in (4096, 512, 64, 8):  # every free page, then the room left in the last ones
            while True:
                try:
                    db.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))
                    filled += size
                except sqlite3.OperationalError:
                    break
        return filled


def free_the_disk(server: BoardServer) -> None:
    store = server.store
    assert store is not None
    with store._lock:
        store._db.execute("PRAGMA max_page_count = 1073741823")


def count_reads(server: BoardServer) -> list[int]:
    """Rows the server reads from its log from now on (every replay goes through Store.ops)."""
    store = server.store
    assert store is not None
    real = store.ops
    rows = [0]

    def counted(*a: object, **kw: object) -> Iterator[str]:
        for echo in real(*a, **kw):  # type: ignore[arg-type]
            rows[0] += 1
            yield echo

    store.ops = counted  # type: ignore[method-assign]
    return rows


def cursor_latency(by: RawClient, watch: RawClient, n: int) -> float:
    """One bystander's cursor seen by another, through the room's lock: seconds, one round."""
    x, y = 1 + n % 3000, 1 + n % 1700
    started = time.perf_counter()
    by.send(Cursor(x, y))
    watch.recv_until(lambda m: isinstance(m, Cursor) and (m.x, m.y) == (x, y))
    return time.perf_counter() - started


class Attacker(threading.Thread):
    """Sends operations one at a time (each its own input chunk) and waits for each answer."""

    def __init__(self, client: RawClient, ops: list[Message]) -> None:
        super().__init__(name="attacker", daemon=True)
        self.client, self.ops = client, ops
        self.answers: list[Message] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for op in self.ops:
                self.client.send(op)
                self.answers.append(answer_to(self.client, op.oid))  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.failure = exc


def bystander_median(by: RawClient, watch: RawClient, attacker: Attacker, base: int) -> float:
    samples = []
    attacker.start()
    while attacker.is_alive() or len(samples) < SAMPLES:
        samples.append(cursor_latency(by, watch, base + len(samples)))
        if len(samples) >= 10 * SAMPLES:
            break
    attacker.join(30)
    assert attacker.failure is None, attacker.failure
    return statistics.median(samples)


def replayed(server: BoardServer) -> Board:
    store = server.store
    assert store is not None
    board = Board()
    for echo in store.ops(ROOM, chunk=100_000):
        board.apply_echo(decode_frame(echo.encode("ascii")))
    return board


@pytest.mark.reliability
def test_a_full_disk_refuses_in_o_chunk_says_store_failed_and_logs_once(tmp_path, caplog) -> None:
    limits = {**NO_RATE_LIMITS, "cursor_rate": 0.0}
    with (
        running_server(tmp_path / "full.sqlite3", **limits) as server,
        RawClient(server.address, timeout=30) as builder,
        RawClient(server.address) as evil,
        RawClient(server.address) as by,
        RawClient(server.address) as watch,
    ):
        for c, nick in ((builder, "builder"), (evil, "evil"), (by, "by"), (watch, "watch")):
            c.join(nick, room=ROOM, client=f"{nick}-secret")
            c.catch_up(timeout=30)
        build_log(builder)
        adds = [Add(f"e{i}", rect(evil.obj_id(f"evil-{i}"), i)) for i in range(REFUSED)]
        quiet = Attacker(evil, adds)  # the same pace with a healthy store: the quiet figure
        quiet_median = bystander_median(by, watch, quiet, 0)
        assert all(isinstance(m, Add) for m in quiet.answers)

        caplog.set_level(logging.DEBUG, logger="pgboard_server")
        caplog.clear()
        filled = fill_the_disk(server)
        kept = fill_the_pages(evil)
        seq_before = server.rooms.get(ROOM).board.seq
        snapshot_before = server.rooms.get(ROOM).board.snapshot()
        rows = count_reads(server)
        kinds = [  # long operation ids: each echo is longer than the last move the store refused
            lambda i: Add(f"attack-add-{i:012d}", rect(evil.obj_id(f"evil-x{i}"), i)),
            lambda i: Delete(f"attack-delete-{i:012d}", evil.obj_id(f"evil-{i % 4}")),
            lambda i: Move(f"attack-move-{i:012d}", evil.obj_id(f"evil-{i % 4}"), 3, 2),
            lambda i: Undo(f"attack-undo-{i:012d}"),
        ]
        attack = Attacker(evil, [kinds[i % 4](i) for i in range(REFUSED)])
        attack_median = bystander_median(by, watch, attack, 10_000)
        evil.send(Say("one line on a full disk, longer"))
        said = evil.recv_until((Error, Chat))

        reads = rows[0]
        refused = [m for m in attack.answers if isinstance(m, Error) and m.code == "store_failed"]
        room = server.rooms.get(ROOM)
        assert len(refused) == REFUSED, [m for m in attack.answers if m not in refused][:5]
        assert reads == 0  # no refusal read the log: each cost its own chunk
        assert isinstance(said, Error) and said.code == "store_failed"
        assert room.board.seq == seq_before and room.board.snapshot() == snapshot_before
        full_logs = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(full_logs) == 1 and not any(r.exc_info for r in caplog.records), full_logs
        assert "SQLITE_FULL" in full_logs[0].getMessage() and "full.sqlite3" in full_logs[0].getMessage()
        ratio = attack_median / quiet_median
        assert ratio <= MAX_RATIO, (quiet_median, attack_median)

        free_the_disk(server)
        again = Attacker(evil, [kinds[i](i) for i in range(4)])  # the same operations, now kept
        again.run()
        assert attack.failure is None and all(not isinstance(m, Error) for m in again.answers), again.answers
        assert [m.seq for m in again.answers] == list(range(seq_before + 1, seq_before + 5))  # type: ignore[attr-defined]
        truth = replayed(server)
        assert room.board.snapshot() == truth.snapshot() and room.board.seq == truth.seq
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"a full disk (SQLite max_page_count, {filled:,} bytes of filler, then {kept} more lines "
            "and moves until the last pages were full) under a room log of "
            f"{LOG_OPS:,} operations: {REFUSED} refused operations (add, delete, move, undo; one input "
            "chunk each) and a chat line",
            bound="a failed commit takes its chunk back in memory (Board.begin/rollback, O(chunk)); "
            "store_failed for operations and chat; the store's fullness logged once (StoreHealth)",
            measured=f"{reads} log rows read for {REFUSED} refusals (each replayed all {LOG_OPS:,} "
            f"before: 290-570 ms each under the room's lock); a bystander's cursor median "
            f"{attack_median * 1000:.2f} ms vs {quiet_median * 1000:.2f} ms quiet (x{ratio:.2f}); the "
            f"chat line got store_failed (was server_error and a traceback); {len(full_logs)} error line "
            "in the server's log; the board equal to its log after",
        )
    )
