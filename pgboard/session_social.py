"""What the client session makes of a room's people, chat and rights: typed events, not raw messages.

The session (pgboard/client_session.py) keeps here the roster of members (author id -> nickname, as
the server last said) and which chat lines were shown already (every join, a reconnect's too, replays
the room's recent chat), and tells the view what changed: :class:`UsersChanged` (with the whole roster
after the change), :class:`ChatLine` (a line not shown before) and :class:`RightsChanged`. Pure: no
socket, clock or pygame, so it is tested by feeding it messages.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pgboard import names
from pgboard.protocol import Chat, Message, Renamed, RoomState, UserJoined, UserLeft, Welcome

# Chat lines remembered (by content) so a join's replay of the room's recent chat is not shown twice:
# as many as the chat panel keeps (widgets/chat.py MAX_ENTRIES), so a server streaming lines for hours
# cannot grow this without end; a replayed line older than that may show again.
MAX_CHAT_REMEMBERED = 1000


@dataclass(frozen=True, slots=True)
class UsersChanged:
    """Who is in the room changed, by ``msg``. ``users``: everyone now (id -> nickname, in join order;
    a copy); ``change``: "welcome" (the whole list, at every join), "joined", "back" (joined again
    after my reconnect: they were here before it, dropped by the same outage, not news), "left"
    (``reason``) or "renamed" (``old``: the name before), about ``user`` called ``nick``."""

    msg: Welcome | UserJoined | UserLeft | Renamed
    users: Mapping[str, str]
    change: str
    user: str = ""
    nick: str = ""
    old: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ChatLine:
    """A chat line to show: never one this session showed already (a join's replay of recent chat)."""

    msg: Chat


@dataclass(frozen=True, slots=True)
class RightsChanged:
    """The room's rights as the server says them now: operators, lock, grants, watch-only."""

    msg: RoomState


SocialEvent = UsersChanged | ChatLine | RightsChanged
# the messages Social.handle turns into those events (the session passes them nowhere else)
SOCIAL_MESSAGES = frozenset({UserJoined, UserLeft, Renamed, Chat, RoomState})


class Social:
    """The roster and the chat lines shown, as the session learns them; ``handle`` says what changed."""

    def __init__(self) -> None:
        self.users: dict[str, str] = {}  # author id -> nickname, in join order
        self.room = ""  # the room of the last welcome: a line is remembered with its room
        self._away: set[str] = set()  # here before my reconnect, not (yet) since: coming back
        self._shown: Counter[tuple[Any, ...]] = Counter()  # lines passed on, by content
        self._replayed: Counter[tuple[Any, ...]] = Counter()  # history lines since the last welcome
        self._order: deque[tuple[Any, ...]] = deque()  # _shown's lines, oldest first

    @property
    def remembered(self) -> int:
        """Chat lines remembered (at most MAX_CHAT_REMEMBERED)."""
        return len(self._order)

    def handle(self, msg: Message) -> SocialEvent | None:
        """The event ``msg`` makes (None: nothing to show, or not this module's message)."""
        if isinstance(msg, Welcome):
            self._replayed.clear()
            room, before = names.fold(msg.room), self.users
            self.users = {u.id: u.nick for u in msg.users}
            self._away = set(before) - set(self.users) if room == self.room else set()
            self.room = room
            return self._changed(msg, "welcome", msg.user, msg.nick)
        if isinstance(msg, UserJoined):
            self.users[msg.user] = msg.nick
            back = msg.user in self._away
            self._away.discard(msg.user)
            return self._changed(msg, "back" if back else "joined", msg.user, msg.nick)
        if isinstance(msg, UserLeft):
            self._away.discard(msg.user)
            self.users.pop(msg.user, None)
            return self._changed(msg, "left", msg.user, msg.nick, reason=msg.reason)
        if isinstance(msg, Renamed):
            self.users[msg.user] = msg.nick
            return self._changed(msg, "renamed", msg.user, msg.nick, old=msg.old)
        if isinstance(msg, Chat):
            return ChatLine(msg) if self._new_line(msg) else None
        if isinstance(msg, RoomState):
            return RightsChanged(msg)
        return None

    def _changed(
        self,
        msg: Welcome | UserJoined | UserLeft | Renamed,
        change: str,
        user: str,
        nick: str,
        *,
        old: str = "",
        reason: str = "",
    ) -> UsersChanged:
        return UsersChanged(msg, dict(self.users), change, user, nick, old, reason)

    def _new_line(self, msg: Chat) -> bool:
        """False for a history line already shown. Identical lines are counted, so two equal lines said
        in the same second both stay."""
        key = (self.room, msg.kind, msg.user, msg.nick, msg.to, msg.time, msg.text)
        if msg.history:
            self._replayed[key] += 1
            if self._replayed[key] <= self._shown[key]:
                return False
        self._shown[key] += 1
        self._order.append(key)
        if len(self._order) > MAX_CHAT_REMEMBERED:
            old = self._order.popleft()
            self._shown[old] -= 1
            if not self._shown[old]:
                del self._shown[old]
                self._replayed.pop(old, None)  # its keys are among the shown ones
        return True
