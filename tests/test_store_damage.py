"""Issue 11, point 10: a damaged or read-only store file. Real damage to a real SQLite file: garbage over
a page of the log table (found with SQLite's dbstat), a garbled row, a truncated or overwritten header,
and a file made read-only.

Read-only as root: root ignores file modes, so the file is made immutable (``chattr +i``), which stops
root too, even through a descriptor the server already has open; as another user, ``chmod 0444``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import reliability
from pgboard_server.store_damage import EXIT_STORE
from support import WAIT, RawClient, running_server

from pgboard.protocol import Add, BoardObject, CaughtUp, Codec, Error, Join, JoinError, Obj, Say

pytestmark = pytest.mark.reliability

ROOMS = ("alpha", "bravo", "charlie", "delta", "echo")  # no name is inside another
DAMAGED = "charlie"
PER_ROOM = 300  # objects drawn in each room: about 15 pages of log each
PAGE = 4096


def rect(c: RawClient, i: int) -> BoardObject:
    return BoardObject(c.obj_id(f"r{i}"), "rect", ((i, i), (i + 10, i + 12)))


def draw(c: RawClient, count: int, start: int = 0) -> set[str]:
    """``count`` rects in one write; the ids acknowledged (every echo arrived)."""
    ops = [Add(f"o{i}", rect(c, i)) for i in range(start, start + count)]
    c.send_bytes(b"".join(Codec.send(op) for op in ops))
    last = ops[-1].oid
    c.recv_until(lambda m: getattr(m, "oid", None) == last, timeout=30)
    return {op.obj.id for op in ops}


def fill(db: Path) -> dict[str, set[str]]:
    """Every room of ROOMS with PER_ROOM objects and a chat line; the acknowledged ids by room."""
    drawn: dict[str, set[str]] = {}
    with running_server(db, op_rate=0, input_rate=0, address_op_rate=0, address_input_rate=0) as srv:
        for room in ROOMS:
            with RawClient(srv.address) as c:
                c.join("ann", room=room, client=f"secret-{room}")
                drawn[room] = draw(c, PER_ROOM)
                c.send(Say(f"hello {room}"))
    return drawn


def board_of(c: RawClient) -> set[str]:
    _, frames, _ = c.catch_up()
    return {m.obj.id for m in frames if isinstance(m, Obj)}


def pages_holding(db: Path, table: str, marker: bytes) -> list[int]:
    """Leaf pages of ``table`` whose bytes hold ``marker`` (a room's name is in each of its cells)."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        pages = [
            r[0]
            for r in con.execute(
                "SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,)
            )
        ]
    data = db.read_bytes()
    return [p for p in pages if marker in data[(p - 1) * PAGE : p * PAGE]]


