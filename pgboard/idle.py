"""Who is idle in the room: nobody has seen an operation, a cursor move or a chat line of theirs for
IDLE_AFTER seconds. The People panel shows it with the game's scores through its one ``marks`` hook
(``UserList.marks``: the word goes after whatever the game wrote there), and the sleeping frame loop is
told when the next person turns idle (``next_change``), so the mark appears without any input.

Pure state on the app's clock; the App calls :func:`wire` for each room and :meth:`IdleWatch.tick`
once a frame (after the room's messages are applied, so a game message that rewrote the marks gets
its idle words back before the frame is drawn).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pgboard.protocol import Chat

if TYPE_CHECKING:
    from pgboard.app import App
    from pgboard.room import RoomView

# A member with no operation, cursor move or chat line for this long is marked idle. A minute: long
# enough that someone reading the board or thinking about their next stroke is not called idle,
# short enough that "who is actually here" is still worth reading in a lesson or a game.
IDLE_AFTER = 60.0
IDLE_WORD = "idle"
SEPARATOR = " · "  # as the game's marks ("3 · drawing")


class IdleWatch:
    """The last time each member was seen doing something, on ``clock`` (seconds)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._last: dict[str, float] = {}  # author id -> last seen active (or first seen at all)
        self.idle: set[str] = set()  # who wears the mark now

    def saw(self, user: str) -> None:
        if user:
            self._last[user] = self.clock()

    def update(self, present: set[str], seen: Callable[[str], float | None]) -> set[str]:
        """Who of ``present`` is idle now; ``seen(user)``: the presence's last cursor or operation."""
        now = self.clock()
        for gone in set(self._last) - present:
            del self._last[gone]
        for user in present:
            at = max(seen(user) or 0.0, self._last.get(user, now))  # a newcomer counts from now
            self._last[user] = at
        self.idle = {u for u in present if now - self._last[u] >= IDLE_AFTER}
        return self.idle

    def next_change(self, now: float) -> float | None:
        """Seconds until the next member turns idle; None when everyone already is (or nobody is here:
        activity, a message, wakes the loop by itself)."""
        waits = [at + IDLE_AFTER - now for at in self._last.values() if now - at < IDLE_AFTER]
        return max(0.0, min(waits)) if waits else None

    def tick(self, app: App) -> None:
        room = app.room
        if room is None:
            return
        present = set(room.users) - {room.me}
        idle = self.update(present, room.presence.last_seen)
        marks = app.ui.user_list.marks
        for user in present | set(marks):
            base = without_idle(marks.get(user, ""))
            text = (base + SEPARATOR + IDLE_WORD if base else IDLE_WORD) if user in idle else base
            if text:
                marks[user] = text
            else:
                marks.pop(user, None)


def without_idle(mark: str) -> str:
    if mark == IDLE_WORD:
        return ""
    return mark.removesuffix(SEPARATOR + IDLE_WORD)


def wire(app: App, room: RoomView) -> None:
    """A new room: everyone counts from now; chat lines count as activity; the loop wakes for marks."""
    watch = app.idle = IdleWatch(app.scheduler.now)
    shown = room.on_chat

    def chat(msg: Chat) -> None:
        if not msg.history and not msg.away:
            watch.saw(msg.user)
        shown(msg)

    room.on_chat = chat
    before = app.ui.board_next_change
    app.ui.board_next_change = lambda at: min(
        (w for w in (before(at), watch.next_change(at)) if w is not None), default=None
    )
