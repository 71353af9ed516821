"""The time-lapse as an animated image (GIF or WebP, by the file's suffix), through Pillow.

A :class:`TimelapseExport` replays a log (a :class:`~pgboard.timeline.Timeline`'s base and operations)
into a board and an offscreen :class:`~pgboard.canvas.Canvas` of its own (the painter the window uses,
pgboard/render.py underneath) and samples at most ``MAX_EXPORT_FRAMES`` frames evenly over the log,
each scaled so its longer side is at most ``MAX_EXPORT_SIDE`` pixels: the file is bounded whatever the
log's length. Two halves, so the window never waits:

- rendering runs in steps on the caller's thread (pygame's), one :meth:`TimelapseExport.step` per
  frame: at most ``REPLAY_BUDGET`` work of operations applied and the canvas's own ``PAINT_BUDGET``
  painted; a frame is captured only once the canvas has nothing left to paint;
- encoding runs in a worker thread (Pillow, no pygame): captured frames go through a queue of at most
  ``QUEUE_FRAMES`` images to ``Image.save(save_all=True)``, which writes them as they come. A full
  queue makes the step wait for the next frame instead of blocking.

``progress`` (0-1) feeds the timeline bar's progress bar; ``done`` / ``error`` say how it ended.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import pygame
from PIL import Image, ImageChops

from pgboard.board import Board
from pgboard.canvas import BOARD_BG, Canvas
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject, Operation
from pgboard.render import TextCache
from pgboard.timeline import REPLAY_BUDGET, _work
from pgboard.widgets import theme

log = logging.getLogger(__name__)

MAX_EXPORT_FRAMES = 240  # frames in one file: 20 s at FRAME_MS, whatever the log's length
MAX_EXPORT_SIDE = 800  # pixels of the longer side (the board is 3200x1800: 800x450)
FRAME_MS = 80  # each frame shown this long (12.5 frames a second)
HOLD_MS = 2000  # the last frame (the board as it is) held this long before the loop starts over
QUEUE_FRAMES = 8  # captured frames waiting for the encoder (each ~1 MB as RGB at 800x450)
FORMATS = {".gif": "GIF", ".webp": "WEBP"}
WEBP_QUALITY = 80  # lossy; the 10,000-object board: 20.4 MB at 80, 16.0 at 50 (blurred); GIF: 4 MB


def gif_palette() -> list[int]:
    """255 colours and the transparent index (``TRANSPARENT``, last): the board's background, the
    palette's and users' colours, greys, then the 216 web-safe colours (what scaled edges and custom
    colours map to)."""
    colors: list[tuple[int, int, int]] = [BOARD_BG[:3]]
    colors += [theme.hex_to_rgb(c) for _, c in theme.PALETTE]
    colors += [theme.hex_to_rgb(c) for c in theme.USER_COLORS]
    colors += [(v, v, v) for v in range(0, 256, 16)]
    colors += [(r, g, b) for r in range(0, 256, 51) for g in range(0, 256, 51) for b in range(0, 256, 51)]
    unique = list(dict.fromkeys(colors))[:TRANSPARENT]
    unique += [unique[-1]] * (TRANSPARENT - len(unique))
    return [c for rgb in unique for c in rgb]


TRANSPARENT = 255  # the GIF palette's index of "as the frame before" (never a colour of a frame)
_PALETTE = gif_palette()
_PALETTE_IMAGE = Image.new("P", (1, 1))
_PALETTE_IMAGE.putpalette(_PALETTE)


def sample_points(total: int, frames: int = MAX_EXPORT_FRAMES) -> list[int]:
    """Operation counts after which a frame is captured: 0 (the base) to ``total``, evenly, at most
    ``frames`` of them, each once."""
    n = max(1, min(frames, total + 1))
    if n == 1:
        return [total]
    return sorted({round(k * total / (n - 1)) for k in range(n)})


class TimelapseExport:
    """One export (see the module's docstring). ``step()`` once a frame until ``finished``."""

    def __init__(
        self,
        path: Path,
        base: list[BoardObject],
        base_seq: int,
        ops: list[Operation],
        texts: TextCache | None = None,
        *,
        max_frames: int = MAX_EXPORT_FRAMES,
        max_side: int = MAX_EXPORT_SIDE,
    ) -> None:
        fmt = FORMATS.get(path.suffix.lower())
        if fmt is None:
            raise ValueError(f"export to .gif or .webp, not {path.suffix or 'no suffix'!r}")
        self.path, self.format = path, fmt
        self.ops = ops
        self.board = Board(text_box=texts.box) if texts is not None else Board()
        self.board.load(base, base_seq)
        self.canvas = Canvas(self.board, texts)
        scale = max_side / max(BOARD_W, BOARD_H)
        self.size = (max(1, round(BOARD_W * scale)), max(1, round(BOARD_H * scale)))
        self.samples = sample_points(len(ops), max_frames)
        self.frames = 0  # captured
        self.position = 0
        self.error = ""
        self.done = False
        self.stats = {"ops": 0}
        self._queue: queue.Queue[Image.Image] = queue.Queue(maxsize=QUEUE_FRAMES)
        self._thread: threading.Thread | None = None
        self._pending: Image.Image | None = None  # captured, waiting for room in the queue
        self._prev: Image.Image | None = None  # the encoder's last GIF frame, as palette indices

    @property
    def progress(self) -> float:
        return self.frames / len(self.samples) if not self.done else 1.0

    @property
    def finished(self) -> bool:
        return self.done or bool(self.error)

    def step(self, budget: float = REPLAY_BUDGET) -> None:
        """One frame's share: replay towards the next sample, paint, capture when it is painted."""
        if self.finished:
            return
        if self._thread is not None and not self._thread.is_alive() and not self.done:
            self.done = not self.error  # the encoder ended (it set error if it failed)
            return
        if self._pending is not None and not self._offer(self._pending):
            return  # the encoder is behind: try again next frame
        if self.frames >= len(self.samples):
            return  # everything captured: the encoder finishes the file
        want = self.samples[self.frames]
        spent = 0.0
        while self.position < want and spent < budget:
            op = self.ops[self.position]
            spent += _work(op)
            self.board.apply_echo(op)
            self.position += 1
        self.stats["ops"] = self.position
        self.canvas.update()  # under the canvas's PAINT_BUDGET
        if self.position < want or self.canvas.behind:
            return
        self._capture()

    def run(self) -> None:
        """Everything now, on this thread (the headless export and the benchmark)."""
        while not self.finished:
            if self._pending is not None:  # here waiting is allowed: nobody's frame depends on it
                self._queue.put(self._pending)
                self._pending = None
            self.step(budget=float("inf"))
            if self._thread is not None and self.frames >= len(self.samples):
                self._thread.join()
        if self.error:
            raise RuntimeError(self.error)

    def cancel(self) -> None:
        self.error = self.error or "cancelled"
        self._drain()

    def _capture(self) -> None:
        surface = pygame.transform.smoothscale(self.canvas.surface, self.size)
        image = Image.frombytes("RGB", self.size, pygame.image.tobytes(surface, "RGB"))
        self.frames += 1
        if self._thread is None:
            self._start(image)
        elif not self._offer(image):
            self._pending = image

    def _offer(self, image: Image.Image) -> bool:
        try:
            self._queue.put_nowait(image)
        except queue.Full:
            return False
        self._pending = None
        return True

    def _start(self, first: Image.Image) -> None:
        durations = [FRAME_MS] * (len(self.samples) - 1) + [HOLD_MS]
        self._thread = threading.Thread(
            target=self._encode, args=(first, durations), name="timelapse-encode", daemon=True
        )
        self._thread.start()

    def _images(self) -> Iterator[Image.Image]:
        got = 1
        while got < len(self.samples) and not self.error:
            try:
                image = self._queue.get(timeout=1.0)
            except queue.Empty:
                continue  # the window is busy (or minimised): frames come when it steps again
            got += 1
            yield self._encodable(image)

    def _encodable(self, image: Image.Image) -> Image.Image:
        """A frame as the encoder takes it. GIF: mapped to one fixed palette (:func:`gif_palette`;
        Pillow's median cut, the default for an RGB frame, took 38 ms a frame at 800x450 here), and
        every pixel the frame before had already made transparent, so each frame stores what changed
        (the 10,000-object board: 75 MB with whole frames). WebP takes RGB (its encoder diffs)."""
        if self.format != "GIF":
            return image
        frame = image.quantize(palette=_PALETTE_IMAGE, dither=Image.Dither.NONE)
        indices = Image.frombytes("L", frame.size, frame.tobytes())
        prev, self._prev = self._prev, indices
        if prev is not None:
            same = ImageChops.difference(indices, prev).point(lambda v: 255 if v == 0 else 0)
            indices = indices.copy()
            indices.paste(TRANSPARENT, mask=same)
        out = Image.frombytes("P", frame.size, indices.tobytes())
        out.putpalette(_PALETTE)
        out.info["transparency"] = TRANSPARENT
        return out

    def _encode(self, first: Image.Image, durations: list[int]) -> None:
        try:
            first = self._encodable(first)
            options: dict[str, object] = {"save_all": True, "append_images": self._images(), "loop": 0}
            if len(durations) > 1:
                options["duration"] = durations
            else:
                options["duration"] = HOLD_MS
            if self.format == "GIF":
                options["optimize"] = False  # one fixed palette: nothing to optimise
                options["disposal"] = 1  # each frame drawn over the last: its transparent pixels keep it
            else:
                options["quality"] = WEBP_QUALITY
            self.path.parent.mkdir(parents=True, exist_ok=True)
            first.save(self.path, self.format, **options)
        except Exception as exc:  # a full disk, an unwritable folder: said in the bar, logged once
            log.warning("time-lapse export to %s failed: %s", self.path, exc)
            self.error = str(exc) or type(exc).__name__

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def close(self) -> None:
        self.canvas.close()
