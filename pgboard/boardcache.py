"""The board kept on disk between runs, by server, room and seq, so a returning client asks only ``since``.

One file per (server, room) in ``boards/`` beside the settings file (pgboard/settings.py): a header
line of JSON (format, server, room, seq, the length of each part, a CRC-32 of the parts) after
``MAGIC``, then the board's objects as snapshot blobs (pgboard/protocol_snapshot.py: the very format a
``snapshot`` frame carries, compressed with zlib). Written when the app leaves the room (and at exit)
in a thread of its own, to a temporary file renamed over the old one, so a crash never leaves half a
file; only a board with nothing of mine unconfirmed on it (what the server has not accepted is not
the server's board). Read in a thread when the app joins the same room on the same server again:
the parts are decoded and checked exactly as a snapshot frame from the network is (a file is no more
trusted than a peer), then the join asks ``since`` the file's seq and the server sends only what
changed (or the board, when its log no longer reaches back that far).

Anything wrong with a file (too big, another server's or room's, a bad CRC, a part that does not
decode) and it is ignored, logged once, and the board comes from the server as if there were none.
At most ``MAX_CACHE_FILES`` files are kept (the least recently written go) and none over
``MAX_CACHE_BYTES``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pgboard import protocol_snapshot
from pgboard.board import MAX_OBJECTS, Board
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject

log = logging.getLogger(__name__)

CACHE_DIR = "boards"
SUFFIX = ".board"
MAGIC = b"pgboard board cache\n"
FORMAT = 1
# A file bigger than this is neither written nor read: a full board (MAX_OBJECTS objects of 100
# points) is about 80 MB inflated, 40 MB compressed; what passes is read whole into memory.
MAX_CACHE_BYTES = 64 * 1024 * 1024
MAX_CACHE_FILES = 16  # boards kept (one per server and room), the least recently written dropped
MAX_HEADER = 64 * 1024  # bytes of the header line (a part length is ~8 bytes: 8,000 parts)
MAX_PARTS = MAX_OBJECTS  # parts in one file (each holds one object at least)
IMAGE_BYTES = BOARD_W * BOARD_H * 3  # the board surface kept with it, RGB: exactly this inflated
IMAGE_LEVEL = 1  # zlib level of the image: a whiteboard is mostly white (17 MB -> ~1-3 MB) in ~0.1 s


@dataclass(frozen=True)
class Cached:
    """A board read back: its objects (checked), the seq they were at."""

    seq: int
    objects: list[BoardObject]
    image: bytes | None = None  # the board painted, RGB at board resolution (None: not kept)


def path_for(settings_path: Path, host: str, port: int, room: str) -> Path:
    """The file that keeps ``room`` on ``host:port`` (a hash: any room name makes a safe file name)."""
    key = f"{host.strip().lower()}:{port}\0{room}".encode()
    return settings_path.parent / CACHE_DIR / (hashlib.sha256(key).hexdigest()[:32] + SUFFIX)


def _server(host: str, port: int) -> str:
    return f"{host.strip().lower()}:{port}"


def encode(
    host: str, port: int, room: str, seq: int, objects: Sequence[BoardObject], image: bytes | None = None
) -> bytes:
    """The file's bytes (pure: the writer thread calls it). ``image``: the board painted (RGB)."""
    parts = [protocol_snapshot.compress(part) for part in protocol_snapshot.chunks(objects)]
    packed_image = (
        zlib.compress(image, IMAGE_LEVEL) if image is not None and len(image) == IMAGE_BYTES else b""
    )
    body = b"".join(parts) + packed_image
    header = {
        "format": FORMAT,
        "server": _server(host, port),
        "room": room,
        "seq": seq,
        "parts": [len(p) for p in parts],
        "image": len(packed_image),
        "crc": zlib.crc32(body),
    }
    return MAGIC + json.dumps(header, ensure_ascii=True).encode("ascii") + b"\n" + body


class CacheError(Exception):
    """A cache file that cannot be used; the message says why."""


