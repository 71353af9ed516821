"""``/vote kick NICK``: the room decides, and the server counts.

- Anyone in a room may start a vote to kick a member who is here and is not an operator (operators are
  never voted out: ``not_allowed``). The starter votes yes. Those present when it started (the one it
  is about included) vote once each with ``/vote yes`` or ``/vote no``; members who join later do not
  vote (``not_allowed``). ``/vote`` alone says how it stands.
- It passes as soon as a majority of those present at its start said yes (more than half of them, so
  in a room of two the starter alone never suffices), and fails as soon as that can no longer happen, or
  when ``vote_timeout`` seconds have passed (the heartbeat, on the server's injectable clock).
- Passing kicks as an operator's ``/kick`` does (server/moderation.py ``kick_out``: out for
  ``kick_hold``), even if the one it was about left meanwhile; the room sees the start, each count and
  the result as notices. An operator made meanwhile is not kicked.
- One vote at a time per room (``vote_running``); whoever started one waits ``vote_cooldown`` seconds
  before starting another in that room, counted by author id and by address (``vote_cooldown`` with
  ``retry``), so a guest's fresh identities do not get around it.

Everything happens under the room's lock; the table of running votes and of cooldowns is guarded by a
leaf lock of its own (the heartbeat reads it, then takes each due vote's room lock without it).
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pgboard_server import lockorder
from pgboard_server.moderation import kick_out
from pgboard_server.rights import address_of

from pgboard.protocol import MAX_RETRY, Error, Notice

if TYPE_CHECKING:
    from pgboard_server.accounts import Accounts
    from pgboard_server.bans import Bans
    from pgboard_server.chat import ChatCommands
    from pgboard_server.limits import Limits
    from pgboard_server.room import Room
    from pgboard_server.session import Session

log = logging.getLogger(__name__)

USAGE = "/vote kick NICK starts a vote; /vote yes or /vote no; /vote says how it stands"

Handler = Callable[["ChatCommands", "Session", "Room", str], None]

HELP = (
    ("/vote kick NICK", "ask the room to kick NICK: it passes when most of those here vote /vote yes"),
    ("/vote yes, /vote no", "your vote on the vote under way (/vote alone: how it stands)"),
)


@dataclass
class Vote:
    room: Room
    target: str  # author id
    nick: str  # as it was called when the vote started
    starter: str
    electorate: frozenset[str]  # author ids present at the start
    ends: float  # on the server's clock
    yes: set[str] = field(default_factory=set)
    no: set[str] = field(default_factory=set)

    @property
    def needed(self) -> int:
        return len(self.electorate) // 2 + 1

    def standing(self) -> str:
        return f"{len(self.yes)} for, {len(self.no)} against, {self.needed} of {len(self.electorate)} needed"

    def lost(self) -> bool:
        undecided = len(self.electorate) - len(self.yes) - len(self.no)
        return len(self.yes) + undecided < self.needed


class Votes:
    """The votes under way (one a room, by its folded name) and when each starter may start again."""

    def __init__(self, limits: Limits, clock: Callable[[], float], bans: Bans, accounts: Accounts) -> None:
        self.bans, self.accounts = bans, accounts  # a passed vote kicks as /kick does
        self.timeout = limits.vote_timeout
        self.cooldown = limits.vote_cooldown
        self.clock = clock
        self._lock = lockorder.leaf("votes")
        self._running: dict[str, Vote] = {}
        self._started: dict[tuple[str, str], float] = {}  # (room key, "id:..." or "ip:...") -> when

    def running(self, room: Room) -> Vote | None:
        with self._lock:
            return self._running.get(room.rights.key)

    def _wait(self, room: Room, session: Session, now: float) -> float:
        keys = [(room.rights.key, f"id:{session.user}"), (room.rights.key, f"ip:{address_of(session.peer)}")]
        with self._lock:
            return max(
                (t + self.cooldown - now for k in keys if (t := self._started.get(k)) is not None), default=0
            )

    def start(self, session: Session, room: Room, nick: str) -> None:
        """Under the room's lock: ``/vote kick NICK``."""
        target = room.find(nick)
        if target is None:
            session.send(Error("no_such_user", f"nobody called {nick[:40]!r} is in this room"))
            return
        if target is session or target.user == session.user:
            session.send(Error("bad_command", "you cannot vote to kick yourself"))
            return
        if room.rights.is_operator(target.user):
            session.send(
                Error("not_allowed", f"{target.nick} is an operator: a vote never kicks an operator")
            )
            return
        running = self.running(room)
        if running is not None:
            detail = f"a vote to kick {running.nick} is under way: /vote yes or /vote no"
            session.send(Error("vote_running", detail))
            return
        now = self.clock()
        wait = self._wait(room, session, now)
        if wait > 0:
            retry = min(MAX_RETRY, math.ceil(wait))
            detail = f"you started a vote here a short while ago; you may start another in {retry} s"
            session.send(Error("vote_cooldown", detail, retry=retry))
            return
        vote = Vote(room, target.user, target.nick, session.user, frozenset(room.members), now + self.timeout)
        vote.yes.add(session.user)
        with self._lock:
            self._running[room.rights.key] = vote
            for who in (f"id:{session.user}", f"ip:{address_of(session.peer)}"):
                self._started[(room.rights.key, who)] = now
        log.info("room %r: %s started a vote to kick %s", room.name, session.nick, target.nick)
        room.broadcast(
            Notice(
                f"{session.nick} started a vote to kick {target.nick}: /vote yes or /vote no within "
                f"{self.timeout:g} s ({vote.standing()})"
            )
        )

    def cast(self, session: Session, room: Room, yes: bool) -> None:
        """Under the room's lock: ``/vote yes`` or ``/vote no``."""
        vote = self.running(room)
        if vote is None:
            session.send(Error("no_vote", f"no vote is under way here; {USAGE}"))
            return
        if session.user not in vote.electorate:
            session.send(Error("not_allowed", "only those who were here when the vote started vote"))
            return
        if session.user in vote.yes or session.user in vote.no:
            session.send(Notice(f"You voted already ({vote.standing()})"))
            return
        (vote.yes if yes else vote.no).add(session.user)
        if len(vote.yes) >= vote.needed:
            self._end(vote, passed=True)
        elif vote.lost():
            self._end(vote, passed=False, why="too many against")
        else:
            room.broadcast(Notice(f"Vote to kick {vote.nick}: {vote.standing()}"))

    def _end(self, vote: Vote, *, passed: bool, why: str = "") -> None:
        """Under the vote's room's lock: announce the result; a passed vote kicks."""
        room = vote.room
        with self._lock:
            if self._running.get(room.rights.key) is not vote:
                return
            del self._running[room.rights.key]
        if passed and room.rights.is_operator(vote.target):
            passed, why = False, f"{vote.nick} is an operator now"
        if not passed:
            log.info("room %r: the vote to kick %s failed (%s)", room.name, vote.nick, why)
            room.broadcast(Notice(f"The vote to kick {vote.nick} failed: {why} ({vote.standing()})"))
            return
        log.info("room %r: the room voted to kick %s (%s)", room.name, vote.nick, vote.standing())
        room.broadcast(Notice(f"The room voted to kick {vote.nick} ({vote.standing()})"))
        target = room.members.get(vote.target)
        counted = f"{len(vote.yes)} of {len(vote.electorate)}"
        if target is not None:
            kick_out(
                room,
                target,
                f"kicked by a vote of the room ({counted})",
                f"the room voted to kick you ({counted})",
            )
            return
        # gone meanwhile: kept out all the same, as a kick would (an account's id; a guest's address too)
        guest = (
            "" if self.accounts.is_account(vote.target) else room.rights.known.get(vote.target, ("", ""))[1]
        )
        self.bans.kicked(room, vote.target, guest)

    def tick(self, now: float) -> None:
        """The heartbeat: votes past their time fail; cooldowns that ended are forgotten."""
        with self._lock:
            due = [v for v in self._running.values() if v.ends <= now]
            for key in [k for k, t in self._started.items() if t + self.cooldown <= now]:
                del self._started[key]
        for vote in due:
            with vote.room.lock:
                self._end(vote, passed=False, why="time is up")


def _in_room(fn: Handler) -> Handler:
    @functools.wraps(fn)
    def run(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
        with room.lock:
            if session.room is room:
                fn(cmds, session, room, rest)

    return run


@_in_room
def vote_command(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    votes = session.server.votes
    word, _, nick = rest.partition(" ")
    word, nick = word.lower(), nick.strip()
    if word == "kick" and nick:
        votes.start(session, room, nick)
    elif word in ("yes", "no") and not nick:
        votes.cast(session, room, word == "yes")
    elif not word:
        vote = votes.running(room)
        text = f"Vote to kick {vote.nick}: {vote.standing()}" if vote is not None else "No vote is under way"
        session.send(Notice(text))
    else:
        session.send(Error("bad_command", f"usage: {USAGE}"))


COMMANDS: dict[str, Handler] = {"vote": vote_command}
