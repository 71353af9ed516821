"""The drawing surface: the board model painted incrementally, and the overlay above it.

:class:`Viewport` (pgboard/viewport.py, re-exported here) maps the board's fixed logical size onto a
screen rect: scaled to fit, with zoom and pan. :class:`Canvas` is the painter: it keeps a persistent
surface at board resolution and repaints only what a change touched (it listens to the board; the
board's own index says what paints where), and tells the view (pgboard/boardview.py) what it damaged.
The view shows the visible part scaled into a cached image rescaled tile by tile, only where something
changed or when the zoom changes (a pan scrolls it and scales only the strip it uncovers). An idle frame
is one blit plus the overlay, however many objects the board holds. While a big board is repainted over
frames, the view is rescaled from a fast draft of the board first (the view's PreviewPhase,
pgboard/preview.py) and rebuilt from the surface after.

The overlay is drawn in screen space every frame: objects being dragged (they float above the board
until they stop moving), previews of what the local tool is drawing, a text caret, other users'
cursors and the highlight of a selected object.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pygame

from pgboard import geometry, render
from pgboard.board import Board
from pgboard.boardview import REPAINT_ALL_REGIONS, PreviewPhase, TiledView
from pgboard.paintjobs import OBJECT_WORK, WHOLE, Job, PaintJobs, work
from pgboard.preview import BOARD_BG, OUTSIDE_BG  # noqa: F401  (OUTSIDE_BG re-exported)
from pgboard.protocol import BOARD_H, BOARD_W, BoardObject
from pgboard.render import find_font  # noqa: F401  (re-exported: others look the font up here too)
from pgboard.viewport import MAX_ZOOM, Viewport  # noqa: F401  (re-exported)

# What the board surface gets painted in one frame, changes and repaints together, in work units
# (pgboard/paintjobs.py: points of strokes, more for long thick segments; a shape or a text counts as
# OBJECT_WORK), about 25-30 ms here; the rest waits for the next frames, in order. So a board of 100,000
# objects (a late join) comes in over seconds, and so does a burst of huge strokes, while the window
# keeps answering (fewer, longer frames would finish sooner: each frame also draws the panels, and the
# run loop gives a frame at most 1/60 s slot). Measured on the benchmark's 100,000-object board: 10,000
# units took ~16 ms a frame once thick strokes were drawn as a band (render.BAND_EXTRA), ~30 ms before.
PAINT_BUDGET = 18_000
PAINT_VIEW_EVERY = 12  # during such a repaint, the view shows the progress every this many frames
# ... unless a preview drafts the board for the view first (pgboard/boardview.py: PreviewPhase; the
# surface waits), which gives up when too many changes come in: back to the progress above.
ABOVE_SCAN = 64  # newest objects looked at before asking the index what lies above a growing stroke
SPRITE_PAD = 2  # screen pixels around a floating object's sprite
SPRITE_MAX_PIXELS = 4_000_000  # a floating object bigger than this on the screen is drawn directly
SELECTION_COLOR = (30, 120, 255)
SELECTION_PAD = 4  # screen pixels between an object and its selection frame
CARET_WIDTH = 2
CURSOR_SIZE = 12  # screen pixels of a remote cursor's arrow
LABEL_SIZE = 14  # text size of a remote cursor's name label
LABEL_PAD = 3
LABEL_ALPHA = 200  # of 255: a name label lets the text under it show through (it fades out too)


@dataclass(frozen=True)
class RemoteCursor:
    """Another user's pointer, for the overlay. ``point`` is in board coordinates."""

    name: str
    point: tuple[int, int]
    color: str = "#1e78ff"
    opacity: float = 1.0  # 0..1: an idle cursor fades out (pgboard/presence.py)


def _rect(box: geometry.Box) -> pygame.Rect:
    return pygame.Rect(box[0], box[1], box[2] - box[0], box[3] - box[1])


def _clamp_box(box: geometry.Box) -> geometry.Box | None:
    x0, y0, x1, y1 = max(box[0], 0), max(box[1], 0), min(box[2], BOARD_W), min(box[3], BOARD_H)
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None


