"""Rules for nicknames and room names, shared by the server (the authority) and the client's forms.

A nickname is 1-24 characters after trimming spaces at both ends: Unicode letters and digits (any
script: 李雷, Zoë, Алиса), and ``_ - .`` inside; it starts with a letter or digit. Two nicknames are the
same if their case-folded NFKC forms are equal, so "Alice" and "ALICE" cannot share a room.
Room names follow the same rules with up to 32 characters; no room name means DEFAULT_ROOM.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container

MAX_NICK = 24
MAX_ROOM = 32
DEFAULT_ROOM = "lobby"
MAX_MARKS = 3  # combining marks in a row: enough for any script's letters, too few for "zalgo" text
_INNER = frozenset("_-.")


class NameError_(ValueError):
    """A name that breaks the rules. ``reason`` is one of protocol.JOIN_ERRORS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _ok_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LNM" or ch in _INNER


def _longest_mark_run(name: str) -> int:
    longest = run = 0
    for ch in name:
        run = run + 1 if unicodedata.category(ch)[0] == "M" else 0
        longest = max(longest, run)
    return longest


def _check(name: str, what: str, max_len: int) -> str:
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise NameError_("empty", f"the {what} is empty")
    if len(name) > max_len:
        raise NameError_("too_long", f"a {what} has at most {max_len} characters")
    if not all(_ok_char(ch) for ch in name) or unicodedata.category(name[0])[0] not in "LN":
        raise NameError_(
            "invalid",
            f"a {what} is letters and digits (any script) with _ - . inside, starting with a letter or digit",
        )
    if _longest_mark_run(name) > MAX_MARKS:
        raise NameError_("invalid", f"a {what} may not stack more than {MAX_MARKS} accents on one letter")
    return name


def check_nick(nick: str) -> str:
    """The nickname as it will be shown (trimmed, NFC), or NameError_."""
    return _check(nick, "nickname", MAX_NICK)


def check_room(room: str) -> str:
    return _check(room, "room name", MAX_ROOM) if room.strip() else DEFAULT_ROOM


def fold(name: str) -> str:
    """The key two names are compared by: 'Alice' and 'ALICE' fold alike."""
    return unicodedata.normalize("NFKC", name).casefold()


def suggest(nick: str, taken: Container[str]) -> str:
    """A free variant of ``nick`` (alice -> alice2, alice3, ...); ``taken`` holds folded names."""
    base = nick.rstrip("0123456789") or nick
    n = 2
    while True:
        tail = str(n)
        candidate = base[: MAX_NICK - len(tail)] + tail
        if fold(candidate) not in taken:
            return candidate
        n += 1
