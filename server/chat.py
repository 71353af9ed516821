"""Chat: plain lines to the room, and the commands of the chat programs pgboard grew from.

``/me`` actions, private messages (``/msg nick text`` or ``@nick text``), ``/list`` (``/ls``, ``/look``,
``/who``), ``/nick`` (``/rename``), ``/mute`` and ``/unmute`` (all room chat) and ``/help``. ``/ignore NICK``
is the client's (pgboard/ignores.py); here it only says so. ``//text`` says "/text".
The commands about rights and moderation (``/allow``, ``/op``, ``/kick``, ...) are in moderation.py.
Room chat is stored with the room's log so joiners see the last lines; private lines are not stored.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgboard_server import confusables, dice, friends, game_room, moderation, presenting, votes, watching
from pgboard_server.room_passwords import HELP as PASSWORD_HELP
from pgboard_server.room_passwords import password_command

from pgboard import names
from pgboard.protocol import Chat, Error, Notice, Renamed

if TYPE_CHECKING:
    from pgboard_server.room import Room
    from pgboard_server.session import Session

log = logging.getLogger(__name__)
_COMMAND = re.compile(r"(\S*)\s*(.*)", re.DOTALL)  # "/roll\t2d6": any whitespace ends the word

Handler = Callable[["ChatCommands", "Session", "Room", str], None]

HELP = (
    ("/me ACTION", "describe what you do: * alice waves"),
    ("/msg NICK TEXT, @NICK TEXT", "a private message to NICK"),
    ("/list (/ls, /look, /who)", "who is in this room"),
    ("/nick NEW (/rename)", "change your nickname"),
    ("/ignore NICK, /unignore NICK", "hide (or show again) one person's lines; a bare /ignore lists them"),
    ("/mute, /unmute", "stop (or start again) receiving room chat (private messages still arrive)"),
    *moderation.HELP,
    *presenting.HELP,
    *watching.HELP,
    *game_room.HELP,
    *PASSWORD_HELP,
    *dice.HELP,
    *votes.HELP,
    *friends.HELP,
    ("/help", "this list"),
    ("//TEXT", "say TEXT starting with a slash"),
)


class ChatCommands:
    """Turns Say lines into chat frames, notices and renames. ``now`` gives Unix seconds."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._commands: dict[str, Handler] = {
            "me": ChatCommands._me,
            "msg": ChatCommands._msg,
            "list": ChatCommands._list,
            "ls": ChatCommands._list,
            "look": ChatCommands._list,
            "who": ChatCommands._list,
            "nick": ChatCommands._nick,
            "rename": ChatCommands._nick,
            "ignore": ChatCommands._ignore,
            "unignore": ChatCommands._ignore,
            "mute": ChatCommands._mute,
            "unmute": ChatCommands._unmute,
            "help": ChatCommands._help,
            **moderation.COMMANDS,
            **presenting.COMMANDS,
            **watching.COMMANDS,
            **game_room.COMMANDS,
            "password": password_command,
            **dice.COMMANDS,
            **votes.COMMANDS,
            **friends.COMMANDS,
        }

    def say(self, session: Session, text: str) -> None:
        room = session.room
        if room is None:
            return
        text = text.strip()
        if not text:
            session.send(Error("empty_message", "there is nothing to say"))
        elif text.startswith("//"):
            self._line(session, room, "say", text[1:])
        elif text.startswith("/"):
            command = _COMMAND.match(text, 1)
            word, rest = command.groups() if command else ("", "")
            handler = self._commands.get(word.lower())
            if handler is None:
                session.send(Error("unknown_command", f"unknown command /{word[:40]}; /help lists them"))
            else:
                handler(self, session, room, rest.strip())
        elif text.startswith("@") and len(text) > 1:
            self._msg(session, room, text[1:])
        elif not game_room.guess(session, room, text):  # a right or close guess is not for the room
            self._line(session, room, "say", text)

    def _line(self, session: Session, room: Room, kind: str, text: str) -> None:
        if not room.broadcast_chat(Chat(kind, session.user, session.nick, text, time=int(self.now()))):
            session.send(Error("store_failed", "the server could not save your line; try again"))

    def _me(self, session: Session, room: Room, rest: str) -> None:
        if not rest:
            session.send(Error("bad_command", "usage: /me ACTION"))
        else:
            self._line(session, room, "me", rest)

    def _msg(self, session: Session, room: Room, rest: str) -> None:
        nick, _, text = rest.partition(" ")
        text = text.strip()
        if not nick or not text:
            session.send(Error("bad_command", "usage: /msg NICK TEXT (or @NICK TEXT)"))
            return
        with room.lock:
            target = room.find(nick)
            if target is not None:
                line = Chat("private", session.user, session.nick, text, to=target.nick, time=int(self.now()))
                target.send(line)
                if target is not session:
                    session.send(line)
                return
        # not in this room: an account's, wherever it is (in a cluster a Redis round trip or two: not
        # under the room's lock)
        known = session.server.friends.has(session, nick)  # a friend: known to be an account
        if not session.server.accounts.send_private(session, nick, text, int(self.now()), paced=not known):
            session.send(Error("no_such_user", f"nobody called {nick[:40]!r} is in this room"))

    def _list(self, session: Session, room: Room, rest: str) -> None:
        with room.lock:
            nicks = sorted((s.nick for s in room.members.values()), key=names.fold)
        session.send(Notice(f"In {room.name} ({len(nicks)}): {', '.join(nicks)}"))

    def _nick(self, session: Session, room: Room, rest: str) -> None:
        if not rest:  # like every command without its argument; a name that breaks the rules: bad_nick
            session.send(Error("bad_command", "usage: /nick NEW"))
            return
        try:
            nick = names.check_nick(rest)
        except names.NameError_ as exc:
            session.send(Error("bad_nick", f"{exc.detail} (usage: /nick NEW)"))
            return
        if confusables.invisible(nick):
            session.send(Error("bad_nick", confusables.INVISIBLE))
            return
        refused = session.server.accounts.nick_refusal(session, nick)  # registered, look-alike, paced
        if refused is not None:
            session.send(refused)
            return
        with room.lock:
            if session.room is not room:
                return
            taken = room.taken_nicks(except_user=session.user)
            if names.fold(nick) in taken:
                suggestion = names.suggest(nick, taken)
                session.send(Error("nick_taken", f"{nick!r} is taken here; try {suggestion!r}"))
                return
            other = confusables.clash(nick, (s.nick for u, s in room.members.items() if u != session.user))
            if other is not None:
                session.send(Error("nick_taken", f"{nick!r} looks like {other!r}, who is here; pick another"))
                return
            if nick == session.nick:
                session.send(Notice(f"You are already {nick}"))
                return
            old, session.nick = session.nick, nick
            room.broadcast(Renamed(session.user, old, nick))
            try:
                room.rights.rename(session.user, nick)  # so /purge and /ban find them by it after they left
            except sqlite3.Error as exc:
                room.store.health.failed(f"{old!r}'s new nick in room {room.name!r}", exc)
        log.info("room %r: %s (%s) is now %s", room.name, old, session.user, nick)

    def _ignore(self, session: Session, room: Room, rest: str) -> None:
        # pgboard handles /ignore NICK itself (by author id, kept in its settings): only a raw client
        # gets here; it used to mute the whole room and drop the name without a word
        session.send(Notice("/ignore NICK is done by the pgboard client; /mute stops all room chat here"))

    def _mute(self, session: Session, room: Room, rest: str) -> None:
        session.ignoring_chat = True
        session.send(Notice("You no longer receive room chat (private lines still arrive); /unmute undoes"))

    def _unmute(self, session: Session, room: Room, rest: str) -> None:
        session.ignoring_chat = False
        session.send(Notice("You receive room chat again"))

    def _help(self, session: Session, room: Room, rest: str) -> None:
        lines = "\n".join(f"{usage}: {what}" for usage, what in HELP)
        session.send(Notice(f"Commands:\n{lines}"))
