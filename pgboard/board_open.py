"""Opening a board file (Ctrl+O, ``--open``): which file (the export folder's newest, or any path
typed), then add its objects to the board or replace the board with them. Either is ONE ``batch``
(docs/PROTOCOL.md), so one Ctrl+Z takes it all back; a file too large for one frame goes as a few
batches, and the toast says so. Replacing erases what the user may erase: an operator the whole board,
anyone else their own objects (they may not erase others'), and the dialog says which.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from pgboard import boardfile
from pgboard.protocol import BoardObject

if TYPE_CHECKING:
    from pgboard.app import App

MAX_FILES_LISTED = 9  # board files offered by Ctrl+O (one digit each)


def choose_file(app: App) -> None:
    """Ctrl+O: the newest board files of the export folder, and a field for any other path."""
    try:
        files = sorted(app.export_dir.glob("*.pgboard"), key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        files = []
    files = files[:MAX_FILES_LISTED]
    rows = [(p.name, time.strftime("saved %Y-%m-%d %H:%M", time.localtime(p.stat().st_mtime))) for p in files]
    title = f"Open a board file from {app.export_dir}" if files else f"No board files in {app.export_dir}"
    app.ui.pick(title, rows, lambda i: ask_how(app, files[i]), lambda text: ask_how(app, typed_path(text)))


def typed_path(text: str) -> Path:
    """A path as typed: ``~`` is the home folder; relative to the working folder."""
    return Path(text.strip()).expanduser()


def load(app: App, path: Path) -> list[BoardObject] | None:
    try:
        return boardfile.load(path)
    except (OSError, boardfile.BoardFileError) as exc:
        app.ui.toast(f"Could not open {path}: {getattr(exc, 'strerror', None) or exc}")
        return None


def ask_how(app: App, path: Path) -> None:
    """Add the file's objects to the board, or replace the board (what this user may erase) with them."""
    objects = load(app, path)
    room = app.room
    if objects is None or room is None:
        return
    mine = erasable(app)
    if room.is_operator:
        replace = (
            "Replace the whole board",
            f"erases everyone's work ({len(mine)} objects) first; one Ctrl+Z undoes it",
        )
    else:
        others = len(room.board.objects) - len(mine)
        replace = (
            "Replace your own objects",
            f"erases what you drew ({len(mine)}); the {others} of others stay: you may not erase them",
        )
    rows = [
        ("Add to the board", f"{len(objects)} objects on top of what is there; one Ctrl+Z undoes it"),
        replace,
    ]
    title = f"Open {path.name} ({len(objects)} objects)"

    def chosen(i: int) -> None:
        open_objects(app, path.name, objects, replace=i == 1)

    app.ui.pick(title, rows, chosen)


def erasable(app: App) -> list[str]:
    """The ids a replace erases: those this user may edit that the server has (confirmed)."""
    room = app.room
    if room is None:
        return []
    pending = room.link.unconfirmed_ids()
    return [oid for oid in room.board.editable_by(room.me) if oid not in pending]


def open_objects(app: App, name: str, objects: list[BoardObject], *, replace: bool = False) -> int:
    """Send the file's objects as one batch (a few if it is too large for one); returns how many."""
    room = app.room
    if room is None:
        return 0
    removed = erasable(app) if replace else []
    try:
        batches = boardfile.as_batches(objects, removed, room.new_id, room.new_oid)
    except boardfile.BoardFileError as exc:
        app.ui.toast(f"Could not open {name}: {exc}")
        return 0
    for batch in batches:
        room.submit(batch)
    done = "Replaced the board with" if replace else "Opened"
    if len(batches) > 1:
        app.ui.toast(
            f"{done} {name}: {len(objects)} objects, sent as {len(batches)} parts (too large "
            f"for one): each part is one Ctrl+Z"
        )
    else:
        app.ui.toast(f"{done} {name}: {len(objects)} objects (one Ctrl+Z takes it back)")
    return len(objects)
