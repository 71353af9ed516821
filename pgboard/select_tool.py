"""The select tool (V): pick objects, then move, restyle, resize, duplicate, copy, paste or delete them.

- A click selects the topmost object under the pointer; Shift+click adds it or takes it out.
- A drag that starts on empty board draws a selection box: it selects the objects that lie WHOLLY
  inside it (as Excalidraw and tldraw do: a long stroke crossing the box is not taken by accident);
  Shift keeps what was selected. A click on empty board selects nothing. Ctrl+A selects everything.
- Dragging a selected object (or inside the selection's box) moves the selection; arrow keys move it
  by ARROW_STEP, Shift+arrows by ARROW_BIG_STEP board units; a corner handle resizes it, the opposite
  corner staying where it is; Delete or Backspace deletes it; Ctrl+D duplicates it; Ctrl+C copies it
  and Ctrl+V pastes (from any tool) through the system clipboard; a palette colour or width applies
  to it. Esc drops a drag in progress, then the selection.

Each of those is ONE ``batch`` (pgboard/selection.py): one operation for everyone, one Ctrl+Z. Only
the objects the user may edit change (the board's edit policy, as the eraser and drag tool follow);
the others stay selected and may be copied or duplicated, and the user is told whose they are.

Batches are drawn when their echo arrives (they are not optimistic), so the tool remembers what each
of its batches not yet echoed will make of an object (``ahead``) and builds the next change on that:
five quick arrow presses move five steps, not one, and their previews show where the objects go.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

import pygame

from pgboard import selection
from pgboard.protocol import BOARD_H, BOARD_W, Batch, BoardObject
from pgboard.selection import GroupError
from pgboard.tool_base import PREVIEW_ID, Point, Tool, ToolContext, clamp_point, shift_held
from pgboard.widgets.clipboard import CLIPBOARD

if TYPE_CHECKING:
    from pgboard.app import App

HIT_TOLERANCE = 4  # board units around a stroke that still count as touching it (as the drag tool)
HANDLE_GRAB = 14  # board units around a corner handle that grab it (5-6 pixels when the board fits)
ARROW_STEP = 2  # board units an arrow key moves the selection (about a pixel when the board fits)
ARROW_BIG_STEP = 20  # with Shift
# Objects selected at most: a frame looks each one up and boxes them (about 3 ms a thousand here),
# and one group change carries fewer anyway (GROUP_BYTES: ~6,000 of the smallest objects).
MAX_SELECTED = 2_000
OUTLINES_DRAWN = 200  # selected objects outlined one by one; past it only the selection's box is drawn
PREVIEW_POINTS = 20_000  # points of moved or resized objects previewed per frame; past it only boxes
BAND_COLOR = "#1e78ff"  # the selection box and outlines (the canvas's SELECTION_COLOR)
DASH = 12  # board units of a dash of the selection box (and of the gap after it)
ARROWS = {pygame.K_LEFT: (-1, 0), pygame.K_RIGHT: (1, 0), pygame.K_UP: (0, -1), pygame.K_DOWN: (0, 1)}


class SelectTool(Tool):
    name = "select"

    def __init__(self, ctx: ToolContext) -> None:
        super().__init__(ctx)
        self.ids: dict[str, None] = {}  # selected ids, in the order they were picked
        # object id -> (oid of my batch not echoed yet, the object as that batch leaves it; None: gone)
        self.ahead: dict[str, tuple[str, BoardObject | None]] = {}
        self.mode = ""  # "", "move", "band" or "resize" while the button is held
        self.start: Point = (0, 0)
        self.now: Point = (0, 0)
        self.kept: dict[str, None] = {}  # a Shift+band keeps what was selected
        self.anchor: Point = (0, 0)  # resize: the corner that stays
        self.box: selection.Box = (0, 0, 0, 0)  # resize: the selection's box when it began
        self.room: selection.Box | None = None  # move: the points box of what may move (None: nothing)

    # -- what is selected

    def objects(self) -> list[BoardObject]:
        """The selected objects as they are (or will be, once my batches are echoed); ids gone from
        the board leave the selection."""
        if self.ahead:
            waiting = set(self.ctx.pending_oids())
            self.ahead = {k: v for k, v in self.ahead.items() if v[0] in waiting}
        out = []
        for oid in list(self.ids):
            obj = self.ahead[oid][1] if oid in self.ahead else self.ctx.board.get(oid)
            if obj is None:
                del self.ids[oid]
            else:
                out.append(obj)
        return out

    def select(self, ids: list[str]) -> None:
        self.ids = dict.fromkeys(ids)
        if len(self.ids) > MAX_SELECTED:
            self.ids = dict.fromkeys(list(self.ids)[:MAX_SELECTED])
            self.ctx.tell(
                f"At most {MAX_SELECTED:,} objects are selected at once (the first {MAX_SELECTED:,})"
            )

    def _box_of(self, obj: BoardObject) -> selection.Box:
        """What ``obj`` paints: the board's index keeps it for the objects on it (O(1), not O(points))."""
        board = self.ctx.board
        box = board.grid.box(obj.id) if board.objects.get(obj.id) is obj else None
        return box if box is not None else selection.group_box((obj,), board.text_box)

    def _group_box(self, objects: list[BoardObject]) -> selection.Box:
        if not objects:
            return (0, 0, 0, 0)
        x0, y0, x1, y1 = self._box_of(objects[0])
        for obj in objects[1:]:
            b = self._box_of(obj)
            x0, y0, x1, y1 = min(x0, b[0]), min(y0, b[1]), max(x1, b[2]), max(y1, b[3])
        return (x0, y0, x1, y1)

    def _handle_at(self, pos: Point, box: selection.Box) -> tuple[Point, Point] | None:
        """(the grabbed corner, the opposite corner) when ``pos`` is on a corner handle of ``box``."""
        x0, y0, x1, y1 = box
        for cx, ox in ((x0, x1), (x1, x0)):
            for cy, oy in ((y0, y1), (y1, y0)):
                if abs(pos[0] - cx) <= HANDLE_GRAB and abs(pos[1] - cy) <= HANDLE_GRAB:
                    return (cx, cy), (ox, oy)
        return None

    # -- the pointer

    def pointer_down(self, pos: Point, mods: int = 0) -> None:
        self.start = self.now = pos
        shift = shift_held(mods)
        objects = self.objects()
        if objects and not shift:
            box = self._group_box(objects)
            handle = self._handle_at(pos, box)
            if handle is not None:
                self.mode, self.box, self.anchor = "resize", box, handle[1]
                return
        hits = self.ctx.board.hit(pos[0], pos[1], HIT_TOLERANCE)
        top = hits[0] if hits else None
        if top is not None and shift:
            if top.id in self.ids:
                del self.ids[top.id]
            elif len(self.ids) < MAX_SELECTED:
                self.ids[top.id] = None
            return
        if top is not None:
            if top.id not in self.ids:
                self.select([top.id])
            self._start_move()
            return
        if objects and not shift:
            x0, y0, x1, y1 = self._group_box(objects)
            if x0 <= pos[0] <= x1 and y0 <= pos[1] <= y1:
                self._start_move()
                return
        self.mode = "band"
        self.kept = dict(self.ids) if shift else {}
        self.ids = dict(self.kept)

    def _start_move(self) -> None:
        """Where every point of what may move can go, measured once a drag (not once a frame)."""
        mine = [o for o in self.objects() if self.ctx.may_edit(o)]
        self.mode, self.room = "move", (selection.points_box(mine) if mine else None)

    def _offset(self) -> Point:
        """The drag's offset, kept so that every point that moves stays on the board."""
        if self.room is None:
            return (0, 0)
        x0, y0, x1, y1 = self.room
        dx, dy = self.now[0] - self.start[0], self.now[1] - self.start[1]
        return (min(max(dx, -x0), BOARD_W - x1 + 1), min(max(dy, -y0), BOARD_H - y1 + 1))

    def pointer_move(self, pos: Point, mods: int = 0) -> None:
        if self.mode:
            self.now = clamp_point(pos)

    def pointer_up(self, pos: Point, mods: int = 0) -> None:
        if not self.mode:
            return
        self.now = clamp_point(pos)
        mode, self.mode = self.mode, ""
        if mode == "move":
            self.move(self.now[0] - self.start[0], self.now[1] - self.start[1])
        elif mode == "resize":
            sx, sy = selection.scale_factors(self.box, self.anchor, self.now)
            if (sx, sy) != (1.0, 1.0):
                self._change(lambda o: selection.scaled(o, self.anchor, sx, sy), "resize")
        elif mode == "band" and self.now != self.start:
            band = selection.normal_box(self.start, self.now)
            picked = [
                o.id for o in self.ctx.board.objects_in(band) if selection.inside(self._box_of(o), band)
            ]
            self.select([*self.kept, *picked])

    def cancel(self) -> None:
        if self.mode == "band":
            self.ids = dict(self.kept)
        self.mode = ""

    # -- keys (the app routes Ctrl+C and Ctrl+V here first: select_tool.key_first)

    def key_down(self, key: int, mod: int = 0) -> bool:
        ctrl = bool(mod & (pygame.KMOD_CTRL | pygame.KMOD_META))
        if key == pygame.K_ESCAPE:
            if self.mode:
                self.cancel()
                return True
            if self.ids:
                self.ids = {}
                return True
            return False
        if ctrl and key == pygame.K_a:
            self.select(list(self.ctx.board.objects))
            return True
        if ctrl and key == pygame.K_d:
            self.duplicate()
            return True
        if ctrl and key == pygame.K_c:
            return self.copy()
        if ctrl and key == pygame.K_v:
            self.paste()
            return True
        if not ctrl and key in (pygame.K_DELETE, pygame.K_BACKSPACE) and self.ids:
            self.delete()
            return True
        if not ctrl and key in ARROWS and self.ids:
            step = ARROW_BIG_STEP if shift_held(mod) else ARROW_STEP
            ux, uy = ARROWS[key]
            self.move(ux * step, uy * step)
            return True
        return False

    # -- group changes: each ONE batch

    def _emit(self, batch: Batch, after: dict[str, BoardObject | None]) -> None:
        self.ctx.emit(batch)
        for oid, obj in after.items():
            self.ahead[oid] = (batch.oid, obj)

    def _mine(self, verb: str) -> list[BoardObject]:
        """The selected objects the user may change; tells whose the others are."""
        objects = self.objects()
        mine = [o for o in objects if self.ctx.may_edit(o)]
        others = [o for o in objects if not self.ctx.may_edit(o)]
        if others:
            self.ctx.refused(others[0], verb)
        return mine

    def _change(self, how: Callable[[BoardObject], BoardObject], verb: str) -> None:
        """Replace each selected object I may edit by ``how(object)``, as ONE batch."""
        changed = [new for old in self._mine(verb) if (new := how(old)) != old]
        if not changed:
            return
        try:
            batch = selection.replacement(self.ctx.new_oid(), changed)
        except GroupError as exc:
            self.ctx.tell(f"Cannot {verb} that: {exc}")
            return
        self._emit(batch, {o.id: o for o in changed})

    def move(self, dx: int, dy: int) -> None:
        mine = [o for o in self.objects() if self.ctx.may_edit(o)]
        dx, dy = selection.clamp_offset(mine, dx, dy)
        if (dx or dy) or len(mine) < len(self.ids):
            self._change(lambda o: selection.translated(o, dx, dy), "move")

    def restyle(self, color: str | None = None, width: int | None = None) -> None:
        if self.ids:
            self._change(lambda o: selection.restyled(o, color, width), "recolour")

    def delete(self) -> None:
        mine = self._mine("erase")
        if not mine:
            return
        try:
            batch = selection.removal(self.ctx.new_oid(), [o.id for o in mine])
        except GroupError as exc:
            self.ctx.tell(f"Cannot delete that: {exc}")
            return
        self._emit(batch, dict.fromkeys(batch.removed))

    def _add(self, objects: list[BoardObject], dx: int, dy: int, verb: str) -> bool:
        try:
            batch = selection.copies(self.ctx.new_oid(), objects, self.ctx.new_id, dx, dy)
        except GroupError as exc:
            self.ctx.tell(f"Cannot {verb} that: {exc}")
            return False
        me = self.ctx.me
        self._emit(batch, {o.id: dataclasses.replace(o, author=me) for o in batch.put})
        self.select([o.id for o in batch.put])
        return True

    def duplicate(self) -> None:
        objects = self.objects()
        if objects:
            self._add(objects, selection.DUPLICATE_OFFSET, selection.DUPLICATE_OFFSET, "duplicate")

    def copy(self) -> bool:
        """Ctrl+C: the selection to the clipboard as board JSON; False with nothing selected."""
        objects = self.objects()
        if not objects:
            return False
        CLIPBOARD.put(selection.to_clipboard(objects))
        self.ctx.tell(f"Copied {_count(len(objects))} (Ctrl+V pastes them here, in another room or window)")
        return True

    def paste(self) -> None:
        try:
            objects = selection.from_clipboard(CLIPBOARD.get())
        except GroupError as exc:
            self.ctx.tell(f"Cannot paste: {exc}")
            return
        dx, dy = selection.paste_offset(objects, self._taken)
        if self._add(objects, dx, dy, "paste"):
            self.ctx.tell(f"Pasted {_count(len(objects))} (one Ctrl+Z takes them back)")

    def _taken(self, obj: BoardObject) -> bool:
        box = selection.group_box((obj,))
        return any(o.kind == obj.kind and o.points == obj.points for o in self.ctx.board.objects_in(box))

    # -- drawing: bounded a frame (OUTLINES_DRAWN boxes, PREVIEW_POINTS points), whatever is selected

    def _shown(self, objects: list[BoardObject]) -> list[BoardObject] | None:
        """The selection as the drag in progress would leave it; None when it is too large to
        preview (then only its box follows the pointer)."""
        if self.mode not in ("move", "resize"):
            return objects
        if sum(len(o.points) for o in objects) > PREVIEW_POINTS:
            return None
        if self.mode == "move":
            dx, dy = self._offset()
            return [selection.translated(o, dx, dy) if self.ctx.may_edit(o) else o for o in objects]
        sx, sy = selection.scale_factors(self.box, self.anchor, self.now)
        return [selection.scaled(o, self.anchor, sx, sy) if self.ctx.may_edit(o) else o for o in objects]

    def _shown_box(self, objects: list[BoardObject]) -> selection.Box:
        x0, y0, x1, y1 = self._group_box(objects)
        if self.mode == "move":
            dx, dy = self._offset()
            return (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        if self.mode == "resize":
            sx, sy = selection.scale_factors(self.box, self.anchor, self.now)
            ax, ay = self.anchor
            xs = (round(ax + (x0 - ax) * sx), round(ax + (x1 - ax) * sx))
            ys = (round(ay + (y0 - ay) * sy), round(ay + (y1 - ay) * sy))
            return (min(xs), min(ys), max(xs), max(ys))
        return (x0, y0, x1, y1)

    def preview(self) -> list[BoardObject]:
        out: list[BoardObject] = []
        objects = self.objects()
        if len(objects) <= OUTLINES_DRAWN:
            shown = self._shown(objects)
            if shown is not None:
                moved = [s for s, o in zip(shown, objects, strict=True) if s is not o or o.id in self.ahead]
                out += [dataclasses.replace(o, id=PREVIEW_ID) for o in moved]
                out += [_outline(self._box_of(o)) for o in shown]
        if self.mode == "band":
            out += _dashed(selection.normal_box(self.start, self.now))
        return out

    def selection(self) -> list[BoardObject]:
        """One frame around the whole selection, with its corner handles (drawn by the canvas)."""
        objects = self.objects()
        if not objects:
            return []
        (x0, y0), (x1, y1) = _clamped_box(self._shown_box(objects))
        return [BoardObject(PREVIEW_ID, "rect", ((x0, y0), (x1, y1)), BAND_COLOR, 1)]


def _count(n: int) -> str:
    return "1 object" if n == 1 else f"{n:,} objects"


def _clamped_box(box: selection.Box) -> tuple[Point, Point]:
    x0, y0, x1, y1 = box
    return clamp_point((x0, y0)), clamp_point((x1, y1))


def _outline(box: selection.Box) -> BoardObject:
    return BoardObject(PREVIEW_ID, "rect", _clamped_box(box), BAND_COLOR, 1)


def _dashed(box: selection.Box) -> list[BoardObject]:
    """The selection box being drawn, dashed (one line object a dash)."""
    (x0, y0), (x1, y1) = _clamped_box(box)
    out = []
    for (ax, ay), (bx, by) in (
        ((x0, y0), (x1, y0)),
        ((x1, y0), (x1, y1)),
        ((x1, y1), (x0, y1)),
        ((x0, y1), (x0, y0)),
    ):
        length = max(abs(bx - ax), abs(by - ay))
        for t in range(0, length, 2 * DASH):
            e = min(t + DASH, length)
            p = (ax + (bx - ax) * t // max(length, 1), ay + (by - ay) * t // max(length, 1))
            q = (ax + (bx - ax) * e // max(length, 1), ay + (by - ay) * e // max(length, 1))
            if p != q:
                out.append(BoardObject(PREVIEW_ID, "line", (p, q), BAND_COLOR, 1))
    return out


# -- the app's hooks (kept out of app.py)


def wire(app: App) -> None:
    """Give the tools the app's toast and the oids of operations waiting for their echo."""
    app.ctx.tell = app.ui.toast

    def pending() -> set[str]:
        return {op.oid for op in app.conn.pending_ops} if app.conn is not None else set()

    app.ctx.pending_oids = pending


def key_first(app: App, key: int, mod: int) -> bool:
    """Keys the selection takes before the shortcuts: Ctrl+C with something selected (else it copies
    the join line while hosting), and Ctrl+V from any tool (it switches to the select tool)."""
    if not mod & (pygame.KMOD_CTRL | pygame.KMOD_META) or mod & pygame.KMOD_SHIFT:
        return False
    if key == pygame.K_c and isinstance(app.tool, SelectTool):
        return app.tool.copy()
    if key == pygame.K_v:
        if not isinstance(app.tool, SelectTool):
            app.pick_tool("select")
        if isinstance(app.tool, SelectTool):
            app.tool.paste()
        return True
    return False


def restyle(app: App, color: str | None = None, width: int | None = None) -> None:
    """A palette colour or width picked: the selection takes it too."""
    tool = getattr(app, "tool", None)  # the panels may report their first colour before a tool exists
    if isinstance(tool, SelectTool):
        tool.restyle(color, width)
