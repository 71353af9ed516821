"""Who is where and who is drawing now: others' cursors (fading when idle, gone when their owner
leaves or the link drops), laser pointer trails (everyone's, mine too, each point fading in
LASER_FADE_S) and the recent activity the People panel marks. Plus the words the app
says about others' objects: whose object a refused erase or drag touched, and what a clear will
really remove for this user (``clear_question``).

Pure state on an injected clock (the app's scheduler clock), no pygame: the app asks
:meth:`Presence.cursors` when it draws and reports :meth:`Presence.next_change` through
``UI.next_change`` so the sleeping frame loop wakes for a fade.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pgboard import app_input, clearing, follow, game_view
from pgboard.protocol import BoardObject

if TYPE_CHECKING:
    from pgboard.room import RoomView

# A cursor that has not moved for CURSOR_IDLE seconds fades out over CURSOR_FADE seconds: a pointer
# left resting on the board (its owner went for coffee) must not hide the text under its label.
CURSOR_IDLE = 4.0
CURSOR_FADE = 1.0
FADE_FRAME = 1 / 30  # seconds between two steps of a fade (the frame loop's wake while fading)
# Someone whose operation arrived in the last DRAWING_RECENT seconds is "drawing now": a pencil sends
# its points several times a second, so a stroke in progress keeps the mark on without a gap.
DRAWING_RECENT = 1.5
# A laser pointer's trail: each point fades out LASER_FADE_S after it came; a trail keeps at most
# LASER_POINTS points (a sender is paced at CURSOR_RATE, 120/s, by the server: 0.4 s of points at that
# rate, 1.6 s at the 30/s the app sends), so a trail costs at most that many segments to draw.
LASER_FADE_S = 0.8
LASER_POINTS = 48

Point = tuple[int, int]


class Presence:
    """Others' cursors and activity, as seen at ``clock()`` (seconds, monotonic)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cursors: dict[str, tuple[Point, float]] = {}  # author id -> (board point, when it moved)
        self._active: dict[str, float] = {}  # author id -> when their last operation arrived
        self._lasers: dict[str, deque[tuple[Point, float]]] = {}  # author id -> (point, when), oldest first

    def moved(self, user: str, point: Point) -> None:
        self._cursors[user] = (point, self.clock())

    def shine(self, user: str, point: Point) -> None:
        """A laser point of ``user`` (their cursor is there too)."""
        now = self.clock()
        self._cursors[user] = (point, now)
        trail = self._lasers.get(user)
        if trail is None:
            trail = self._lasers[user] = deque(maxlen=LASER_POINTS)
        trail.append((point, now))

    def trails(self, now: float) -> list[tuple[str, list[tuple[Point, float]]]]:
        """(author id, [(board point, age 0..1 of LASER_FADE_S)...] oldest first) of every trail still
        to be drawn; the faded points are dropped."""
        out = []
        for user, trail in list(self._lasers.items()):
            while trail and now - trail[0][1] >= LASER_FADE_S:
                trail.popleft()
            if not trail:
                del self._lasers[user]
                continue
            out.append((user, [(p, (now - at) / LASER_FADE_S) for p, at in trail]))
        return out

    def acted(self, user: str) -> None:
        """An operation of ``user`` arrived (live, not a catch-up's replay)."""
        if user:
            self._active[user] = self.clock()

    def gone(self, user: str) -> None:
        """``user`` left: their cursor and mark go at once."""
        self._cursors.pop(user, None)
        self._active.pop(user, None)
        self._lasers.pop(user, None)

    def reset(self) -> None:
        """The link dropped or came back: what was seen before is stale (nobody's cursor is frozen)."""
        self._cursors.clear()
        self._active.clear()
        self._lasers.clear()

    def opacity(self, user: str, now: float) -> float:
        """1.0 for a cursor that moved lately, down to 0.0 (not drawn) CURSOR_FADE after CURSOR_IDLE."""
        seen = self._cursors.get(user)
        if seen is None:
            return 0.0
        idle = now - seen[1]
        return max(0.0, min(1.0, 1.0 - (idle - CURSOR_IDLE) / CURSOR_FADE))

    def cursors(self, now: float) -> list[tuple[str, Point, float]]:
        """(author id, board point, opacity) of every cursor still to be drawn."""
        out = [(uid, point, self.opacity(uid, now)) for uid, (point, _) in self._cursors.items()]
        return [c for c in out if c[2] > 0]

    def drawing(self, user: str, now: float | None = None) -> bool:
        """Whether ``user`` is drawing now (an operation of theirs arrived in the last DRAWING_RECENT s)."""
        at = self._active.get(user)
        return at is not None and (self.clock() if now is None else now) - at < DRAWING_RECENT

    def last_seen(self, user: str) -> float | None:
        """When ``user``'s cursor last moved or an operation of theirs last arrived (pgboard/idle.py)."""
        cursor = self._cursors.get(user)
        times = [t for t in (cursor[1] if cursor else None, self._active.get(user)) if t is not None]
        return max(times, default=None)

    def next_change(self, now: float) -> float | None:
        """Seconds until a cursor or a mark looks different by itself; None when nothing will."""
        waits: list[float] = []
        for _, at in self._cursors.values():
            idle = now - at
            if idle < CURSOR_IDLE:
                waits.append(CURSOR_IDLE - idle)
            elif idle < CURSOR_IDLE + CURSOR_FADE:
                waits.append(FADE_FRAME)
        waits.extend(DRAWING_RECENT - (now - at) for at in self._active.values() if now - at < DRAWING_RECENT)
        if any(now - trail[-1][1] < LASER_FADE_S for trail in self._lasers.values() if trail):
            waits.append(FADE_FRAME)  # a trail fades point by point
        return max(0.0, min(waits)) if waits else None