def _grown_by(old: BoardObject | None, new: BoardObject) -> tuple[tuple[int, int], ...] | None:
    """When ``new`` is the pencil stroke ``old`` grown by some points: those points, after the last old
    one (the first segment to paint starts there); else None."""
    if old is None or new.kind != "pencil" or old.kind != "pencil":
        return None
    n = len(old.points)
    if len(new.points) <= n or new.points[:n] != old.points or replace(old, points=new.points) != new:
        return None
    return new.points[n - 1 :]


class Canvas:
    """Paints a :class:`Board` onto ``surface`` (board resolution) and shows it through a Viewport.

    It registers itself as a board listener: a new object on top is painted once, a growing pencil
    stroke paints only its new segments, and any other change damages a region (the old and new
    painted boxes), repainted by :meth:`update` (each frame, from :meth:`draw`): cleared, then every
    object meeting it drawn clipped to it, bottom first. An object replaced in two frames running
    floats (see ``floating``) until a frame leaves it alone. ``surface`` is always up to date.
    """

    def __init__(self, board: Board, texts: render.TextCache | None = None) -> None:
        self.board = board
        self.texts = texts if texts is not None else render.TextCache()
        self._surface = pygame.Surface((BOARD_W, BOARD_H))
        self._pending: list[geometry.Box] = []  # damaged regions not repainted yet
        self._spent = 0.0  # work painted as changes came in since the last update (PAINT_BUDGET)
        self._whole_frames = 0  # frames of the whole-board repaint under way
        self._phase = PreviewPhase()  # the view shows a draft of the board during that repaint
        # Objects moving frame after frame (a drag, ours or another user's) float: they are left off
        # the board surface and drawn in the overlay until they stop, so a drag over a crowded board
        # repaints the crowd twice (lift, land) instead of every frame.
        self.floating: dict[str, BoardObject] = {}
        self._changed: set[str] = set()  # ids replaced since the last update
        self._changed_before: set[str] = set()  # ids replaced in the update before that
        self._sprites: dict[str, tuple[float, BoardObject, pygame.Surface]] = {}  # floating, drawn once
        self.full = _rect((0, 0, BOARD_W, BOARD_H))
        # One index of painted boxes, the board's (board.grid): it measures text with these fonts (a
        # damaged region must find every object that paints into it; geometry's text estimate does not).
        self._measure_texts()
        # What waits to be painted, in order. While a whole-board repaint is under way, every other
        # change waits in _pending (painted over by it otherwise), then is redrawn.
        self._jobs = PaintJobs(self._surface, board, self.texts, BOARD_BG)
        self.stats = {"tiles_rescaled": 0, "objects_painted": 0, "sprites_drawn": 0, "paint_work": 0.0}
        self._view = TiledView(self._surface, self.stats)  # told what the painting damages
        board.listeners.append(self)
        self.board_reset()

    def close(self) -> None:
        """Stop listening to the board."""
        if self in self.board.listeners:
            self.board.listeners.remove(self)

    # -- the board surface, kept up to date by the board's listener calls

    @property
    def surface(self) -> pygame.Surface:
        """The whole board at board resolution, up to date, floating objects landed (export it)."""
        self.update(land_all=True)
        return self._surface

    @property
    def painting(self) -> bool:
        """True while a whole-board repaint is still coming in (see PAINT_BUDGET)."""
        return self._jobs.whole

    @property
    def behind(self) -> bool:
        """True while some painting waits for the next frames (a repaint, or changes bigger than a frame)."""
        return bool(self._jobs)

    @property
    def view_complete(self) -> bool:
        """True when the view shows the whole board: nothing is left to paint, or the preview that
        stands in for the board surface meanwhile is complete (as of the last :meth:`draw`)."""
        return not self._jobs.whole or self._phase.complete

    def _measure_texts(self) -> None:
        """Make the board measure text as this canvas paints it, the texts it holds included (the App's
        board does from the start: then there is nothing to do)."""
        board, measure = self.board, self.texts.box
        if board.text_box == measure:
            return
        board.text_box = measure
        for obj in board.objects.values():
            if obj.kind == "text":
                board.grid.insert(obj.id, measure(obj))

    def board_reset(self) -> None:
        self.floating.clear()
        self._repaint_all()

    def adopt(self, image: pygame.Surface) -> None:
        """Take ``image`` as the board surface instead of repainting the whole board: what the board
        now holds, painted before (the board kept on disk, pgboard/cache_join.py), right after a reset."""
        self._jobs.clear()
        self._pending = []
        self._phase.reset()
        self._surface.blit(image, (0, 0))
        self._view.invalidate()

    def _repaint_all(self, budget: float = PAINT_BUDGET) -> None:
        """Paint every object again: now, or over the next frames when the board is big."""
        self._pending = []
        self._phase.reset()
        self._surface.fill(BOARD_BG)
        objects = [obj for obj in self.board.objects.values() if obj.id not in self.floating]
        self._jobs.clear()
        self._jobs.push(Job(WHOLE, objects, whole=True))
        self._whole_frames = 0
        self._view.damage = [WHOLE]
        total = 0
        for obj in objects:  # a small board is painted at once, as before; a big one is
            total += len(obj.points) + OBJECT_WORK  # previewed first (that frame has enough to do)
            if total > PAINT_BUDGET:
                return
        self._paint(budget)

    def _paint(self, budget: float) -> float:
        """Paint about ``budget`` work of what waits (a whole-board repaint shows its progress in the
        view every PAINT_VIEW_EVERY frames; anything else where it painted)."""
        whole = self._jobs.whole
        spent, painted, damage = self._jobs.step(budget)
        self.stats["objects_painted"] += painted
        self.stats["paint_work"] += spent
        self._view.damage += damage
        if whole:
            self._whole_frames += 1
            if not self._jobs.whole or not self._whole_frames % PAINT_VIEW_EVERY:
                self._view.damage.append(WHOLE)
        return spent

    def update_hidden(self) -> None:
        """A frame while the view is not shown (the history timeline covers it): paint as usual,
        and keep no list of what changed meanwhile: the view is rebuilt whole when it shows again."""
        if len(self._pending) > REPAINT_ALL_REGIONS:
            self._pending = [(0, 0, BOARD_W, BOARD_H)]  # a repaint of all, bounded whatever comes in
        self.update()
        self._view.invalidate()
        self._view.damage = []

    def update(self, land_all: bool = False) -> None:
        """Repaint the regions that changes damaged since the last call (draw calls it every frame).

        An object replaced in this update and the one before floats; one left alone lands. Many
        regions at once (a clear, an undo of one) are cheaper as one repaint of the board."""
        changed, before = self._changed, self._changed_before
        self._changed_before, self._changed = changed, set()
        for oid in list(self.floating):
            if land_all or oid not in changed:
                del self.floating[oid]
                box = self.board.grid.box(oid)
                if box is not None:
                    self._pending.append(box)
        if not land_all:
            for oid in changed & before:
                obj = self.board.get(oid)
                if obj is not None and oid not in self.floating:
                    self.floating[oid] = obj  # its pending regions are repainted without it below
        budget = math.inf if land_all else PAINT_BUDGET - self._spent  # less what changes painted
        self._spent = 0.0
        if self._jobs.whole:
            if land_all or not self._phase.waits_for_it:  # else the preview goes first
                budget -= self._paint(budget)
            if self._jobs:
                return  # what changed meanwhile is redrawn once the repaint is done
        pending, self._pending = self._pending, []
        area = sum((b[2] - b[0]) * (b[3] - b[1]) for b in pending)
        if area >= BOARD_W * BOARD_H or len(pending) > max(REPAINT_ALL_REGIONS, len(self.board) // 4):
            self._repaint_all(budget=budget)
            return
        for box in pending:  # cleared, and what meets it drawn again, clipped, after what waits
            clamped = _clamp_box(box)
            if clamped is not None:
                self._jobs.repaint(clamped, self._found)
        if self._jobs:
            self._paint(budget)

    def object_changed(
        self, old: BoardObject | None, new: BoardObject | None, old_box: geometry.Box | None
    ) -> None:
        """The board changed; its index holds ``new``'s painted box already, ``old_box`` is ``old``'s."""
        if old is not None and old_box is None:
            old_box = render.painted_box(old, self.texts)
        if new is None:
            if old is not None and self.floating.pop(old.id, None) is None:  # floating: not on the surface
                assert old_box is not None
                self._pending.append(old_box)
            return
        new_box = self.board.grid.box(new.id) or render.painted_box(new, self.texts)
        tail = _grown_by(old, new)
        tail_box = None if tail is None else geometry.points_box(tail, new.width // 2 + 2)
        if self._jobs.whole:  # a whole-board repaint is under way: redraw the change after it
            self._pending.append(new_box if old_box is None else geometry.union(old_box, new_box))
            if old is not None:
                self._changed.add(new.id)
            return
        if old is None or old_box is None:  # added on top of everything: paint just it, now if it fits
            clamped = _clamp_box(new_box)
            cost = 0.0 if self._jobs else work(new, limit=PAINT_BUDGET - self._spent)
            if clamped is not None and (self._jobs or self._spent + cost > PAINT_BUDGET):
                self._jobs.push(Job(clamped, [new]))  # after what waits, within the next frames' budgets
                return
            render.draw_clipped(self._surface, new, self.texts, self.full, new_box)
            self._spent += cost
            self.stats["objects_painted"] += 1
            self.stats["paint_work"] += cost
            self._mark(new_box)
            return
        if new.id in self.floating:  # drawn in the overlay: nothing to repaint
            self.floating[new.id] = new
            self._changed.add(new.id)
            return
        if tail is not None and tail_box is not None:
            self._extend(new, tail, tail_box, new_box)
            return
        self._changed.add(new.id)
        if geometry.intersects(old_box, new_box):
            self._pending.append(geometry.union(old_box, new_box))
        else:
            self._pending.append(old_box)
            self._pending.append(new_box)

    def _extend(
        self,
        stroke: BoardObject,
        tail: Sequence[tuple[int, int]],
        box: geometry.Box,
        stroke_box: geometry.Box,
    ) -> None:
        """Paint the segments a pencil stroke grew by (``tail``: the new points after the last old one,
        ``box`` what they paint), then what lies above them again, clipped to them. Painting is
        opaque, so painting an object over itself changes nothing and the result is what a repaint of
        the region gives; text is blended (anti-aliased edges), so a text above sends the region to a
        repaint instead."""
        if self._jobs:  # it waits its turn, all of it (its own painting may be waiting too), and
            self._pending.append(stroke_box)  # floats while it keeps growing (see update)
            self._changed.add(stroke.id)
            return
        above = self._above(stroke, box)
        clamped = _clamp_box(box)
        if above is None or clamped is None or any(o.kind == "text" for o in above):
            self._pending.append(box)
            return
        left = PAINT_BUDGET - self._spent
        cost = render.stroke_part(tail, stroke.width, 0, left)[1] + sum(work(o, clamped, left) for o in above)
        if cost > left:  # a huge tail, or huge strokes above it
            self._pending.append(box)
            return
        self._spent += cost
        self.stats["paint_work"] += cost
        surface = self._surface
        old = surface.get_clip()
        surface.set_clip(_rect(stroke_box))
        render.draw_segments(surface, render.parse_color(stroke.color), tail, stroke.width)
        surface.set_clip(old)
        clip = _rect(clamped)
        grid_box = self.board.grid.box
        for obj in above:
            render.draw_clipped(surface, obj, self.texts, clip, grid_box(obj.id))
        self.stats["objects_painted"] += 1 + len(above)
        self._mark(box)

    def _above(self, stroke: BoardObject, box: geometry.Box) -> list[BoardObject] | None:
        """The objects drawn after ``stroke`` that paint into ``box``, bottom first (None: ``stroke``
        is not on the surface). A stroke being drawn is at or near the top: the newest objects are
        looked at first, so this costs what was added since, not what the board holds."""
        floating, boxes = self.floating, self.board.grid.box
        x0, y0, x1, y1 = box
        above: list[BoardObject] = []
        seen = 0
        for obj in reversed(self.board.objects.values()):  # drawing order (Board.objects)
            if obj is stroke:
                above.reverse()
                return above
            seen += 1
            if seen > ABOVE_SCAN:
                break
            b = boxes(obj.id)
            meets = b is None or (b[0] < x1 and x0 < b[2] and b[1] < y1 and y0 < b[3])
            if meets and obj.id not in floating:
                above.append(obj)
        ordered = self.board.in_order(self.board.grid.query(box) | {stroke.id})  # deep in the pile
        k = len(ordered) - 1
        while k >= 0 and ordered[k] is not stroke:
            k -= 1
        return None if k < 0 else [o for o in ordered[k + 1 :] if o.id not in floating]

    def _found(self, box: geometry.Box) -> list[BoardObject]:
        """What paints into ``box`` on the board surface, bottom first (floating objects are not on it)."""
        return self.board.in_order(self.board.grid.query(box) - self.floating.keys())

    def _mark(self, box: geometry.Box) -> None:
        self._view.damage.append(box)

    # -- the view: the board surface scaled into the viewport's rect (pgboard/boardview.py)

    def draw(
        self,
        screen: pygame.Surface,
        viewport: Viewport,
        *,
        previews: Sequence[BoardObject] = (),
        caret: tuple[BoardObject, int] | None = None,
        cursors: Iterable[RemoteCursor] = (),
        selection: Iterable[BoardObject] = (),
    ) -> None:
        """Blit the visible board into ``viewport.rect`` of ``screen``, then the overlay.

        ``caret`` is (the text object being typed, the caret's index in its text)."""
        self._update_view(viewport)
        assert self._view.image is not None
        screen.blit(self._view.image, viewport.rect)
        old_clip = screen.get_clip()
        screen.set_clip(viewport.rect.clip(old_clip))
        try:
            for obj in self.board.in_order(self.floating):
                self._draw_floating(screen, viewport, obj)
            for obj in selection:
                self._draw_selection(screen, viewport, obj)
            for obj in previews:
                render.draw_object(screen, self.screen_object(obj, viewport), self.texts)
            if caret is not None:
                self._draw_caret(screen, viewport, *caret)
            for cursor in cursors:
                self._draw_cursor(screen, viewport, cursor)
        finally:
            screen.set_clip(old_clip)

    def _update_view(self, vp: Viewport) -> None:
        self.update()
        phase = self._phase
        if self._jobs.whole:
            found = self._found
            if phase.frame(self._view, vp, self._pending, found, self.board, self.floating, self.texts):
                return
        if phase.end():  # the board surface is complete (or the preview gave up)
            self._view.invalidate()  # rebuilt from the surface
        self._view.show(vp)

    # -- the overlay, in screen space

    def _draw_floating(self, screen: pygame.Surface, vp: Viewport, obj: BoardObject) -> None:
        """A floating object, from a sprite drawn once per drag (a move only translates it)."""
        cached = self._sprites.get(obj.id)
        if cached is not None:
            scale, was, sprite = cached
            dx, dy = obj.points[0][0] - was.points[0][0], obj.points[0][1] - was.points[0][1]
            last = was.points[-1]
            if (
                scale != vp.scale
                or len(obj.points) != len(was.points)
                or obj.points[-1] != (last[0] + dx, last[1] + dy)
                or replace(was, points=obj.points) != obj
            ):
                cached = None
        if cached is None:
            was, dx, dy = obj, 0, 0
            x0, y0, x1, y1 = render.painted_box(obj, self.texts)
            size = (
                math.ceil((x1 - x0) * vp.scale) + 2 * SPRITE_PAD,
                math.ceil((y1 - y0) * vp.scale) + 2 * SPRITE_PAD,
            )
            if size[0] * size[1] > SPRITE_MAX_PIXELS:  # huge at this zoom: draw it directly
                render.draw_object(screen, self.screen_object(obj, vp), self.texts)
                return
            sprite = pygame.Surface(size, pygame.SRCALPHA)
            # the view's mapping, shifted so that the box's corner lands at (pad, pad)
            ox, oy = SPRITE_PAD - x0 * vp.scale, SPRITE_PAD - y0 * vp.scale
            render.draw_object(sprite, render.mapped(obj, vp.scale, ox, oy), self.texts)
            self._sprites = {k: v for k, v in self._sprites.items() if k in self.floating}
            self._sprites[obj.id] = (vp.scale, obj, sprite)
            self.stats["sprites_drawn"] += 1
        x0, y0, _, _ = render.painted_box(was, self.texts)
        screen.blit(
            sprite,
            (
                round(vp.ox + (x0 + dx) * vp.scale) - SPRITE_PAD,
                round(vp.oy + (y0 + dy) * vp.scale) - SPRITE_PAD,
            ),
        )

    def screen_object(self, obj: BoardObject, vp: Viewport) -> BoardObject:
        """``obj`` with its points, width and text size in screen pixels, to draw on the screen."""
        return render.mapped(obj, vp.scale, vp.ox, vp.oy)

    def caret_rect(self, vp: Viewport, obj: BoardObject, index: int) -> pygame.Rect:
        """The caret of a text being typed, in screen pixels (also where an IME shows candidates)."""
        shown = self.screen_object(obj, vp)
        x, y, h = self.texts.caret_position(shown.text, shown.size, index)
        return pygame.Rect(shown.points[0][0] + x, shown.points[0][1] + y, CARET_WIDTH, h)

    def _draw_caret(self, screen: pygame.Surface, vp: Viewport, obj: BoardObject, index: int) -> None:
        screen.fill(render.parse_color(obj.color), self.caret_rect(vp, obj, index))

    def _draw_selection(self, screen: pygame.Surface, vp: Viewport, obj: BoardObject) -> None:
        box = vp.screen_box(render.painted_box(obj, self.texts)).inflate(2 * SELECTION_PAD, 2 * SELECTION_PAD)
        pygame.draw.rect(screen, SELECTION_COLOR, box, 1)
        for corner in (box.topleft, box.topright, box.bottomleft, box.bottomright):
            screen.fill(SELECTION_COLOR, pygame.Rect(0, 0, 5, 5).move(corner[0] - 2, corner[1] - 2))

    def _draw_cursor(self, screen: pygame.Surface, vp: Viewport, cursor: RemoteCursor) -> None:
        x, y = vp.to_screen(cursor.point)
        color = render.parse_color(cursor.color)
        label = self.texts.surface(cursor.name, LABEL_SIZE, "#ffffff") if cursor.name else None
        lw, lh = label.get_size() if label is not None else (0, 0)
        # drawn on its own layer, then blended: translucent (and fading) over the board's text
        layer = pygame.Surface((CURSOR_SIZE + lw + 2 * LABEL_PAD + 1, CURSOR_SIZE + lh + 2 * LABEL_PAD + 1))
        layer.fill((1, 2, 3))
        layer.set_colorkey((1, 2, 3))
        s = CURSOR_SIZE
        arrow = [(0, 0), (0, s), (s * 0.3, s * 0.75), (s * 0.75, s * 0.75)]
        if label is not None:
            layer.fill(
                color, pygame.Rect(s - LABEL_PAD, s - LABEL_PAD, lw + 2 * LABEL_PAD, lh + 2 * LABEL_PAD)
            )
            layer.blit(label, (s, s))
            layer.set_alpha(round(LABEL_ALPHA * cursor.opacity))
            screen.blit(layer, (x, y))
            layer.fill((1, 2, 3))
        pygame.draw.polygon(layer, color, arrow)
        pygame.draw.polygon(layer, (255, 255, 255), arrow, 1)
        layer.set_alpha(round(255 * cursor.opacity))
        screen.blit(layer, (x, y))
