"""The embedded store on a real SQLite file: its write-ahead log is copied into the database by the
checkpointer's thread, never inside a commit, and stays bounded while the server keeps writing."""

from __future__ import annotations

import os

from pgboard_server.store import CHECKPOINT_COMMITS, Store
from support import WAIT

PAGE = 4096
ECHO = '{"t":"extend","oid":"c1.%d","seq":%d,"author":"0123456789abcdef","id":"s1","points":[[1,2],[3,4]]}'


def test_the_log_stays_bounded_while_operations_keep_coming(tmp_path) -> None:
    path = tmp_path / "board.sqlite3"
    wal = f"{path}-wal"
    store = Store(path)
    assert store.checkpointer is not None
    rounds = 4
    seq = 0
    sizes = []
    try:
        for r in range(1, rounds + 1):
            for _ in range(CHECKPOINT_COMMITS):
                seq += 1
                store.append_op("room", seq, ECHO % (seq, seq))
            assert store.checkpointer.wait(r, WAIT), f"no checkpoint after {r * CHECKPOINT_COMMITS} commits"
            sizes.append(os.path.getsize(wal))
    finally:
        store.close()
    # each commit appends at least a page (and now and then a pointer-map page: auto_vacuum is
    # incremental, so a compaction gives pages back); after a checkpoint the writer starts the log
    # over, so it never holds much more than one round of commits (without checkpoints: all 4 of them)
    assert max(sizes) < 1.6 * CHECKPOINT_COMMITS * PAGE, sizes
    reopened = Store(path)
    try:
        assert sum(1 for _ in reopened.ops("room")) == seq  # nothing was lost on the way
    finally:
        reopened.close()


def test_an_in_memory_store_has_no_checkpointer() -> None:
    store = Store()
    try:
        assert store.checkpointer is None
        store.append_op("room", 1, ECHO % (1, 1))
        assert list(store.ops("room")) == [ECHO % (1, 1)]
    finally:
        store.close()
