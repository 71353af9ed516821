"""The store's accounts, room passwords, offline mail (server/accounts.py, server/room_passwords.py), the
terms of bans and kick holds (server/bans.py) and friend lists (server/friends.py): the one small
interface a cluster process overrides to share them through Redis instead (server/cluster/shared.py,
roomlog.py). ``Store`` mixes it in; each call is one statement (its own transaction).
"""

from __future__ import annotations

import sqlite3
import threading

# Accounts, room passwords and offline private messages (server/accounts.py, server/room_passwords.py).
# Nicks and rooms are keyed by their folded form (names.fold); hashes are passwords.hash_password's.
ACCOUNTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    folded TEXT PRIMARY KEY,
    nick TEXT NOT NULL,          -- as registered (trimmed, NFC)
    user TEXT NOT NULL UNIQUE,   -- the account's author id, stable across machines
    hash TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS room_passwords (
    room TEXT PRIMARY KEY,
    hash TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS mail (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,     -- the folded nick of an account
    line TEXT NOT NULL,          -- the chat frame's JSON payload, as it will be delivered
    delivered INTEGER NOT NULL DEFAULT 0  -- sent to a connection, not acknowledged (mail_ack) yet
);
CREATE INDEX IF NOT EXISTS mail_by_recipient ON mail (recipient, id);
CREATE TABLE IF NOT EXISTS ban_terms (
    room TEXT NOT NULL,
    user TEXT NOT NULL,
    until REAL NOT NULL,         -- wall-clock seconds when the ban ends; 0: until /unban
    hold TEXT NOT NULL,          -- a guest's address held against new guests ('' none)
    hold_until REAL NOT NULL,    -- wall-clock seconds when the hold ends
    PRIMARY KEY (room, user)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS friends (  -- server/friends.py
    owner TEXT NOT NULL,         -- the folded nick of the account whose list it is
    friend TEXT NOT NULL,        -- the folded nick of the friend's account
    PRIMARY KEY (owner, friend)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS friends_of ON friends (friend, owner);
"""

BanTerm = tuple[float, str, float]  # (until, held address, hold until): see server/bans.py Term


class AccountRows:
    """Accounts, room passwords and mailboxes in the store's SQLite file (mixed into ``Store``)."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    def _open_accounts(self) -> None:
        self._db.executescript(ACCOUNTS_SCHEMA)
        self._mail_delivered_column()

    def ban_terms(self, key: str) -> dict[str, BanTerm]:
        """user -> the term of their ban in room ``key`` (its folded name)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user, until, hold, hold_until FROM ban_terms WHERE room = ?", (key,)
            ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def set_ban_term(self, key: str, user: str, term: BanTerm | None) -> None:
        """``term`` None: the ban was lifted (or ended, its hold too)."""
        with self._lock:
            if term is None:
                self._db.execute("DELETE FROM ban_terms WHERE room = ? AND user = ?", (key, user))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO ban_terms (room, user, until, hold, hold_until) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (key, user, *term),
                )

    def kick_holds(self, key: str) -> dict[str, tuple[float, str]]:
        """user -> (until, guest address) of kicks in room ``key`` kept by the store: none here (one
        process keeps them in memory, server/bans.py; a cluster's room keeps them as it moves)."""
        return {}

    def set_kick_hold(self, key: str, user: str, until: float, address: str) -> None:
        """A kick just made: nothing to write for one process (see kick_holds)."""

    def friends_of(self, owner: str) -> list[str]:
        with self._lock:
            return [r[0] for r in self._db.execute("SELECT friend FROM friends WHERE owner = ?", (owner,))]

    def mutual_friends(self, folded: str) -> list[str]:
        """The accounts ``folded`` has as friends that have it as a friend too."""
        with self._lock:
            rows = self._db.execute(
                "SELECT a.owner FROM friends a JOIN friends b ON b.owner = a.friend AND b.friend = a.owner "
                "WHERE a.friend = ?",
                (folded,),
            )
            return [r[0] for r in rows]

    def has_friend(self, owner: str, friend: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM friends WHERE owner = ? AND friend = ?", (owner, friend)
            ).fetchone()
        return row is not None

    def add_friend(self, owner: str, friend: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO friends (owner, friend) VALUES (?, ?)", (owner, friend))

    def remove_friend(self, owner: str, friend: str) -> bool:
        """False when ``friend`` was not on the list."""
        with self._lock:
            cur = self._db.execute("DELETE FROM friends WHERE owner = ? AND friend = ?", (owner, friend))
        return cur.rowcount > 0

    def new_accounts(self) -> list[tuple[str, str, str]]:
        """(folded, nick, user) of accounts made elsewhere since the names were read: none for one
        process (Accounts indexes its own sign-ups); a cluster reads the other processes' (shared.py)."""
        return []

    def account_names(self) -> list[tuple[str, str, str]]:
        """(folded, nick, user) of every account: the look-alike index is built from them."""
        with self._lock:
            rows = self._db.execute("SELECT folded, nick, user FROM accounts").fetchall()
        return [(r[0], r[1], r[2]) for r in rows]

    def account(self, folded: str) -> tuple[str, str, str] | None:
        """(nick, user, hash) of the account registered under ``folded``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT nick, user, hash FROM accounts WHERE folded = ?", (folded,)
            ).fetchone()
        return (row[0], row[1], row[2]) if row is not None else None

    def create_account(self, folded: str, nick: str, user: str, hashed: str) -> bool:
        """False when the name (or, astronomically unlikely, the id) is taken."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO accounts (folded, nick, user, hash) VALUES (?, ?, ?, ?)",
                    (folded, nick, user, hashed),
                )
            except sqlite3.IntegrityError:
                return False
        return True

    def set_account_hash(self, folded: str, hashed: str) -> None:
        with self._lock:
            self._db.execute("UPDATE accounts SET hash = ? WHERE folded = ?", (hashed, folded))

    def room_password(self, room: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT hash FROM room_passwords WHERE room = ?", (room,)).fetchone()
        return row[0] if row is not None else None

    def set_room_password(self, room: str, hashed: str | None) -> None:
        """``hashed`` None removes the room's password."""
        with self._lock:
            if hashed is None:
                self._db.execute("DELETE FROM room_passwords WHERE room = ?", (room,))
            else:
                self._db.execute(
                    "INSERT OR REPLACE INTO room_passwords (room, hash) VALUES (?, ?)", (room, hashed)
                )

    def add_mail(self, recipient: str, line: str, limit: int) -> bool:
        """Keep ``line`` for ``recipient`` unless their mailbox holds ``limit`` lines already."""
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO mail (recipient, line) SELECT ?, ? "
                "WHERE (SELECT COUNT(*) FROM mail WHERE recipient = ?) < ?",
                (recipient, line, recipient, limit),
            )
        return cur.rowcount == 1

    def _mail_delivered_column(self) -> None:
        """A database from before mail_ack has no ``delivered`` column: add it (every line unsent)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(mail)")}
        if "delivered" not in columns:
            self._db.execute("ALTER TABLE mail ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0")

    def deliver_mail(self, recipient: str) -> list[tuple[int, str, bool]]:
        """Every line kept for ``recipient``, oldest first: (id, line, sent before), now marked sent.
        Nothing is removed here: only :meth:`ack_mail` removes, once the client has the lines."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, line, delivered FROM mail WHERE recipient = ? ORDER BY id", (recipient,)
            ).fetchall()
            if rows:
                self._db.execute(
                    "UPDATE mail SET delivered = 1 WHERE recipient = ? AND id <= ?", (recipient, rows[-1][0])
                )
        return [(mail_id, line, bool(sent)) for mail_id, line, sent in rows]

    def ack_mail(self, recipient: str, upto: int) -> int:
        """The client has every line sent to it up to id ``upto``: forget them; how many went."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM mail WHERE recipient = ? AND id <= ? AND delivered = 1", (recipient, upto)
            )
        return cur.rowcount
