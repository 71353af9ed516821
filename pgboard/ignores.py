"""Ignoring one person, done by the client: ``/ignore NICK``, ``/unignore NICK``, a bare ``/ignore``
lists who is ignored.

The server only knows the room-wide ``/mute``; hiding one person is the reader's choice, so the client
keeps it: by author id (a rename does not escape it), in the settings (it survives a reconnect and a
restart), and it hides that person's room chat, /me lines and private messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .protocol import Say

# People ignored at most (the settings keep each as id -> nick): enough for anyone, bounded file.
MAX_IGNORED = 100

COMMANDS = ("ignore", "unignore")


class Ignores:
    """``ignored``: author id -> the nick they had when ignored (the settings' dict, written in place);
    ``users``: the room's id -> nick now; ``me``: my own id; ``say``: a notice to the user;
    ``save``: writes the settings."""

    def __init__(
        self,
        ignored: dict[str, str],
        users: Callable[[], Mapping[str, str]],
        me: Callable[[], str],
        say: Callable[[str], None],
        save: Callable[[], object],
    ) -> None:
        self.ignored, self.users, self.me, self.say, self.save = ignored, users, me, say, save
        self.muted = False  # this connection's room-wide /mute (the server's, forgotten on a reconnect)

    def online(self, conn: Any, *, again: bool) -> None:
        """The session is online: ``again`` after an outage, when the server forgot a /mute (the user
        was not told it ended): it is sent again, and the server's notice says so."""
        if again and self.muted:
            conn.send(Say(text="/mute"))
        elif not again:
            self.muted = False  # a new connection starts unmuted, as the server does

    def hides(self, user: str) -> bool:
        """True when lines from author ``user`` are not to be shown."""
        return bool(user) and user in self.ignored and user != self.me()

    def command(self, text: str) -> bool:
        """Handle ``text`` if it is one of the client's commands (True: do not send it)."""
        text = text.strip()
        if not text.startswith("/") or text.startswith("//"):
            return False
        word, _, rest = text[1:].partition(" ")
        word, nick = word.lower(), rest.strip()
        if word in ("mute", "unmute"):  # the server's: sent, and remembered for a reconnect
            self.muted = word == "mute"
        if word not in COMMANDS:
            return False
        if not nick:
            if word == "unignore":
                self.say("usage: /unignore NICK (a bare /ignore lists who is ignored)")
            elif self.ignored:
                self.say("Ignored: " + ", ".join(sorted(self.ignored.values(), key=str.casefold)))
            else:
                self.say("You ignore nobody; /ignore NICK hides one person's lines (/mute: the whole room)")
            return True
        if word == "ignore":
            self._ignore(nick)
        else:
            self._unignore(nick)
        return True

    def _find(self, nick: str, among: Mapping[str, str]) -> str:
        """The id of ``nick`` in ``among`` (exact first, then ignoring case), or ""."""
        for uid, name in among.items():
            if name == nick:
                return uid
        folded = nick.casefold()
        return next((uid for uid, name in among.items() if name.casefold() == folded), "")

    def _ignore(self, nick: str) -> None:
        uid = self._find(nick, self.users())
        if not uid:
            self.say(f"Nobody called {nick} is in this room; nothing changed")
        elif uid == self.me():
            self.say("You cannot ignore yourself")
        elif uid in self.ignored:
            self.say(f"You already ignore {self.users()[uid]}; /unignore {self.users()[uid]} undoes")
        elif len(self.ignored) >= MAX_IGNORED:
            self.say(f"You ignore {MAX_IGNORED} people already; /unignore someone first")
        else:
            self.ignored[uid] = self.users()[uid]
            self.save()
            name = self.ignored[uid]
            self.say(f"You no longer see {name}'s lines (private ones too); /unignore {name} undoes")

    def _unignore(self, nick: str) -> None:
        uid = self._find(nick, self.ignored) or self._find(nick, self.users())
        if uid not in self.ignored:
            self.say(f"You do not ignore {nick}")
            return
        name = self.ignored.pop(uid)
        self.save()
        self.say(f"You see {name}'s lines again")


def for_app(app: Any) -> Ignores:
    """The App's: the settings' list, the room it is in now, notices in its chat."""
    return Ignores(
        app.ui.settings.ignored,
        lambda: app.room.users if app.room is not None else {},
        lambda: app.room.me if app.room is not None else "",
        app.ui.add_notice,
        app.ui.save_settings,
    )
