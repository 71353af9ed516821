"""Issue 11, point 10: ``pgboard-server --backup FILE``, SQLite's online backup of the store, taken while
a real server process writes to it; the backup restored into a new server holds every acknowledged
object; a damaged store never replaces a good backup."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import reliability
from pgboard_server.backup import BackupFailed, backup
from support import WAIT, RawClient, ServerProcess, running_server
from test_store_damage import DAMAGED, board_of, damage_page, draw, fill, only

pytestmark = pytest.mark.reliability

ROOMS = ("north", "south", "west")
PER_ROOM = 200


def run_backup(db: Path, target: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pgboard_server.cli", "--db", str(db), "--backup", str(target)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=WAIT * 4)


def restored_boards(backup_file: Path, tmp_path: Path, rooms: tuple[str, ...]) -> dict[str, set[str]]:
    """The backup put in a new store's place and served by a new server: each room's board."""
    store = tmp_path / "restored" / "board.sqlite3"
    store.parent.mkdir()
    shutil.copyfile(backup_file, store)
    boards = {}
    with running_server(store) as srv:
        for room in rooms:
            with RawClient(srv.address) as c:
                c.join("restorer", room=room, client="restorer")
                boards[room] = board_of(c)
    return boards


def test_a_backup_taken_while_the_server_writes_restores_every_acknowledged_object(tmp_path: Path) -> None:
    db, target = tmp_path / "board.sqlite3", tmp_path / "backup.sqlite3"
    acked: dict[str, set[str]] = {}
    with ServerProcess(db) as server:
        clients = {room: RawClient(server.address) for room in ROOMS}
        try:
            for room, c in clients.items():
                c.join("ann", room=room, client=f"ann-{room}")
                c.catch_up()
                acked[room] = draw(c, PER_ROOM)
            done = run_backup(db, target)  # the server runs on, its connections open
            assert done.returncode == 0, done.stderr
            assert "backed up" in done.stderr
            after = draw(clients["north"], 20, start=PER_ROOM)  # and it still serves
            assert len(after) == 20
        finally:
            for c in clients.values():
                c.close()
    boards = restored_boards(target, tmp_path, ROOMS)
    assert boards == acked
    reliability.record(
        reliability.Finding(
            area="fault",
            case=f"pgboard-server --backup while a server process runs on the store ({len(ROOMS)} rooms of "
            f"{PER_ROOM} objects), the backup restored into a new server",
            outcome="every object acknowledged before the backup is on the restored boards; the running "
            "server acknowledged new work after it",
            tried=len(ROOMS) * PER_ROOM,
            lost=sum(len(acked[r] - boards[r]) for r in ROOMS),
        )
    )


def test_the_server_commits_while_the_backup_copies_and_the_copy_is_not_restarted(tmp_path: Path) -> None:
    """Between two steps of the copy a client draws and is acknowledged (the backup blocks no commit);
    the copy still ends after one pass (a backup restarted by each commit would never end under a busy
    server) and holds the store as it was when it began."""
    db, target = tmp_path / "board.sqlite3", tmp_path / "backup.sqlite3"
    drawn = fill(db)
    steps: list[tuple[int, int]] = []
    during: set[str] = set()
    with running_server(db) as srv, RawClient(srv.address) as c:
        c.join("bob", room="alpha", client="bob")
        c.catch_up()

        def progress(copied: int, total: int) -> None:
            steps.append((copied, total))
            if len(steps) in (1, 3):  # committed (echoed) while the copy is under way
                during.update(draw(c, 5, start=1000 + len(steps) * 10))

        made = backup(db, target, step_pages=8, progress=progress)
    total = steps[0][1]
    assert len(during) == 10
    assert len(steps) == -(-total // 8), steps  # one pass: never restarted
    assert steps[-1][0] == total == made.pages
    boards = restored_boards(target, tmp_path, ("alpha", "echo"))
    assert boards["alpha"] == drawn["alpha"]  # as it began: without what was drawn during the copy
    assert boards["echo"] == drawn["echo"]


def test_a_damaged_store_never_replaces_a_good_backup(tmp_path: Path) -> None:
    db, target = tmp_path / "board.sqlite3", tmp_path / "backup.sqlite3"
    fill(db)
    assert run_backup(db, target).returncode == 0
    good = target.read_bytes()
    pages = only(db, DAMAGED)
    damage_page(db, pages[len(pages) // 2])
    done = run_backup(db, target)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if " ERROR " in line]
    assert len(errors) == 1 and "damaged" in errors[0] and str(db) in errors[0], done.stderr
    assert "Traceback" not in done.stderr
    assert target.read_bytes() == good
    assert not Path(str(target) + ".part").exists()
    with pytest.raises(BackupFailed, match="overwrite the store"):
        backup(db, db)
    with pytest.raises(BackupFailed, match="is a folder"):
        backup(db, tmp_path)
