"""Members who watch only: an operator's ``/readonly NICK`` (``/readwrite NICK`` ends it) and the room
option ``/watchonly on`` (members new to the room watch only; ``off`` ends that for those who come
later). A watcher's every operation is refused ``watch_only`` (chat, cursors, views and the laser
still work); operators never watch only. Kept in the store like every right (server/rights.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgboard_server.moderation import locked_room, not_operator, not_self, operator_only, target_of

from pgboard.protocol import Notice

if TYPE_CHECKING:
    from pgboard_server.chat import ChatCommands, Handler
    from pgboard_server.room import Room
    from pgboard_server.session import Session

HELP = (
    ("/readonly NICK, /readwrite NICK", "(operators) NICK watches only, or draws again"),
    ("/watchonly on|off", "(operators) people new to this room watch only until /readwrite"),
)


@locked_room
@operator_only("readonly")
def readonly(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    _set(session, room, rest, True)


@locked_room
@operator_only("readwrite")
def readwrite(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    _set(session, room, rest, False)


def _set(session: Session, room: Room, rest: str, on: bool) -> None:
    found = target_of(session, room, rest, "/readonly NICK" if on else "/readwrite NICK")
    if found is None:
        return
    user, nick = found
    if not not_self(session, user, "watch only" if on else "let draw"):
        return
    if on and not not_operator(session, room, user, nick, "make watch only"):
        return
    if (user in room.rights.watchers) == on:
        session.send(Notice(f"{nick} {'watches only' if on else 'may draw'} already"))
        return
    room.rights.set_watcher(user, on)
    if on:
        room.broadcast(Notice(f"{session.nick} made {nick} watch only: /readwrite {nick} lets them draw"))
    else:
        room.broadcast(Notice(f"{session.nick} lets {nick} draw again"))
    room.send_state([user])


@locked_room
@operator_only("watchonly")
def watchonly(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    word = rest.strip().lower()
    if word not in ("on", "off"):
        state = "on" if room.rights.watch_only else "off"
        session.send(Notice(f"New joiners watch only: {state}. /watchonly on or /watchonly off"))
        return
    room.rights.set_watch_only(word == "on")
    if word == "on":
        room.broadcast(Notice(f"{session.nick}: people new to this room watch only, until /readwrite NICK"))
    else:
        room.broadcast(Notice(f"{session.nick}: people new to this room draw again"))
    room.send_state()


COMMANDS: dict[str, Handler] = {"readonly": readonly, "readwrite": readwrite, "watchonly": watchonly}