def decode(
    data: bytes, host: str, port: int, room: str, on_image: Callable[[bytes], None] | None = None
) -> Cached:
    """The board a file's bytes hold, checked; raises CacheError. ``on_image`` is given the board's
    image as soon as it is checked, before the objects are decoded (a second or two for 100,000)."""
    if len(data) > MAX_CACHE_BYTES:
        raise CacheError(f"larger than MAX_CACHE_BYTES ({MAX_CACHE_BYTES})")
    if not data.startswith(MAGIC):
        raise CacheError("not a pgboard board cache")
    end = data.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER)
    if end < 0:
        raise CacheError("no header line")
    try:
        header = json.loads(data[len(MAGIC) : end])
    except (ValueError, UnicodeDecodeError):
        raise CacheError("its header is not JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CacheError("not a cache of this format")
    if header.get("server") != _server(host, port) or header.get("room") != room:
        raise CacheError("another server's or room's board")
    seq, parts, crc, image = header.get("seq"), header.get("parts"), header.get("crc"), header.get("image", 0)
    if type(seq) is not int or not 0 <= seq <= 2**53:
        raise CacheError("a bad seq")
    if type(parts) is not list or len(parts) > MAX_PARTS or any(type(n) is not int or n < 1 for n in parts):
        raise CacheError("a bad list of parts")
    if type(image) is not int or image < 0:
        raise CacheError("a bad image length")
    body = memoryview(data)[end + 1 :]
    if sum(parts) + image != len(body) or zlib.crc32(body) != crc:
        raise CacheError("its parts are not what its header says (a damaged file)")
    pixels = None
    if image:
        try:
            pixels = protocol_snapshot.inflate(bytes(body[len(body) - image :]), IMAGE_BYTES)
        except protocol_snapshot.SnapshotError as exc:
            raise CacheError(f"its image does not decode: {exc}") from None
        if len(pixels) != IMAGE_BYTES:
            raise CacheError("its image is not the board's size")
        if on_image is not None:
            on_image(pixels)
    objects: list[BoardObject] = []
    at = 0
    for n in parts:
        try:
            objects += protocol_snapshot.decode_blob(protocol_snapshot.inflate(bytes(body[at : at + n])))
        except protocol_snapshot.SnapshotError as exc:
            raise CacheError(f"a part does not decode: {exc}") from None
        if len(objects) > MAX_OBJECTS:
            raise CacheError(f"more than MAX_OBJECTS ({MAX_OBJECTS}) objects")
        at += n
    if len({o.id for o in objects}) != len(objects):
        raise CacheError("an object id twice")
    return Cached(seq, objects, pixels)


def read(
    path: Path, host: str, port: int, room: str, on_image: Callable[[bytes], None] | None = None
) -> Cached | None:
    """The board kept at ``path`` for this server and room, or None (missing, or unusable: logged)."""
    try:
        if path.stat().st_size > MAX_CACHE_BYTES:
            raise CacheError(f"larger than MAX_CACHE_BYTES ({MAX_CACHE_BYTES})")
        data = path.read_bytes()
        return decode(data, host, port, room, on_image)
    except FileNotFoundError:
        return None
    except (OSError, CacheError) as exc:
        log.warning("board cache %s ignored: %s", path, exc)
        return None


def write(path: Path, data: bytes) -> bool:
    """Write ``data`` at ``path`` atomically (a temporary file renamed), then keep MAX_CACHE_FILES."""
    if len(data) > MAX_CACHE_BYTES:
        log.info("board cache not written: %d bytes is over MAX_CACHE_BYTES", len(data))
        return False
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".board-", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        files = sorted(path.parent.glob("*" + SUFFIX), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[MAX_CACHE_FILES:]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot write the board cache %s: %s", path, exc)
        return False
    return True


class Loader:
    """Reads and decodes a cache file in a thread (the frame goes on meanwhile); ``done`` says when
    ``result`` holds what it found (None: nothing usable). The staged board it builds measures text
    by estimate (no fonts outside the frame's thread): the canvas measures them again."""

    def __init__(self, path: Path, host: str, port: int, room: str) -> None:
        self.result: Cached | None = None
        self.board: Board | None = None
        self.image: bytes | None = None  # the board as it was painted, once checked (before the rest)
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(path, host, port, room), name="pgboard-cache-read", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path, host: str, port: int, room: str) -> None:
        try:
            found = read(path, host, port, room, self._image_read)
            if found is not None:
                staged = Board()
                for obj in found.objects:
                    staged.place(obj)
                self.board, self.result = staged, found
        except Exception:  # a bug here must never cost the join: the board comes from the server
            log.exception("reading the board cache %s failed", path)
            self.board = self.result = None
        finally:
            self._done.set()

    def _image_read(self, pixels: bytes) -> None:
        self.image = pixels

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float) -> bool:
        return self._done.wait(timeout)


class Writer:
    """Writes one cache file in a thread; :meth:`join` waits for it (at exit), bounded."""

    def __init__(
        self,
        path: Path,
        host: str,
        port: int,
        room: str,
        seq: int,
        objects: list[BoardObject],
        image: bytes | None = None,
    ) -> None:
        self.ok = False
        args = (path, host, port, room, seq, objects, image)
        self._thread = threading.Thread(target=self._run, args=args, name="pgboard-cache-write", daemon=True)
        self._thread.start()

    def _run(
        self,
        path: Path,
        host: str,
        port: int,
        room: str,
        seq: int,
        objects: list[BoardObject],
        image: bytes | None,
    ) -> None:
        try:
            self.ok = write(path, encode(host, port, room, seq, objects, image))
        except Exception:
            log.exception("writing the board cache %s failed", path)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()
