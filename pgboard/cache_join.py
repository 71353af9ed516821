"""The app's use of the board cache (pgboard/boardcache.py): read it before joining, write it on leaving.

``begin_join`` at ``App.connect``: with a cache file for this server and room, a thread reads and checks it
while the frames go on; the board's image is shown as soon as it is checked, and the connection starts
only when the objects are decoded too (``step_join``, each frame), with the cached board installed and
``since`` its seq, so the server sends only what changed. Without one
(or with an unusable one, or settings that are not written: ``App(save_settings=False)``) the
connection starts at once, as before. What the user drew meanwhile stays drawn (it waits in the
ledger: nothing was sent yet) and is drawn again over the installed board.

``leave_room`` when the app leaves the room (another room, the connect screen, exit): the board, if caught
up and with nothing of mine unconfirmed, is written in a thread; ``wait_for_writes`` at exit waits for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pygame

from pgboard import boardcache
from pgboard.protocol import BOARD_H, BOARD_W

if TYPE_CHECKING:
    from pgboard.app import App

log = logging.getLogger(__name__)

WRITE_WAIT = 30.0  # seconds the app waits at exit for the cache being written (40 MB at most)


class CacheJoin:
    """One join's cache: where its file is, the read under way, the write under way."""

    def __init__(self, app: App, host: str, port: int, room: str) -> None:
        settings = app.ui.settings_file
        self.host, self.port, self.room = host, port, room
        self.path = boardcache.path_for(settings.path, host, port, room) if settings.writable else None
        # no file (one stat): the connection starts at once, as it always did
        found = self.path is not None and self.path.is_file()
        self.loader = boardcache.Loader(self.path, host, port, room) if found and self.path else None
        self.writer: boardcache.Writer | None = None
        self.installed_seq = 0  # the seq of the cached board installed (0: none)
        self.image_shown = False  # its image is on the board surface, its objects still being read


def loading(app: App) -> bool:
    """A cache is being read: the run loop looks at it every frame slot (a cheap look, no frame) and
    runs a frame as soon as it has something to show (``ready``)."""
    cache = app.board_cache
    return cache is not None and cache.loader is not None


def ready(app: App) -> bool:
    """The cache read has something to show: its image (not shown yet), or everything."""
    cache = app.board_cache
    if cache is None or cache.loader is None:
        return False
    loader = cache.loader
    return loader.done or (loader.image is not None and not cache.image_shown)


def begin_join(app: App, host: str, port: int, room: str) -> None:
    """At connect: start reading the cache, or start the connection now when there is none."""
    previous = app.board_cache
    cache = CacheJoin(app, host, port, room)
    if previous is not None:
        cache.writer = previous.writer  # still to be waited for at exit
    app.board_cache = cache
    if cache.loader is None and app.conn is not None:
        app.conn.start()


def step_join(app: App) -> None:
    """Each frame, before the pump: show the board's image as soon as it is read (the user sees the
    board they left while its objects are decoded, a second or two for 100,000); once the read is
    done, install what it found and connect."""
    cache = app.board_cache
    if cache is None or cache.loader is None:
        return
    if not cache.loader.done:
        image = cache.loader.image
        if image is not None and not cache.image_shown and not len(app.board):
            app.canvas.adopt(pygame.image.frombytes(image, (BOARD_W, BOARD_H), "RGB"))
            cache.image_shown = True
        return
    loader, cache.loader = cache.loader, None
    conn, room = app.conn, app.room
    if conn is None or room is None:
        return
    found, staged = loader.result, loader.board
    if found is not None and staged is not None:
        measure = app.board.text_box
        if measure is not None:  # the thread estimated text boxes; the canvas paints with these fonts
            for obj in found.objects:
                if obj.kind == "text":
                    staged.grid.insert(obj.id, measure(obj))
        app.board.take(staged, found.seq)  # the canvas starts repainting it all...
        if found.image is not None:  # ... or takes the board as it was painted, at once
            app.canvas.adopt(pygame.image.frombytes(found.image, (BOARD_W, BOARD_H), "RGB"))
        for op in conn.session.ledger.drawn():  # drawn while the file was read: nothing sent yet
            room.apply_local(op)
        conn.session.last_seq = found.seq  # the join asks since then
        cache.installed_seq = found.seq
        log.info(
            "board of %r from the cache: %d objects at seq %d", cache.room, len(found.objects), found.seq
        )
    conn.start()


def leave_room(app: App) -> None:
    """The app leaves its room: write its board when it is the server's (caught up, nothing pending)."""
    cache, conn, room = app.board_cache, app.conn, app.room
    if cache is None or cache.path is None or conn is None or room is None:
        return
    if cache.loader is not None or not room.caught_up or conn.session.pending or not app.board.seq:
        return
    if cache.writer is not None:
        cache.writer.join(WRITE_WAIT)  # one write at a time: the newer one wins
    objects = list(app.board.objects.values())  # frozen objects: the thread reads them safely
    canvas = app.canvas  # the painted board goes too, when it is complete (a copy: ~10 ms)
    image = None if canvas.behind or canvas.floating else pygame.image.tobytes(canvas.surface, "RGB")
    cache.writer = boardcache.Writer(
        cache.path, cache.host, cache.port, cache.room, app.board.seq, objects, image
    )


def wait_for_writes(app: App) -> None:
    """At exit: wait (bounded) for the cache being written."""
    cache = app.board_cache
    if cache is not None and cache.writer is not None and not cache.writer.join(WRITE_WAIT):
        log.warning("the board cache was not written within %g s", WRITE_WAIT)
