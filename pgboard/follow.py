"""Following someone's view: ``/follow NICK`` (or a presenter's ``follow``, /present) makes my view
track theirs, zoom and pan, until I pan or zoom myself or press Esc (my window resized, the panels
toggled with Tab or the game's banner coming or going change where my board is drawn, not what I
follow: their view is fitted again into the new rect). And the other half: my own view
(the part of the board I see) goes to the room as a ``view`` whenever it changes, at most VIEW_RATE
a second, and again when someone joins, so whoever follows me sees what I see.

The App calls :meth:`Follower.tick` once a frame (after the incoming messages are applied); the
views others sent are kept by Presence-like state here, by author id, never logged anywhere."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pygame

from pgboard import names
from pgboard.protocol_presence import Follow, View

if TYPE_CHECKING:
    from pgboard.app import App
    from pgboard.room import RoomView

VIEW_RATE = 5.0  # views sent a second at most while zooming or panning (the server paces cursors at 120)
Box = tuple[int, int, int, int]  # left, top, right, bottom, board units


class Follower:
    def __init__(self) -> None:
        self.target = ""  # the author id whose view mine follows ("": nobody)
        self.views: dict[str, View] = {}  # the last view each member sent
        self._shown: View | None = None  # the target's view my viewport was set to
        self._set_to: object = None  # my viewport's key right after I set it (moved since: stop)
        self._set_in: object = None  # the screen rect it was set in (another one: fit it again)
        self._sent: Box | None = None  # the view I sent last
        self._sent_at = -math.inf
        self._members: frozenset[str] = frozenset()

    # -- following

    def start(self, app: App, user: str) -> None:
        room = app.room
        if room is None or user == room.me:
            return
        self.target, self._shown, self._set_to, self._set_in = user, None, None, None
        app.ui.toast(f"Following {room.users.get(user, 'someone')}: Esc or your own pan or zoom stops")

    def stop(self, app: App, said: str = "") -> None:
        if self.target:
            self.target = ""
            if said:
                app.ui.toast(said)

    def command(self, app: App, text: str) -> bool:
        """``/follow NICK`` and ``/unfollow``; True when ``text`` was one of them."""
        word, _, rest = text.strip().partition(" ")
        if word.lower() == "/unfollow":
            self.stop(app, "Not following anyone now")
            return True
        if word.lower() != "/follow":
            return False
        room = app.room
        nick = rest.strip()
        who = [u for u, n in room.users.items() if names.fold(n) == names.fold(nick)] if room else []
        if not nick or not who:
            app.ui.add_notice("Usage: /follow NICK, someone in this room (/unfollow stops)")
        elif who[0] == room.me:  # type: ignore[union-attr]
            app.ui.add_notice("That is you")
        else:
            self.start(app, who[0])
        return True

    def followed(self, app: App, msg: Follow) -> None:
        """The server's ``follow`` (a presenter started or stopped)."""
        if msg.user:
            self.start(app, msg.user)
        elif self.target:
            self.stop(app, "The presentation ended: your view is yours again")

    # -- once a frame

    def tick(self, app: App) -> None:
        room, vp = app.room, app.viewport
        if room is None:
            return
        refit = self.target and self._set_in is not None and vp.rect != self._set_in
        if refit:
            self._shown = None  # my window changed, not my mind: show their view again in it
        elif self.target and self._set_to is not None and vp.key != self._set_to:
            self.stop(app, "Stopped following: you moved the view")
        if self.target and self.target not in room.users:
            self.stop(app, "Stopped following: they left")
        view = self.views.get(self.target) if self.target else None
        if view is not None and view != self._shown:
            vp.show((view.x, view.y, view.x + view.w, view.y + view.h))
            self._shown, self._set_to, self._set_in = view, vp.key, pygame.Rect(vp.rect)
        if self.target:
            nick = room.users.get(self.target, "")
            app.ui.status.extra = f"Following {nick} (Esc stops) · {app.ui.status.extra}"
        self._publish(app, room)

    def _publish(self, app: App, room: RoomView) -> None:
        conn, now = app.conn, app.scheduler.now()
        if conn is None or conn.state != "online":
            self._members = frozenset()  # back online: everyone gets my view again
            return
        members = frozenset(room.users)
        arrived = bool(members - self._members)
        if members != self._members:
            for gone in [u for u in self.views if u not in members]:
                del self.views[gone]  # bounded by who is here
        self._members = members
        box = app.viewport.visible_box()
        if box == self._sent and not arrived:
            return
        if not arrived and now - self._sent_at < 1 / VIEW_RATE:  # a newcomer gets it at once (paced by
            return  # the server's joins); a zoom or a pan at most VIEW_RATE times a second
        x0, y0, x1, y1 = box
        if conn.send(View(x0, y0, max(x1 - x0, 1), max(y1 - y0, 1))):
            self._sent, self._sent_at = box, now

    def next_change(self, app: App, now: float) -> float | None:
        """Seconds until a view held back by VIEW_RATE may go (the sleeping loop wakes for it)."""
        if app.room is None or app.viewport.visible_box() == self._sent:
            return None
        return max(0.0, 1 / VIEW_RATE - (now - self._sent_at))


def wire(app: App, room: RoomView) -> None:
    """A new room: no views yet, nobody followed; its view and follow messages come here."""
    follower = app.follow
    follower.views.clear()
    follower.target, follower._sent, follower._members = "", None, frozenset()
    room.on_view = lambda msg: follower.views.__setitem__(msg.user, msg)
    room.on_follow = lambda msg: follower.followed(app, msg)