def damage_page(db: Path, page: int) -> None:
    with db.open("r+b") as f:
        f.seek((page - 1) * PAGE)
        f.write(b"\xde\xad\xbe\xef" * (PAGE // 4))


def only(db: Path, room: str) -> list[int]:
    """Log pages that hold ``room``'s rows and no other room's."""
    mine = pages_holding(db, "ops", room.encode())
    others = {p for r in ROOMS if r != room for p in pages_holding(db, "ops", r.encode())}
    return [p for p in mine if p not in others]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "board.sqlite3"


def test_a_damaged_page_of_one_rooms_log_takes_only_that_room_down(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One bad page in the log table: the server starts, every other room serves everything it
    acknowledged and takes new work, and a joiner of the damaged room gets join_error damaged, with
    one error line that names the file and the room (on main: the server did not start at all)."""
    drawn = fill(db)
    pages = only(db, DAMAGED)
    assert len(pages) >= 3, pages
    damage_page(db, pages[len(pages) // 2])
    caplog.set_level(logging.INFO)
    with running_server(db) as srv:
        for room in ROOMS:
            with RawClient(srv.address) as c:
                if room == DAMAGED:
                    c.send(Join(nick="carl", room=room, client="carl"))
                    reply = c.recv_until((JoinError, CaughtUp))
                    assert isinstance(reply, JoinError) and reply.reason == "damaged", reply
                    assert DAMAGED in reply.detail
                    continue
                c.join("bob", room=room, client=f"bob-{room}")
                assert board_of(c) == drawn[room], room
                assert len(draw(c, 5)) == 5  # still takes work
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        about = [line for line in lines if repr(DAMAGED) in line]
        assert len(about) == 1, lines
        assert str(db) in about[0] and "backup" in about[0]
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
        with RawClient(srv.address) as c:  # asked again: refused the same way, said no more
            c.send(Join(nick="carl", room=DAMAGED, client="carl"))
            again = c.recv_until((JoinError, CaughtUp))
            assert isinstance(again, JoinError) and again.reason == "damaged"
        assert len([r for r in caplog.records if repr(DAMAGED) in r.getMessage()]) == 1
    reliability.record(
        reliability.Finding(
            area="fault",
            case=f"garbage over one page of room {DAMAGED!r}'s log "
            f"({len(ROOMS)} rooms of {PER_ROOM} objects)",
            outcome="the server started; the 4 other rooms served every acknowledged object and took new "
            "work; joining the damaged room got join_error damaged; one error line names the file",
            tried=len(ROOMS),
            lost=0,
        )
    )


def test_a_row_that_does_not_decode_makes_its_room_damaged_not_a_board_with_a_hole(db: Path) -> None:
    """A garbled log row: the room is refused (its log stays for a restore) rather than served, and
    later compacted for good, without the row; a joiner of it was sent the raw garbage before."""
    drawn = fill(db)
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("UPDATE ops SET echo = substr(echo, 1, 25) WHERE room = ? AND seq = 7", (DAMAGED,))
        con.commit()
    with running_server(db) as srv:
        with RawClient(srv.address) as c:
            c.send(Join(nick="carl", room=DAMAGED, client="carl"))
            reply = c.recv_until((JoinError, CaughtUp))
            assert isinstance(reply, JoinError) and reply.reason == "damaged", reply
        with RawClient(srv.address) as c:
            c.join("bob", room="delta", client="bob")
            assert board_of(c) == drawn["delta"]


def run_cli(db: Path) -> subprocess.CompletedProcess[str]:
    """pgboard-server on ``db``; it must exit by itself (a server that starts is stopped: a failure)."""
    cmd = [sys.executable, "-m", "pgboard_server.cli", "--host", "127.0.0.1", "--port", "0", "--db", str(db)]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT * 4)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"the server started on a bad store: {exc.stdout!r}") from None


@contextlib.contextmanager
def read_only(*files: Path) -> Iterator[str]:
    """``files`` made read-only for the server; yields how. Root ignores modes: immutable (chattr +i)."""
    if os.geteuid() != 0:
        for f in files:
            f.chmod(0o444)
        try:
            yield "chmod 0444"
        finally:
            for f in files:
                f.chmod(0o644)
        return
    done = subprocess.run(["chattr", "+i", *map(str, files)], capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["chattr", "-i", *map(str, files)], capture_output=True)
        pytest.skip(f"running as root and chattr +i failed here: {done.stderr.strip()}")
    try:
        yield "chattr +i"
    finally:
        subprocess.run(["chattr", "-i", *map(str, files)], check=True)


def truncate_header(db: Path) -> None:
    with db.open("r+b") as f:
        f.truncate(60)  # the 100-byte header cut short


def overwrite_header(db: Path) -> None:
    with db.open("r+b") as f:
        f.write(b"\x00garbage" * 12)


@pytest.mark.parametrize(
    "harm", [truncate_header, overwrite_header, None], ids=["truncated", "overwritten", "read-only"]
)
def test_a_store_that_cannot_be_used_stops_the_server_with_one_line(db: Path, harm: object) -> None:
    """Exit status EXIT_STORE, no traceback, one error line naming the file and what to do (on main:
    a traceback, or for a read-only file, status 1 with it)."""
    fill(db)
    if harm is None:
        with read_only(db) as how:
            done = run_cli(db)
        fix = "write access"
    else:
        harm(db)  # type: ignore[operator]
        how, done = "", run_cli(db)
        fix = "backup"
    assert done.returncode == EXIT_STORE, (how, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1, done.stderr
    assert str(db) in errors[0] and fix in errors[0], errors[0]
    assert "listening" not in done.stdout


def test_a_store_made_read_only_while_serving_refuses_writes_and_says_what_to_do(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The file turns read-only under the running server: each write is refused store_failed (with its
    oid), the log says once which file and what to do, and once writable again work is acknowledged."""
    fill(db)
    with running_server(db) as srv, RawClient(srv.address) as c:
        c.join("ann", room="alpha", client="secret-alpha")
        c.catch_up()
        wal = db.with_name(db.name + "-wal")  # commits go to the write-ahead log first
        with read_only(db, wal) as how:
            if how != "chattr +i":
                pytest.skip("a descriptor the server holds ignores chmod: only an immutable file stops it")
            c.send(Add("late", rect(c, 999)))
            refused = c.recv_until(lambda m: getattr(m, "oid", None) == "late")
            assert isinstance(refused, Error) and refused.code == "store_failed", refused
            c.send(Say("anyone?"))
            said = c.recv_until(lambda m: isinstance(m, Error) or getattr(m, "text", "") == "anyone?")
            assert isinstance(said, Error) and said.code == "store_failed", said
        lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(lines) == 1, lines
        assert str(db) in lines[0] and "write access" in lines[0], lines[0]
        assert len(draw(c, 3, start=500)) == 3  # writable again: acknowledged


def test_a_room_found_damaged_while_serving_is_refused_and_the_others_serve(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A page of a room not loaded yet (beyond max_rooms at start) is damaged under the running server;
    another process's commit makes the server read the file again. Joining that room gets join_error
    damaged (main: server_error, a traceback in the log, and the half-loaded room kept), and rooms
    already served, and rooms loaded after, serve every acknowledged object."""
    drawn = fill(db)
    with running_server(db, max_rooms=2) as srv:  # alpha and bravo loaded at start, the rest on join
        pages = only(db, DAMAGED)
        damage_page(db, pages[len(pages) // 2])
        with contextlib.closing(sqlite3.connect(db)) as other:  # the server's page cache starts over
            other.execute("CREATE TABLE elsewhere (x)")
            other.commit()
        with RawClient(srv.address) as c:
            c.send(Join(nick="carl", room=DAMAGED, client="carl"))
            reply = c.recv_until((JoinError, CaughtUp, Error))
            assert isinstance(reply, JoinError) and reply.reason == "damaged", reply
        for room in ("alpha", "delta"):
            with RawClient(srv.address) as c:
                c.join("bob", room=room, client=f"bob-{room}")
                assert board_of(c) == drawn[room], room
                assert len(draw(c, 3)) == 3
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
        assert len([r for r in caplog.records if repr(DAMAGED) in r.getMessage()]) == 1


def test_a_catch_up_over_a_log_damaged_while_serving_ends_cleanly_and_the_next_gets_the_board(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A served room's log is damaged under it: the board in memory is whole. The reconnecting client
    whose ops catch-up hits the damage gets error store_failed (fatal: it joins again) and the joins
    after get the board, every acknowledged object (main: the writer failed with a traceback, the
    connection dropped, and every reconnect with ``since`` failed the same way)."""
    drawn = fill(db)
    with running_server(db) as srv:
        pages = only(db, "alpha")
        damage_page(db, pages[len(pages) // 2])
        with contextlib.closing(sqlite3.connect(db)) as other:  # the server's page cache starts over
            other.execute("CREATE TABLE elsewhere (x)")
            other.commit()
        with RawClient(srv.address) as c:
            c.join("bob", room="alpha", client="bob", since=1)
            end = c.recv_until((Error, CaughtUp))
            assert isinstance(end, Error) and end.code == "store_failed" and end.fatal, end
        with RawClient(srv.address) as c:
            c.join("bob", room="alpha", client="bob", since=1)
            head, frames, _ = c.catch_up()
            assert head.mode == "board"
            assert {m.obj.id for m in frames if isinstance(m, Obj)} == drawn["alpha"]
        assert not [r for r in caplog.records if r.exc_info], "no traceback"


def test_hosting_from_the_window_on_a_damaged_store_raises_the_one_line_it_shows(db: Path) -> None:
    """The window's Host button shows an OSError from hosting as "cannot host a board here: ..." (the
    app's frame would crash on anything else, as it did on main)."""
    from pgboard.hosting import start_embedded_server

    fill(db)
    overwrite_header(db)
    with pytest.raises(OSError, match="not a SQLite database") as caught:
        start_embedded_server(port=0, db_path=db, interface="127.0.0.1")
    assert str(db) in str(caught.value) and "backup" in str(caught.value)


def test_a_damaged_page_where_two_rooms_meet_takes_only_those_two_down(
    db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The page holding the end of one room's log and the start of the next: the listing of rooms by
    seeks lands on it (said once, the rest of the log table skipped: later rooms are found through
    their chat); both rooms are refused, the three others serve."""
    drawn = fill(db)
    both = set(pages_holding(db, "ops", b"charlie")) & set(pages_holding(db, "ops", b"delta"))
    assert len(both) == 1, both
    damage_page(db, both.pop())
    with running_server(db) as srv:
        for room in ROOMS:
            with RawClient(srv.address) as c:
                c.send(Join(nick="carl", room=room, client="carl"))
                reply = c.recv_until((JoinError, CaughtUp))
                if room in ("charlie", "delta"):
                    assert isinstance(reply, JoinError) and reply.reason == "damaged", (room, reply)
                    continue
                assert isinstance(reply, CaughtUp)
                objs = {m.obj.id for m in c.seen if isinstance(m, Obj)}
                assert objs == drawn[room], room
        assert any("table ops is damaged after room 'charlie'" in r.getMessage() for r in caplog.records)
        assert not [r for r in caplog.records if r.exc_info], "no traceback"
