"""``/present``: an operator makes every member follow their view (a teacher's board, each student free
to stop with Esc); ``/present stop`` ends it, and so does the presenter leaving. A late joiner is told
to follow too. The views themselves are ``view`` messages every client sends and the room relays
(Session): the server keeps none of them, only who presents (``Room.presenter``), in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pgboard.protocol import Error, Notice
from pgboard.protocol_presence import Follow

if TYPE_CHECKING:
    from pgboard_server.chat import ChatCommands, Handler
    from pgboard_server.room import Room
    from pgboard_server.session import Session

HELP = (("/present [stop]", "(operators) everyone's view follows yours, each free to stop (Esc)"),)


def present(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    with room.lock:
        if session.room is not room:
            return
        if not room.rights.is_operator(session.user):
            session.send(Error("not_operator", f"only an operator of {room.name} may /present"))
        elif rest.lower() == "stop":
            if room.presenter != session.user:
                session.send(Error("bad_command", "you are not presenting"))
            else:
                end(room)
        elif rest:
            session.send(Error("bad_command", "usage: /present, or /present stop"))
        else:
            room.presenter = session.user
            room.broadcast(Follow(session.user, session.nick), exclude=session)
            notice = Notice(f"{session.nick} is presenting: your view follows theirs (Esc stops)")
            room.broadcast(notice, exclude=session)
            session.send(Notice("You are presenting: everyone's view follows yours (/present stop ends it)"))


def end(room: Room) -> None:
    """Under the room's lock: the presentation is over (stopped, or its presenter left)."""
    if room.presenter:
        room.presenter = ""
        room.broadcast(Follow("", ""))
        room.broadcast(Notice("The presentation ended"))


def greet(room: Room, session: Session) -> None:
    """Under the room's lock, to a joiner: follow the presenter, if someone presents."""
    presenter = room.members.get(room.presenter)
    if presenter is not None and presenter is not session:
        session.send(Follow(presenter.user, presenter.nick))


COMMANDS: dict[str, Handler] = {"present": present}
