"""Chat commands about who may do what: edit grants for everyone, moderation for operators.

``/allow NICK`` and ``/deny NICK`` grant and take back the right to edit your drawings. Operators
(the room's creator, and whom an operator made one) may ``/op`` and ``/deop``, ``/kick`` (out for
``kick_hold``), ``/ban`` (by account, optionally by address, optionally for a time: server/bans.py)
and ``/unban``, ``/lock`` and ``/unlock`` the board, and
``/purge`` everything one user drew (for good: pgboard/history.py). Every command runs under the
room's lock; every change is stored before it takes effect, and members whose rights changed get a
fresh ``room_state``; undo and redo check today's rights (pgboard/board_undo.py).
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from pgboard_server.bans import BadDuration, describe, parse_duration
from pgboard_server.rights import address_of

from pgboard import names
from pgboard.protocol import Error, Notice

if TYPE_CHECKING:
    from pgboard_server.chat import ChatCommands
    from pgboard_server.room import Room
    from pgboard_server.session import Session

log = logging.getLogger(__name__)

MAX_REASON = 200  # characters of a /kick reason that are kept
BY_ADDRESS = ("ip", "address", "addr")  # the word after /ban NICK that bans the address too
BAN_USAGE = "/ban NICK [ip] [15m|2h|7d], /ban alone lists the bans"

Handler = Callable[["ChatCommands", "Session", "Room", str], None]

HELP = (
    ("/allow NICK", "let NICK move and erase your drawings (/deny NICK takes it back)"),
    ("/op NICK, /deop NICK", "(operators) make NICK an operator, or no longer one"),
    ("/kick NICK [REASON]", "(operators) send NICK out of the room"),
    ("/ban [NICK [ip] [15m]], /unban NICK", "(operators) keep NICK (and their address) out; /ban lists bans"),
    ("/lock, /unlock", "(operators) only operators draw while the board is locked"),
    ("/purge NICK", "(operators) erase everything NICK drew, for good: no undo brings any of it back"),
)


def locked_room(fn: Handler) -> Handler:
    """Run under the room's lock; a store that fails to save is reported, not a server error."""

    @functools.wraps(fn)
    def run(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
        with room.lock:
            if session.room is not room:
                return
            try:
                fn(cmds, session, room, rest)
            except sqlite3.Error as exc:
                room.store.health.failed(f"a change of rights in room {room.name!r}", exc)
                session.send(Error("store_failed", "the server could not save this; try again"))

    return run


def operator_only(word: str) -> Callable[[Handler], Handler]:
    def wrap(fn: Handler) -> Handler:
        @functools.wraps(fn)
        def run(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
            if not room.rights.is_operator(session.user):
                session.send(Error("not_operator", f"only an operator of {room.name} may /{word}"))
                return
            fn(cmds, session, room, rest)

        return run

    return wrap


def target_of(session: Session, room: Room, nick: str, usage: str) -> tuple[str, str] | None:
    """(author id, nick) of a member, or of whoever was last here as ``nick``; errors are sent."""
    if not nick:
        session.send(Error("bad_command", f"usage: {usage}"))
        return None
    member = room.find(nick)
    if member is not None:
        return member.user, member.nick
    user = room.rights.author_of(nick)
    if not user:
        session.send(Error("no_such_user", f"nobody called {nick[:40]!r} was ever in this room"))
        return None
    return user, room.rights.nick_of(user)


def not_self(session: Session, user: str, what: str) -> bool:
    if user == session.user:
        session.send(Error("bad_command", f"you cannot {what} yourself"))
        return False
    return True


def not_operator(session: Session, room: Room, user: str, nick: str, what: str) -> bool:
    if room.rights.is_operator(user):
        session.send(Error("not_allowed", f"{nick} is an operator: /deop {nick} before you {what} them"))
        return False
    return True


# -- everyone


@locked_room
def allow(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    _grant(session, room, rest, True)


@locked_room
def deny(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    _grant(session, room, rest, False)


def _grant(session: Session, room: Room, rest: str, on: bool) -> None:
    word = "allow" if on else "deny"
    found = target_of(session, room, rest, f"/{word} NICK")
    if found is None:
        return
    user, nick = found
    if user == session.user:
        session.send(Error("bad_command", "you always edit your own drawings"))
        return
    granted = user in room.rights.grants.get(session.user, ())
    if granted == on:
        session.send(Notice(f"{nick} {'may already' if on else 'already may not'} edit your drawings"))
        return
    room.rights.set_grant(session.user, user, on)
    if on:
        session.send(Notice(f"{nick} may now move and erase your drawings; /deny {nick} takes it back"))
    else:
        session.send(Notice(f"{nick} may no longer edit your drawings"))
    target = room.members.get(user)
    if target is not None:
        what = "allowed you to edit their drawings" if on else "no longer lets you edit their drawings"
        target.send(Notice(f"{session.nick} {what}"))
    room.send_state((session.user, user))


# -- operators


@locked_room
@operator_only("op")
def op(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    found = target_of(session, room, rest, "/op NICK")
    if found is None:
        return
    user, nick = found
    if room.rights.is_operator(user):
        session.send(Notice(f"{nick} is already an operator"))
        return
    room.rights.set_operator(user, True)
    room.broadcast(Notice(f"{session.nick} made {nick} an operator"))
    room.send_state()


@locked_room
@operator_only("deop")
def deop(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    found = target_of(session, room, rest, "/deop NICK")
    if found is None:
        return
    user, nick = found
    if not room.rights.is_operator(user):
        session.send(Notice(f"{nick} is not an operator"))
        return
    if room.rights.operators == {user}:
        session.send(Error("not_allowed", f"{nick} is the last operator: /op someone else first"))
        return
    room.rights.set_operator(user, False)
    room.broadcast(Notice(f"{session.nick} made {nick} no longer an operator"))
    room.send_state()


@locked_room
@operator_only("kick")
def kick(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    nick, _, reason = rest.partition(" ")
    reason = " ".join(reason.split())[:MAX_REASON]
    if not nick:
        session.send(Error("bad_command", "usage: /kick NICK [REASON]"))
        return
    target = room.find(nick)
    if target is None:
        session.send(Error("no_such_user", f"nobody called {nick[:40]!r} is in this room"))
        return
    if not not_self(session, target.user, "kick") or not not_operator(
        session, room, target.user, target.nick, "kick"
    ):
        return
    why = f": {reason}" if reason else ""
    log.info("room %r: %s kicked %s%s", room.name, session.nick, target.nick, why)
    kick_out(room, target, f"kicked by {session.nick}{why}", f"{session.nick} kicked you{why}")


def kick_out(room: Room, target: Session, reason: str, detail: str) -> None:
    """Under the room's lock: ``target`` leaves (the room sees ``reason``), told ``detail`` (error
    kicked, fatal), and stays out for KICK_HOLD, as do new guests from a kicked guest's address.
    /kick and a passed /vote kick (server/votes.py) both end here."""
    server = target.server
    guest = "" if server.accounts.account_of(target) else address_of(target.peer)
    server.bans.kicked(room, target.user, guest)  # out for KICK_HOLD, and new guests from a guest's address
    target.close(reason, Error("kicked", detail, fatal=True))


@locked_room
@operator_only("ban")
def ban(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    bans = session.server.bans
    words = rest.split()
    if not words:
        session.send(Notice(_listing(session, room)))
        return
    seconds: int | None = None
    if len(words) >= 2 and words[-1].lower() not in BY_ADDRESS:
        try:
            seconds = parse_duration(words.pop(), bans.max_ban)
        except BadDuration as exc:
            session.send(Error("bad_command", f"{exc} (usage: {BAN_USAGE})"))
            return
    if len(words) > 2 or (len(words) == 2 and words[1].lower() not in BY_ADDRESS):
        session.send(Error("bad_command", f"usage: {BAN_USAGE}"))
        return
    found = target_of(session, room, words[0], BAN_USAGE)
    if found is None:
        return
    user, nick = found
    if not not_self(session, user, "ban") or not not_operator(session, room, user, nick, "ban"):
        return
    member = room.members.get(user)
    last = address_of(member.peer) if member is not None else room.rights.known.get(user, ("", ""))[1]
    address = last if len(words) == 2 else ""
    guest = not session.server.accounts.is_account(user)  # a guest's id is only its client's secret
    room.rights.ban(user, nick, address)
    bans.banned(room, user, seconds, last if guest and not address else "")
    log.info("room %r: %s banned %s (%s) %s for %s", room.name, session.nick, nick, user, address, seconds)
    span = f" for {describe(seconds)}" if seconds else ""
    room.broadcast(Notice(f"{session.nick} banned {nick}{span}" + (" and their address" if address else "")))
    bye = Error("banned", f"{session.nick} banned you from this room{span}", fatal=True)
    for member in list(room.members.values()):
        if room.rights.banned(member.user, address_of(member.peer)):
            member.close(f"banned by {session.nick}", bye)


def _listing(session: Session, room: Room) -> str:
    """``/ban`` alone: who is banned, with the time left of timed bans."""
    bans = session.server.bans
    shown = []
    for user, (nick, address) in room.rights.bans.items():
        left = bans.left(room, user)
        if left == 0.0:
            continue  # a timed ban that is over (lifted at the next join)
        shown.append(
            nick + (f" (and {address})" if address else "") + (f" ({describe(left)} left)" if left else "")
        )
    shown.sort()
    return f"Banned from {room.name}: {', '.join(shown)}" if shown else "Nobody is banned"


@locked_room
@operator_only("unban")
def unban(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    if not rest:
        session.send(Error("bad_command", "usage: /unban NICK"))
        return
    key = names.fold(rest.strip())
    user = next((u for u, (n, _) in room.rights.bans.items() if names.fold(n) == key), "")
    user = user or room.rights.author_of(rest)
    if user not in room.rights.bans:
        session.send(Error("no_such_user", f"nobody called {rest[:40]!r} is banned here"))
        return
    nick = room.rights.bans[user][0]
    room.rights.unban(user)
    session.server.bans.lifted(room, user)
    room.broadcast(Notice(f"{session.nick} lifted the ban on {nick}"))


@locked_room
@operator_only("lock")
def lock(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    _set_lock(session, room, True)


@locked_room
@operator_only("unlock")
def unlock(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    _set_lock(session, room, False)


def _set_lock(session: Session, room: Room, on: bool) -> None:
    if room.rights.locked == on:
        session.send(Notice(f"The board is already {'locked' if on else 'unlocked'}"))
        return
    room.rights.set_locked(on)
    if on:
        room.broadcast(Notice(f"{session.nick} locked the board: only operators draw until it is unlocked"))
    else:
        room.broadcast(Notice(f"{session.nick} unlocked the board: everyone draws again"))
    room.send_state()


@locked_room
@operator_only("purge")
def purge(cmds: ChatCommands, session: Session, room: Room, rest: str) -> None:
    found = target_of(session, room, rest, "/purge NICK")
    if found is None:
        return
    user, nick = found
    count = room.purge(session, user)
    if count:
        s = "s" if count != 1 else ""
        room.broadcast(Notice(f"{session.nick} erased everything {nick} drew ({count} object{s})"))
    elif not any(o.author == user for o in room.board.objects.values()):
        session.send(Notice(f"Nothing {nick} drew is on the board"))


COMMANDS: dict[str, Handler] = {
    "allow": allow,
    "deny": deny,
    "op": op,
    "deop": deop,
    "kick": kick,
    "ban": ban,
    "unban": unban,
    "lock": lock,
    "unlock": unlock,
    "purge": purge,
}
