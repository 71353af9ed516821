"""Accounts: sign-up, log-in and password change, registered nicknames and offline private messages.

Only on a server started with accounts (``BoardServer(accounts=True)``, ``pgboard-server --accounts``);
otherwise every account message gets ``account_error no_accounts`` and everybody is a guest.

- ``signup``, ``login`` (before ``join``) and ``passwd`` are answered by ``account`` or
  ``account_error``. A logged-in connection joins under its account's nickname and author id (a random
  id stored with the account: the same on every machine); a guest's id stays sha256 of its secret.
- A registered nickname cannot be used by anyone but its account (``join_error registered``; ``/nick``
  gets ``nick_taken``), nor can a look-alike of it (TR39 skeletons, server/confusables.py:
  ``join_error confusable``). Registered names are indexed by skeleton in memory (loaded once).
- Sign-up refuses a nickname that a guest uses in a room now, or a look-alike of one
  (``account_error in_use``): a guest keeps its name for as long as it is in a room (its reconnects
  included, while its old connection is still a member); once it has left, the name is free to register.
- Answers that tell whether a name is registered (a guest's join, ``/nick``, ``/msg`` to someone not
  in the room) are paced per address (``name_lookup_rate``), whatever the answer, so they cannot be
  used to list the accounts.
- Failed logins are limited per (account, address) and per address (``login_failures`` within
  ``login_window`` seconds, on the server's injectable clock); past it the answer is
  ``too_many_attempts`` with ``retry``, and the password is not even checked. Never per account
  alone: a correct password from an address that has not failed is never refused.
- ``/msg`` to a registered nickname that is not in the room reaches its account where it is joined,
  or else is kept in the store (at most ``mailbox_limit`` lines) and delivered, oldest first, right
  after its next join, marked ``away`` and with its ``mail`` id. A line leaves the store only when the
  client acknowledges it (``mail_ack {upto}``): a connection that drops before that gets every line
  again at the next login, marked ``again``. Nothing is lost between the store and the screen.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pgboard_server import confusables, lockorder
from pgboard_server.pacing import AddressPacer
from pgboard_server.passwords import (
    FailureLimiter,
    ScryptCost,
    hash_password,
    needs_rehash,
    verify_password,
)
from pgboard_server.rights import address_of

from pgboard import names
from pgboard.protocol import (
    AccountError,
    AccountOk,
    Chat,
    Error,
    JoinError,
    Login,
    MailAck,
    Message,
    Notice,
    Passwd,
    ProtocolError,
    Signup,
    decode_frame,
    encode,
    payload_of,
)

if TYPE_CHECKING:
    from pgboard_server.limits import Limits
    from pgboard_server.session import Session
    from pgboard_server.store import Store

log = logging.getLogger(__name__)

ACCOUNT_ID_BYTES = 8  # random bytes of an account's author id (16 hex digits, like a guest's)


@dataclass(frozen=True)
class Account:
    folded: str  # names.fold(nick): the key
    nick: str
    user: str  # the author id


class Accounts:
    def __init__(self, store: Store, limits: Limits, clock: Callable[[], float]) -> None:
        self.store = store
        self.enabled = limits.accounts
        self.min_password = limits.min_password
        self.mailbox_limit = limits.mailbox_limit
        self.cost = ScryptCost(limits.scrypt_n, limits.scrypt_r, limits.scrypt_p)
        self.logins = FailureLimiter(limits.login_failures, limits.login_window, clock)
        self.signups = AddressPacer(limits.signup_rate, limits.signup_burst, clock)  # accounts are kept
        # each login is one scrypt: paced per address like room-password checks (server/pacing.py)
        self.checks = AddressPacer(limits.password_check_rate, limits.password_check_burst, clock)
        self._lock = lockorder.lock("accounts")
        self._sessions: dict[Session, Account] = {}  # logged-in connections
        self._dummy_hash = ""  # checked against when there is no such account, so timing tells nothing
        # answers that tell whether a nickname is registered are paced per address (enumeration)
        self.lookups = AddressPacer(limits.name_lookup_rate, limits.name_lookup_burst, clock)
        self._by_key: dict[str, Account] | None = None  # TR39 key -> account (see confusables.keys)
        self._ids: set[str] = set()  # the accounts' author ids
        # cluster mode: (folded, payload, keep) -> True when a process the account is on took the line
        self.remote: Callable[[str, str, bool], bool] | None = None
        confusables.table()  # read the data now, not during someone's join

    # -- the index of registered names by skeleton

    def _index(self) -> dict[str, Account]:
        with self._lock:
            built = self._by_key
        if built is not None:
            try:  # a cluster's other processes may have made accounts since (server/cluster/shared.py)
                made = self.store.new_accounts()
            except sqlite3.Error as exc:
                log.warning("accounts made elsewhere not read yet: %s", exc)
                made = []
            with self._lock:
                for folded, nick, user in made:
                    for key in confusables.keys(nick):
                        built.setdefault(key, Account(folded, nick, user))
                    self._ids.add(user)
            return built
        rows = self.store.account_names()  # one read of every account's name, at the first use
        index: dict[str, Account] = {}
        for folded, nick, user in rows:
            for key in confusables.keys(nick):
                index.setdefault(key, Account(folded, nick, user))
        with self._lock:
            if self._by_key is None:
                self._by_key = index
                self._ids = {r[2] for r in rows}
            return self._by_key

    def _indexed(self, account: Account) -> None:
        index = self._index()
        with self._lock:
            for key in confusables.keys(account.nick):
                index.setdefault(key, account)
            self._ids.add(account.user)

    def look_alike(self, nick: str) -> Account | None:
        """The account whose nickname ``nick`` is or looks like (TR39), if accounts are on."""
        if not self.enabled:
            return None
        index = self._index()
        return next((index[k] for k in confusables.keys(nick) if k in index), None)

    def is_account(self, user: str) -> bool:
        """Whether the author id ``user`` is an account's (else a guest's)."""
        if not self.enabled:
            return False
        self._index()
        with self._lock:
            return user in self._ids

    def paced(self, session: Session) -> int:
        """0, or the seconds ``session``'s address waits before its next registered-or-not answer."""
        if not self.enabled:
            return 0
        return self.lookups.admit(address_of(session.peer))

    def nick_refusal(self, session: Session, nick: str) -> Error | None:
        """``/nick``: None, or the error (nick_taken for a registered name or a look-alike of one;
        rate_limited when the address asked too many names)."""
        if not self.enabled:
            return None
        wait = self.paced(session)
        if wait:
            detail = f"too many nicknames tried from your address; try again in {wait} s"
            return Error("rate_limited", detail, retry=wait)
        owner = self.look_alike(nick)
        if owner is None or self.may_use(session, owner.nick):
            return None
        if names.fold(owner.nick) == names.fold(nick):
            return Error("nick_taken", f"{nick!r} is a registered name; log in to use it")
        return Error("nick_taken", f"{nick!r} looks like the registered name {owner.nick!r}; pick another")

    def name_refusal(self, session: Session, nick: str, *, known: bool) -> JoinError | None:
        """A guest's join as ``nick``: None, or the join_error (registered, confusable, paced). A guest
        coming back under the name it had in the room (``known``) learns nothing new: not paced."""
        if not self.enabled:
            return None
        wait = 0 if known else self.paced(session)
        if wait:
            detail = f"too many nicknames tried from your address; try again in {wait} s"
            return JoinError("too_many_attempts", detail, retry=wait)
        owner = self.look_alike(nick)
        if owner is None or self.may_use(session, owner.nick):
            return None
        if names.fold(owner.nick) == names.fold(nick):
            return JoinError("registered", f"{nick!r} is a registered name: log in to use it")
        detail = f"{nick!r} looks like the registered name {owner.nick!r}: pick another"
        return JoinError("confusable", detail)

    # -- who is who

    def account_of(self, session: Session) -> Account | None:
        with self._lock:
            return self._sessions.get(session)

    def registered(self, nick: str) -> Account | None:
        """The account that owns ``nick`` (compared like nicknames), if accounts are on."""
        if not self.enabled:
            return None
        folded = names.fold(nick.strip())
        row = self.store.account(folded)
        return Account(folded, row[0], row[1]) if row is not None else None

    def may_use(self, session: Session, nick: str) -> bool:
        """Whether ``session`` may call itself ``nick``: a registered name only by its account."""
        owner = self.registered(nick)
        if owner is None:
            return True
        mine = self.account_of(session)
        return mine is not None and mine.folded == owner.folded

    def online(self, folded: str) -> list[Session]:
        """Joined connections logged in as the account ``folded``."""
        with self._lock:
            return [s for s, a in self._sessions.items() if a.folded == folded and s.joined]

    def forget(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session, None)

    # -- signup, login, passwd

    def handle(self, session: Session, msg: Message) -> None:
        action = msg.TYPE
        if not self.enabled:
            session.send(AccountError(action, "no_accounts", "this server has no accounts: join as a guest"))
            return
        if session.joined and action != "passwd":
            session.send(AccountError(action, "already_joined", "sign up or log in before joining a room"))
            return
        if isinstance(msg, Signup):
            self._signup(session, msg)
        elif isinstance(msg, (Login, Passwd)):
            self._login(session, msg)

    def _checked_nick(self, session: Session, action: str, nick: str) -> str | None:
        try:
            return names.check_nick(nick)
        except names.NameError_ as exc:
            session.send(AccountError(action, exc.reason, exc.detail))
            return None

    def _strong_enough(self, session: Session, action: str, password: str) -> bool:
        if len(password) >= self.min_password:
            return True
        detail = f"a password has at least {self.min_password} characters"
        session.send(AccountError(action, "weak_password", detail))
        return False

    def _signup(self, session: Session, msg: Signup) -> None:
        nick = self._checked_nick(session, "signup", msg.nick)
        if nick is None or not self._strong_enough(session, "signup", msg.password):
            return
        wait = self.signups.admit(address_of(session.peer))
        if wait:
            detail = f"too many sign-ups from your address; try again in {wait} s"
            session.send(AccountError("signup", "too_many_attempts", detail, wait))
            return
        refused = self._clash(session, nick)
        if refused is not None:
            session.send(refused)
            return
        account = Account(names.fold(nick), nick, secrets.token_hex(ACCOUNT_ID_BYTES))
        hashed = hash_password(msg.password, self.cost)
        try:
            created = self.store.create_account(account.folded, account.nick, account.user, hashed)
        except sqlite3.Error as exc:
            self.store.health.failed(f"the account {nick!r}", exc)
            session.send(Error("store_failed", "the server could not save your account; try again"))
            return
        if not created:
            session.send(AccountError("signup", "registered", f"{nick!r} is registered already: log in"))
            return
        self._indexed(account)
        log.info("%r signed up as %s (%s)", session, nick, account.user)
        self._logged_in(session, account, "signup")

    def _clash(self, session: Session, nick: str) -> AccountError | None:
        """Sign-up: the name shows nothing, or it (or a look-alike) is an account's or a present guest's."""
        if confusables.invisible(nick):
            return AccountError("signup", "invalid", confusables.INVISIBLE)
        owner = self.look_alike(nick)
        if owner is not None and names.fold(owner.nick) != names.fold(nick):
            detail = f"{nick!r} looks like the registered name {owner.nick!r}: pick another"
            return AccountError("signup", "confusable", detail)
        if owner is not None:
            return None  # the same name: create_account answers registered
        wanted = confusables.keys(nick)
        for room in session.server.rooms.all():  # paced per address (SIGNUP_RATE): a scan is fine
            with room.lock:
                present = [s.nick for s in room.members.values()]
            for other in present:
                if not wanted.isdisjoint(confusables.keys(other)):
                    detail = f"{nick!r} is in use in a room now (as {other!r}): pick another, or wait"
                    return AccountError("signup", "in_use", detail)
        return None

    def _login(self, session: Session, msg: Login | Passwd) -> None:
        action = msg.TYPE
        nick = self._checked_nick(session, action, msg.nick)
        if nick is None:
            return
        if isinstance(msg, Passwd) and not self._strong_enough(session, action, msg.new):
            return
        folded = names.fold(nick)
        # per (account, address) and per address, never per account alone: failures from one address
        # must not lock the owner out from theirs (issue 11)
        address = address_of(session.peer)
        keys = (f"account:{folded}@{address}", f"address:{address}")
        wait = self.logins.retry_after(*keys)
        if wait:
            detail = f"too many failed attempts; try again in {wait} s"
            session.send(AccountError(action, "too_many_attempts", detail, wait))
            return
        wait = self.checks.admit(address)
        if wait:
            detail = f"too many password checks from your address; try again in {wait} s"
            session.send(AccountError(action, "too_many_attempts", detail, wait))
            return
        row = self.store.account(folded)
        if row is None:
            verify_password(msg.password, self._dummy())  # the same work as a wrong password
            good = False
        else:
            good = verify_password(msg.password, row[2])
        if not good:
            self.logins.failed(*keys)
            log.info("%r: failed %s as %r", session, action, nick)
            session.send(AccountError(action, "bad_login", "wrong nickname or password"))
            return
        self.logins.succeeded(keys[0])
        assert row is not None
        account = Account(folded, row[0], row[1])
        new = msg.new if isinstance(msg, Passwd) else None
        if new is not None or needs_rehash(row[2], self.cost):
            try:
                self.store.set_account_hash(folded, hash_password(new or msg.password, self.cost))
            except sqlite3.Error as exc:
                self.store.health.failed(f"the password of {nick!r}", exc)
                if new is not None:
                    session.send(Error("store_failed", "the server could not save your password; try again"))
                    return
        if session.joined:  # passwd from inside a room changes the password, not who you are
            session.send(AccountOk(action, account.nick, account.user))
            return
        self._logged_in(session, account, action)

    def _logged_in(self, session: Session, account: Account, action: str) -> None:
        with self._lock:
            self._sessions[session] = account
        session.send(AccountOk(action, account.nick, account.user))

    def _dummy(self) -> str:
        if not self._dummy_hash:
            self._dummy_hash = hash_password(secrets.token_hex(8), self.cost)
        return self._dummy_hash

    # -- offline private messages

    def send_private(self, session: Session, nick: str, text: str, now: int, *, paced: bool = True) -> bool:
        """``/msg`` to someone not in the sender's room: to the account wherever it is joined, or into
        its mailbox. False when ``nick`` is no account (the caller says no_such_user). Not ``paced``
        for a friend (server/friends.py): the sender knows they are an account."""
        wait = self.paced(session) if paced else 0  # registered or not: the answer tells, so it is paced
        if wait:
            detail = f"too many names looked up from your address; try again in {wait} s"
            session.send(Error("rate_limited", detail, retry=wait))
            return True
        owner = self.registered(nick)
        if owner is None:
            return False
        where = self.online(owner.folded)
        line = Chat("private", session.user, session.nick, text, to=owner.nick, time=now, away=not where)
        if where:
            for s in where:
                s.send(line)
            if session not in where:
                session.send(line)
            if self.remote is not None:  # and its devices on other processes of the cluster, if any
                self.remote(owner.folded, payload_of(encode(line)), False)  # delivered here: not kept
            return True
        if self.remote is not None:  # joined on another process of the cluster: sent there
            sent = encode(dataclasses.replace(line, away=False))
            if self.remote(owner.folded, payload_of(sent), True):
                session.send_frame(sent)
                return True
        frame = encode(line)
        kept_line = payload_of(frame)
        try:
            kept = self.store.add_mail(owner.folded, kept_line, self.mailbox_limit)
        except sqlite3.Error as exc:
            self.store.health.failed(f"a message for {owner.nick!r}", exc)
            session.send(Error("store_failed", "the server could not keep your message; try again"))
            return True
        if not kept:
            detail = f"{owner.nick} is away and has {self.mailbox_limit} messages waiting already"
            session.send(Error("mailbox_full", detail))
            return True
        session.send_frame(frame)
        session.send(Notice(f"{owner.nick} is away: they get your message when they next log in"))
        return True

    def deliver_mail(self, session: Session) -> int:
        """After a logged-in join: the lines kept for this account, oldest first, each with its
        ``mail`` id (and ``again`` when sent before); they stay kept until the client's mail_ack."""
        account = self.account_of(session)
        if account is None or not session.joined or session.closing:
            return 0  # a connection already closing keeps the mail for the next one
        try:
            rows = self.store.deliver_mail(account.folded)
        except sqlite3.Error as exc:
            self.store.health.failed(f"the mailbox of {account.nick!r}", exc)
            return 0
        for mail_id, line, again in rows:
            try:
                kept = decode_frame(line.encode("ascii"))
            except (UnicodeEncodeError, ProtocolError) as exc:  # a damaged row: say so, send the rest
                log.error("the mailbox of %r holds a bad line %d: %s", account.nick, mail_id, exc)
                continue
            if isinstance(kept, Chat):
                session.send(dataclasses.replace(kept, mail=mail_id, again=again))
        if rows:
            log.info("%r: delivered %d kept messages", session, len(rows))
        return len(rows)

    def ack_mail(self, session: Session, msg: MailAck) -> None:
        """``mail_ack {upto}``: the client has shown the kept lines up to ``upto``; forget them."""
        account = self.account_of(session)
        if account is None:
            session.send(Error("not_logged_in", "mail_ack is for a logged-in account's kept messages"))
            return
        try:
            gone = self.store.ack_mail(account.folded, msg.upto)
        except sqlite3.Error as exc:  # they stay, and come again at the next login
            log.error("could not forget the delivered messages of %r: %s", account.nick, exc)
            return
        log.info("%r: %d kept messages acknowledged", session, gone)
