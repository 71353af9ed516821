"""Chat commands the client answers itself: moving between rooms and leaving.

``/rooms`` asks the server for its open rooms (a `rooms` request; the answer is shown by the room view),
``/join ROOM [password]`` leaves this board for another room on the same server (the same nickname,
log-in, TLS and pinned certificate: a new connection, as the connect screen would make),
``/leave`` goes back to the connect screen, ``/quit`` ends the program. Everything else goes to the
server, whose own commands (/help) are listed there. The answer to ``/rooms`` is offered as a picker
(:func:`offer`): a number, Enter or a click goes to that room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgboard import names
from pgboard.protocol import Rooms
from pgboard.room_list import RoomInfo
from pgboard.widgets.picklist import MAX_ROWS

if TYPE_CHECKING:
    from pgboard.app import App

HELP = (
    ("/rooms", "list the open rooms of this server and pick one to go to"),
    ("/join ROOM [password]", "leave this board for another room"),
    ("/leave", "leave this board for the connect screen"),
    ("/follow NICK, /unfollow", "your view follows NICK's zoom and pan (Esc or your own pan stops)"),
    ("/quit", "close pgboard"),
    ("/history", "replay this board's history (the timeline, key H)"),
)


def handle(app: App, text: str) -> bool:
    """True when ``text`` was one of these commands (and was done); False: send it to the server."""
    word, _, rest = text.strip().partition(" ")
    command = word.lower()
    if command == "/quit":
        app.running = False
    elif command == "/leave":
        leave(app)
    elif command == "/rooms":
        if app.conn is None or not app.conn.send(Rooms()):
            app.ui.add_notice("Not connected: the list of rooms comes from the server")
    elif command == "/join":
        room, _, password = rest.strip().partition(" ")
        if not room:
            app.ui.add_notice("Usage: /join ROOM [password]")
        else:
            join(app, room, password.strip())
    elif command == "/history":
        app.timeline.open()
    elif command == "/help":
        for usage, what in HELP:  # then the server's own list
            app.ui.add_notice(f"{usage}: {what}")
        return False
    else:
        return False
    return True


def join(app: App, room: str, password: str = "") -> None:
    """Leave this board for ``room`` on the same server, as the same person."""
    conn = app.conn
    if conn is None:
        return
    try:
        room = names.check_room(room)
    except names.NameError_ as exc:
        app.ui.add_notice(f"Cannot join {room!r}: {exc.detail}")
        return
    if names.fold(room) == names.fold(conn.room) and not password:
        app.ui.add_notice(f"You are in {conn.room} already")
        return
    if not _may_go(app):
        return
    creds = conn.credentials
    account = (creds.action, creds.password, creds.new) if creds is not None else None
    app.ui.add_notice(f"Leaving {conn.room} for {room}")
    app.connect(
        conn.host,
        conn.port,
        conn.nick,
        room,
        room_password=password,
        account=account,
        tls=conn.tls,
        fingerprint=conn.pinned,
    )


def offer(app: App, answer: Rooms) -> None:
    """Show the rooms of a `rooms` answer in a picker (the busiest first, as many as it has rows):
    picking one goes there; a room with a password puts ``/join ROOM `` in the chat box for it."""
    here = names.fold(app.conn.room) if app.conn is not None else ""
    rooms = list(answer.rooms)
    if not rooms:
        return  # the notice already says how to open one
    rows = [(r.name, _detail(r, names.fold(r.name) == here)) for r in rooms]
    unseen = len(rooms) - MAX_ROWS + answer.more
    title = f"Rooms on this server: {len(rooms) + answer.more}" + (
        f" ({unseen} more: /join ROOM)" if unseen > 0 else ""
    )

    def picked(index: int) -> None:
        room = rooms[index]
        if room.password:
            app.ui.focus_chat()
            app.ui.chat.input.set_text(f"/join {room.name} ")
            app.ui.add_notice(f"{room.name} has a password: type it after the name and press Enter")
        else:
            join(app, room.name)

    app.ui.pick(title, rows, picked)


def _detail(room: RoomInfo, here: bool) -> str:
    people = f"{room.users} {'person' if room.users == 1 else 'people'}"
    return people + (", password" if room.password else "") + (", you are here" if here else "")


def _may_go(app: App) -> bool:
    """Whether this board may be left now: not while what I drew is on its way (online, its echo comes
    in a moment; closing the connection now could lose it). Offline, what was never sent is given up,
    and said so."""
    conn = app.conn
    if conn is None:
        return True
    app.tool.finish()  # a stroke in progress is sent first
    conn.pump()
    pending = len(conn.pending_ops)
    if pending and conn.state == "online":
        app.ui.add_notice(f"{pending} of your changes are still on their way: try again in a moment")
        return False
    if pending:
        app.ui.add_notice(f"{pending} changes drawn while offline were never sent and are given up")
    return True


def leave(app: App) -> None:
    """Leave this board for the connect screen (filled with this server, nickname and room)."""
    if not _may_go(app):
        return
    app._leave(for_another_room=True)
    app.ui.set_users([], "", set())
    app.ui.show_connect()
