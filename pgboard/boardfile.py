"""Board files: the board's objects saved as JSON, so work can be kept and brought into another room.

The file holds each object in its wire form (docs/PROTOCOL.md, "Objects"). Opening a file in a room
adds its objects there as new objects of the user who opens it: fresh ids, so a file can be opened
twice or into the room it came from without clashing. Pure Python: no pygame, no sockets.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pgboard.protocol import MAX_FRAME, Add, Batch, BoardObject

FORMAT = "pgboard-board"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024
# Bytes of objects and ids one batch carries: a frame less its other fields (type, oid, seq, author,
# device and their keys: under 300 bytes) with room to spare. A larger file goes as several batches.
BATCH_BYTES = MAX_FRAME - 4096


class BoardFileError(ValueError):
    """The file is not a pgboard board file, or is damaged; the message says how."""


def dumps(objects: Iterable[BoardObject]) -> str:
    body = {"format": FORMAT, "version": VERSION, "objects": [o.to_wire() for o in objects]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def save(path: str | os.PathLike[str], objects: Iterable[BoardObject]) -> None:
    """Write atomically: a crash while saving never leaves half a file where the old one was."""
    target = Path(path)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(dumps(objects), encoding="utf-8")
    os.replace(tmp, target)


def loads(text: str) -> list[BoardObject]:
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise BoardFileError(f"not a board file (not JSON: {exc})") from None
    except RecursionError:  # "[[[[..." deeper than the parser recurses: a crash for Ctrl+O and Ctrl+V
        raise BoardFileError("not a board file (not JSON: nested too deep)") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BoardFileError("not a pgboard board file")
    if body.get("version") != VERSION:
        raise BoardFileError(f"board file version {body.get('version')!r} is not supported")
    raw = body.get("objects")
    if not isinstance(raw, list):
        raise BoardFileError("the board file has no object list")
    objects = []
    for i, item in enumerate(raw):
        try:
            objects.append(BoardObject.from_wire(item))
        except Exception as exc:  # the validators raise their own error type; report which object
            raise BoardFileError(f"object {i} is damaged: {exc}") from None
    return objects


def load(path: str | os.PathLike[str]) -> list[BoardObject]:
    target = Path(path)
    if target.stat().st_size > MAX_FILE_BYTES:
        raise BoardFileError(f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    return loads(target.read_text(encoding="utf-8"))


def as_adds(
    objects: Iterable[BoardObject], new_id: Callable[[], str], new_oid: Callable[[], str]
) -> list[Add]:
    """The operations that bring ``objects`` into a room as the opener's own, with fresh ids."""
    return [Add(oid=new_oid(), obj=dataclasses.replace(o, id=new_id(), author="")) for o in objects]


def as_batches(
    objects: Iterable[BoardObject],
    removed: Iterable[str],
    new_id: Callable[[], str],
    new_oid: Callable[[], str],
    budget: int = BATCH_BYTES,
) -> list[Batch]:
    """The batches that erase ``removed`` and bring ``objects`` in as the opener's own: one when it
    fits a frame (one undo step), else as few as fit, erasing first. Raises BoardFileError for an
    object that fits no frame at all (the server would refuse its add too)."""
    batches: list[Batch] = []
    gone: list[str] = []
    put: list[BoardObject] = []
    left = budget

    def flush() -> None:
        nonlocal gone, put, left
        if gone or put:
            batches.append(Batch(oid=new_oid(), removed=tuple(gone), put=tuple(put)))
        gone, put, left = [], [], budget

    for oid in removed:
        size = len(oid) + 3  # its quotes and comma
        if size > left:
            flush()
        gone.append(oid)
        left -= size
    for i, o in enumerate(objects):
        obj = dataclasses.replace(o, id=new_id(), author="")
        size = len(json.dumps(obj.to_wire(), ensure_ascii=False, separators=(",", ":"))) + 1
        if size > budget:
            raise BoardFileError(f"object {i} is too large to send ({size} bytes)")
        if size > left:
            flush()
        put.append(obj)
        left -= size
    flush()
    return batches