def owner_name(users: Mapping[str, str], author: str) -> str:
    nick = users.get(author)
    return f"{nick}'s" if nick else "someone else's"


def refusal_text(users: Mapping[str, str], obj: BoardObject, verb: str) -> str:
    """What a refused erase or move of ``obj`` says: whose it is and what the user may do instead."""
    return f"That is {owner_name(users, obj.author)}: you may only {verb} your own"


def clear_question(room: RoomView) -> tuple[str, str]:
    """The erase-all dialog's (title, message), saying what the server's ``clear`` will remove for
    this user: the objects they may edit (an operator: everyone's), bottom first, at most
    MAX_CLEAR_ID_BYTES worth of ids in one clear (pgboard/clearing.py)."""
    board, me = room.board, room.me
    editable = list(board.iter_editable(me))
    removed = clearing.clearable(editable)
    others = sorted(
        {room.users.get(o.author, "someone") for i in removed if (o := board.get(i)) and o.author != me}
    )
    if room.is_operator:
        title = "Clear the whole board, everyone's work?"
        what = "Every stroke, shape and text leaves the board, whoever drew it"
    elif others:
        names = ", ".join(others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        title = "Erase everything you drew, and what you may edit of others'?"
        what = f"Your objects and {names}'s that you may edit leave the board for everyone"
    else:
        title = "Erase everything you drew?"
        what = "Your strokes, shapes and text leave the board for everyone; others' work stays"
    if len(removed) < len(editable):
        what += f". One clear removes {len(removed)} of {len(editable)} objects: clear again for the rest"
    return title, f"{what}. Enter/Y: yes, Esc/N: no"


def shown_cursors(room: RoomView, now: float) -> list[tuple[str, str, Point, float]]:
    """(author id, nick, board point, opacity) of the others' cursors to draw now."""
    users = room.users
    return [(u, users[u], p, a) for u, p, a in room.presence.cursors(now) if u in users and u != room.me]


def wire(app: Any, room: RoomView) -> None:
    """Connect a new room's presence to the app's panels and tools (the App, kept out of app.py)."""
    ui, now = app.ui, app.scheduler.now
    ui.board_next_change = room.presence.next_change
    ui.clear_question = lambda: clear_question(room)
    ui.user_list.is_drawing = lambda uid: room.presence.drawing(uid, now())
    app.ctx.refused = lambda obj, verb: ui.toast(refusal_text(room.users, obj, verb))

    def laser(point: Point) -> None:  # my own trail at once; the others' through the server
        room.presence.shine(room.me, point)
        app_input.send_cursor(app, point, laser=True)

    app.ctx.laser = laser
    follow.wire(app, room)
    game_view.wire(app)
    ui.board_next_change = lambda at: min(
        (
            w
            for w in (
                room.presence.next_change(at),
                app.follow.next_change(app, at),
                app.game.next_change(at),
            )
            if w is not None
        ),
        default=None,
    )
