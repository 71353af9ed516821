"""The reasons a join or an account request is refused on the wire (moved out of protocol.py,
which re-exports them)."""

from __future__ import annotations

JOIN_ERRORS = (
    "empty",
    "taken",
    "invalid",
    "too_long",
    "bad_password",
    "room_full",
    "banned",
    "too_many_rooms",
    "too_many_rooms_from_address",  # MAX_ROOMS_PER_ADDRESS rooms created from this address are open
    "registered",
    "confusable",  # the nickname is an account's (log in), or looks like a taken one (TR39)
    "too_many_attempts",
    "kicked",  # wrong room passwords, name look-ups; kicked: retry says when
    "damaged",  # the room's rows in the server's store cannot be read: its operator must restore it
)
ACCOUNT_ACTIONS = ("signup", "login", "passwd")
ACCOUNT_ERRORS = (
    "no_accounts",  # this server was started without accounts
    "empty",
    "invalid",
    "too_long",  # the nickname breaks the rules (pgboard/names.py)
    "registered",
    "confusable",
    "in_use",  # sign-up: already an account's; looks like one; a guest's now
    "bad_login",  # no such account, or the wrong password (one answer for both)
    "weak_password",  # the new password is too short
    "too_many_attempts",  # too many failed logins: retry says when to try again
    "already_joined",  # sign-up and log-in come before join
)
