"""The People panel's menu: a right-click on someone's name offers what can be done with them (a
private message; add or remove them as a friend, which the server keeps for accounts, see
pgboard/friends.py), in the UI's pick list. Chosen entries go out as the chat commands they stand for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgboard.app import App

MESSAGE = "Message privately"
ADD = "Add friend"
REMOVE = "Remove friend"


def entries(app: App, nick: str) -> list[tuple[str, str, str]]:
    """(label, detail, chat command or "" for the private line) for ``nick``."""
    friend = app.room is not None and app.room.friends.is_friend(nick)
    rows = [(MESSAGE, f"/msg {nick}: only {nick} sees it", "")]
    if friend:
        rows.append((REMOVE, f"/unfriend {nick}", f"/unfriend {nick}"))
    else:
        rows.append((ADD, f"/friend {nick}: see where they are once they add you too", f"/friend {nick}"))
    return rows


def open_menu(app: App, nick: str) -> None:
    rows = entries(app, nick)

    def picked(index: int) -> None:
        command = rows[index][2]
        if command:
            app.send_chat(command)
        else:
            app.ui.start_private(nick)

    app.ui.pick(nick, [(label, detail) for label, detail, _ in rows], picked)


def wire(app: App) -> None:
    """Right-clicking a name in People opens the menu (the App, kept out of app.py)."""
    app.ui.user_list.on_menu = lambda nick: open_menu(app, nick)
