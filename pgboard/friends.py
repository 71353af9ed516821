"""The client's friend list (docs/PROTOCOL.md, "Friends"): what the server's ``friends`` and ``friend``
messages say, kept so the People menu knows whom to offer "Add friend" or "Remove friend", and the
lines the chat shows for them. Pure: no pygame, no socket.

``/friends`` (sent to the server as chat) answers with the whole list, one line a friend; the list
sent after a logged-in join shows only who is online now (one line, none when nobody is; after a
reconnect, only what changed meanwhile); an update
says what changed ("bob is online in attic", "bob moved to cellar", "bob went offline").
"""

from __future__ import annotations

from pgboard import names
from pgboard.protocol_friends import FriendInfo, Friends, FriendUpdate, update_text


class FriendBook:
    def __init__(self) -> None:
        self.friends: dict[str, FriendInfo] = {}  # folded nick -> as last told
        self.listed = False  # a list came (after the first join): later ones say only what changed

    def is_friend(self, nick: str) -> bool:
        return names.fold(nick) in self.friends

    def apply(self, msg: Friends | FriendUpdate) -> list[str]:
        """Take in a message; the lines to show for it (maybe none)."""
        if isinstance(msg, Friends):
            old, first = self.friends, not self.listed
            self.friends = {names.fold(f.nick): f for f in msg.friends}
            self.listed = True
            if msg.asked:
                if not msg.friends:
                    return ["No friends yet: /friend NICK (or right-click a name in People) adds one"]
                return [f"Friends ({len(msg.friends)}):", *(f"  {f.describe()}" for f in msg.friends)]
            if not first:  # the list again after a reconnect: only what changed meanwhile
                changed = (
                    update_text(FriendUpdate(f.nick, f.mutual, f.online, f.room), old.get(k))
                    for k, f in self.friends.items()
                )
                return [text for text in changed if text]
            here = [f for f in msg.friends if f.online]
            if not here:
                return []
            return ["Friends online: " + ", ".join(f.nick + (f" ({f.room})" if f.room else "") for f in here)]
        key = names.fold(msg.nick)
        before = self.friends.get(key)
        if msg.gone:
            self.friends.pop(key, None)
        else:
            self.friends[key] = msg.info
        text = update_text(msg, before)
        return [text] if text else []
