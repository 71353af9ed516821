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

from pgboard.protocol import Add, BoardObject

FORMAT = "pgboard-board"
VERSION = 1
MAX_FILE_BYTES = 64 * 1024 * 1024


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
