"""The connect screen, drawn inside the pygame window: host, port, nickname, room; Connect or Host.

Guest, Log in or Sign up: with an account, a (masked) password field shows, and in Log in mode a
"Change password" switch adds a field for the new one. The room may have a password (masked too).
Passwords are handed to ``on_connect`` and never saved; the settings remember the nickname and
whether the user logs in.

"Secure (TLS)" above the server field switches TLS on (remembered). A server whose certificate this
computer does not trust is shown with its SHA-256 fingerprint, and Connect becomes "Trust and connect"
(the app pins it for that server); a pinned certificate that changed is said loudly, and trusting the
new one is again the user's explicit click.

Fields take Unicode typing (TEXTINPUT/TEXTEDITING); Tab and Shift+Tab or a click move the focus;
Enter connects. Host starts a local server and joins it (the app does that; this screen only reports
the choice). The fields start from the saved settings and are saved again on every submit. Join
errors come back through ``show_error``: a taken name offers the server's suggestion as a one-click
"Use ..." button that fills it in and connects again.
"""

from __future__ import annotations

from collections.abc import Callable

import pygame

from .. import names, settings
from ..protocol import MAX_NAME_FIELD
from . import connect_draw, connect_message, theme
from .connect_draw import CHANGE_LABEL, LABEL_H, MODES, TLS_LABELS
from .room_picker import RoomPicker
from .text import FontSet
from .textfield import TextField

CARD_W = 440
TOP = 104  # the title and subtitle above the first field
FIELD_GAP = 14
PORT_W = 96
BUTTON_H = 36
MODE_H = 30
MASK = "•"
ROOM_PASSWORD_W = 150
ERROR_MESSAGES = {
    "empty": "Please choose a nickname.",
    "taken": "The nickname “{nick}” is already taken in this room.",
    "invalid": "That name is not allowed: letters and digits (any script), with _ - . inside.",
    "too_long": "That name is too long.",
    "bad_password": "This room needs its password: wrong or missing.",
    "room_full": "This room is full. Try another room.",
    "banned": "You cannot join this room.",
    "too_many_rooms": "This server cannot open another room. Join an existing one.",
    "too_many_rooms_from_address": "Too many rooms were opened from your network. Join an existing one.",
    "unreachable": "Cannot reach {host}:{port}. Is the server running?",
    "registered": "“{nick}” is a registered name: log in to use it, or choose another.",
    "bad_login": "Wrong nickname or password.",
    "weak_password": "That password is too short.",
    "too_many_attempts": "Too many failed attempts: try again in {retry} s.",
    "no_accounts": "This server has no accounts: connect as a guest.",
    "no_password": "Please type your password.",
    "no_new_password": "Please type the new password.",
}
NICK_ERRORS = ("taken", "invalid", "too_long", "empty", "registered", "confusable", "in_use")
PASSWORD_ERRORS = ("bad_login", "weak_password", "no_password")
NO_DETAIL = ("taken", "bad_password", "too_many_attempts", "bad_login", "no_accounts", "registered")


class ConnectScreen:
    def __init__(
        self,
        fonts: FontSet,
        saved: settings.Settings | None = None,
        *,
        save: Callable[[], object] | None = None,  # writes ``saved`` (settings.SettingsFile.save)
        on_connect: Callable[..., None] | None = None,
        on_host: Callable[[str, str], None] | None = None,
        on_trust: Callable[[str], None] | None = None,
    ) -> None:
        self.fonts = fonts
        self.settings = saved if saved is not None else settings.Settings()
        self.save = save
        self.on_connect = on_connect
        self.on_host = on_host
        self.on_trust = on_trust
        s = self.settings
        self.host = TextField(fonts, text=s.host, placeholder="127.0.0.1", max_len=253)
        self.port = TextField(
            fonts, text=str(s.port), placeholder=str(settings.DEFAULT_PORT), max_len=5, accept=str.isdigit
        )
        self.nick = TextField(fonts, text=s.nick, placeholder="Your name", max_len=names.MAX_NICK)
        self.room = TextField(fonts, text=s.room, placeholder=names.DEFAULT_ROOM, max_len=names.MAX_ROOM)
        self.password = TextField(fonts, placeholder="Your password", max_len=MAX_NAME_FIELD, mask=MASK)
        self.new_password = TextField(fonts, placeholder="The new one", max_len=MAX_NAME_FIELD, mask=MASK)
        self.room_password = TextField(fonts, placeholder="If it has one", max_len=MAX_NAME_FIELD, mask=MASK)
        self.labels = {
            self.host: "Server",
            self.port: "Port",
            self.nick: "Nickname",
            self.password: "Password",
            self.new_password: "New password",
            self.room: "Room",
            self.room_password: "Room password",
        }
        for f in self.labels:
            f.on_submit = lambda _text: self.submit_connect()
            f.submit_empty = True
        self.mode = s.account if s.account in ("login", "signup") else "guest"
        self.changing = False  # Log in mode: change the password on the way in
        self.tls = s.tls
        self.tls_rect = pygame.Rect(0, 0, 0, 0)
        self.untrusted = ""  # the fingerprint of a certificate waiting for the user's trust
        self.mode_rects: dict[str, pygame.Rect] = {}
        self.change_rect = pygame.Rect(0, 0, 0, 0)
        self.error = ""
        self.suggestion = ""
        self.busy = ""
        self.card = pygame.Rect(0, 0, CARD_W, 0)
        self.connect_rect = pygame.Rect(0, 0, 0, BUTTON_H)
        self.host_rect = pygame.Rect(0, 0, 0, BUTTON_H)
        self.use_rect = pygame.Rect(0, 0, 0, 0)
        self.window = pygame.Rect(0, 0, 1, 1)
        self._hover: tuple[int, int] = (-1, -1)
        self.rooms = RoomPicker(fonts)  # the server's open rooms, asked before joining
        self.rooms.on_pick = self.pick_room
        self.focus(self.nick if not s.nick else self.password if self.mode != "guest" else self.host)

    # -- focus and values

    @property
    def fields(self) -> list[TextField]:
        """The fields shown now, in focus order."""
        out = [self.host, self.port, self.nick]
        if self.mode != "guest":
            out.append(self.password)
            if self.mode == "login" and self.changing:
                out.append(self.new_password)
        return [*out, self.room, self.room_password]

    def set_mode(self, mode: str) -> None:
        """Guest, Log in or Sign up (the password fields follow)."""
        self.mode = mode
        if mode != "login":
            self.changing = False
        if self.focused is None:
            self.focus(self.password if mode != "guest" else self.nick)
        self.layout(self.window)

    def toggle_change(self) -> None:
        self.changing = not self.changing
        self.new_password.set_text("")
        if self.changing:
            self.focus(self.new_password)
        self.layout(self.window)

    @property
    def focused(self) -> TextField | None:
        return next((f for f in self.fields if f.focused), None)

    def focus(self, field: TextField) -> None:
        for f in self.fields:
            if f is not field:
                f.blur()
        field.focus()

    def _cycle(self, step: int) -> None:
        current = self.focused
        i = self.fields.index(current) if current else -1
        self.focus(self.fields[(i + step) % len(self.fields)])

    def fill(self, host: str, port: int, nick: str, room: str) -> None:
        """Show these values (a join started elsewhere, e.g. from the command line)."""
        self.host.set_text(host)
        self.port.set_text(str(port))
        self.nick.set_text(nick)
        self.room.set_text(room)

    def pick_room(self, name: str, password: bool) -> None:
        """A room clicked in the picker: its name in the Room field (a password room: type it next)."""
        self.room.set_text(name)
        self.focus(self.room_password if password else self.room)

    def server_address(self) -> tuple[str, int]:
        """The server the fields name now (port -1 while it is not a number)."""
        host, port = unbracket(self.host.text) or settings.DEFAULT_HOST, self.port.text.strip()
        return host, int(port) if port.isdigit() else -1 if port else settings.DEFAULT_PORT

    def values(self) -> tuple[str, str, str, str]:
        return (self.host.text, self.port.text, self.nick.text, self.room.text)

    # -- errors and progress

    def show_error(self, reason: str, detail: str = "", suggestion: str = "", retry: int = 0) -> None:
        """A join or account error (protocol.JoinError's or AccountError's reason, or "unreachable")
        under the fields; ``retry``: seconds to wait, with too_many_attempts."""
        template = ERROR_MESSAGES.get(reason, "")
        host, port, nick, _ = self.values()
        message = (
            template.format(nick=nick.strip(), host=host.strip(), port=port.strip(), retry=retry)
            if template
            else ""
        )
        if detail and (reason not in NO_DETAIL or not message):
            message = (
                f"{message} {connect_message.unrepeated(detail, message)}".strip() if message else detail
            )
        self.error = message or reason
        self.suggestion = suggestion
        self._forget_untrusted()
        self.busy = ""
        self.layout(self.window)  # the message box fits the error's rows
        if reason in NICK_ERRORS:
            self.focus(self.nick)
        elif reason in PASSWORD_ERRORS and self.mode != "guest":
            self.focus(self.new_password if self.changing and reason == "weak_password" else self.password)
        elif reason == "no_new_password" and self.changing:
            self.focus(self.new_password)
        elif reason == "bad_password":
            self.focus(self.room_password)

    def show_untrusted(self, fingerprint: str, changed: bool) -> None:
        """The server's certificate is not trusted here (or no longer the one pinned): show its
        fingerprint, to compare with what the host reads off ``pgboard-server``, and offer Trust."""
        host, port, _, _ = self.values()
        where = f"{host.strip()}:{port.strip()}"
        half = len(fingerprint) // 2  # two rows of 16 bytes: easy to read out and compare
        shown = (
            f"{fingerprint[:half]} {fingerprint[half + 1 :]}"
            if fingerprint[half : half + 1] == ":"
            else fingerprint
        )
        if changed:
            self.error = (
                f"WARNING: the certificate of {where} CHANGED since you trusted it: someone may pose "
                f"as the server. Trust the new one only if the host confirms SHA256 {shown}"
            )
        else:
            self.error = (
                f"Unknown certificate at {where}. Trust it if the host reads you the same SHA256 {shown}"
            )
        self.untrusted = fingerprint
        self.suggestion = ""
        self.busy = ""
        self.layout(self.window)

    def _forget_untrusted(self) -> None:
        if self.untrusted:
            self.untrusted = ""
            self.layout(self.window)  # the message box shrinks back

    def trust(self) -> None:
        fingerprint = self.untrusted
        self.set_busy("Connecting with the trusted certificate …")
        if fingerprint and self.on_trust is not None:
            self.on_trust(fingerprint)

    def toggle_tls(self) -> None:
        self.tls = not self.tls

    def set_busy(self, text: str) -> None:
        """Progress text ("Connecting to ...") shown instead of the error; empty clears it."""
        self.busy = text
        if text:
            self.error = ""
            self.suggestion = ""
            self._forget_untrusted()
            self.layout(self.window)  # the message box shrinks back

    def use_suggestion(self) -> None:
        if self.suggestion:
            self.nick.set_text(self.suggestion)
            self.suggestion = ""
            self.submit_connect()

    # -- submitting

    def _check(self, need_address: bool) -> tuple[str, int, str, str] | None:
        host, port_text, nick, room = self.values()
        host = unbracket(host) or settings.DEFAULT_HOST
        port = 0
        if need_address:
            try:
                port = int(port_text.strip() or settings.DEFAULT_PORT)
            except ValueError:
                port = -1
            if not 0 < port < 65536:
                self.error, self.suggestion = "The port is a number from 1 to 65535.", ""
                self.focus(self.port)
                return None
        try:
            nick = names.check_nick(nick)
        except names.NameError_ as exc:
            self.show_error(exc.reason)
            return None
        try:
            room = names.check_room(room)
        except names.NameError_ as exc:
            self.error, self.suggestion = f"Room: {exc.detail}.", ""
            self.focus(self.room)
            return None
        if self.mode != "guest" and need_address:
            if not self.password.text:
                self.show_error("no_password")
                return None
            if self.changing and not self.new_password.text:
                self.show_error("no_new_password")
                return None
        return host, port, nick, room

    def auth(self) -> dict[str, object]:
        """What ``on_connect`` gets besides the address, nick and room: ``room_password`` (when typed),
        ``account`` = (action, password, new password) unless a guest, ``tls`` when it is on.
        Passwords are never saved."""
        out: dict[str, object] = {}
        if self.tls:
            out["tls"] = True
        if self.room_password.text:
            out["room_password"] = self.room_password.text
        if self.mode == "signup":
            out["account"] = ("signup", self.password.text, "")
        elif self.mode == "login":
            if self.changing:
                out["account"] = ("passwd", self.password.text, self.new_password.text)
            else:
                out["account"] = ("login", self.password.text, "")
        return out

    def _remember(self, host: str, port: int, nick: str, room: str) -> None:
        s = self.settings
        s.host, s.nick, s.room = host, nick, room
        s.account = "" if self.mode == "guest" else "login"  # after a sign-up, the next time logs in
        s.tls = self.tls
        if port:
            s.port = port
        if self.save is not None:
            self.save()

    def submit_connect(self) -> None:
        checked = self._check(need_address=True)
        if checked is None:
            return
        host, port, nick, room = checked
        self._remember(host, port, nick, room)
        self.set_busy(f"Connecting to {host}:{port} …")
        if self.on_connect is not None:
            self.on_connect(host, port, nick, room, **self.auth())

    def submit_host(self) -> None:
        checked = self._check(need_address=False)
        if checked is None:
            return
        host, _, nick, room = checked
        self._remember(self.settings.host, 0, nick, room)
        self.set_busy("Starting a board on this computer …")
        if self.on_host is not None:
            self.on_host(nick, room)

    # -- events

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Everything but QUIT and window events is the screen's while it shows."""
        if event.type == pygame.MOUSEMOTION:
            self._hover = event.pos
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_TAB:
                self._cycle(-1 if event.mod & pygame.KMOD_SHIFT else 1)
                return True
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            if self.rooms.click(event.pos):
                return True
            if self.connect_rect.collidepoint(event.pos):
                if self.untrusted:
                    self.trust()
                else:
                    self.submit_connect()
                return True
            if self.host_rect.collidepoint(event.pos):
                self.submit_host()
                return True
            if self.suggestion and self.use_rect.collidepoint(event.pos):
                self.use_suggestion()
                return True
            if self.tls_rect.collidepoint(event.pos):
                self.toggle_tls()
                return True
            for mode, rect in self.mode_rects.items():
                if rect.collidepoint(event.pos):
                    self.set_mode(mode)
                    return True
            if self.mode == "login" and self.change_rect.collidepoint(event.pos):
                self.toggle_change()
                return True
            for f in self.fields:
                if f.rect.collidepoint(event.pos):
                    f.handle_event(event)
                    self.focus(f)
                    return True
            return True
        current = self.focused
        if current is not None and current.handle_event(event):
            return True
        return event.type in (
            pygame.KEYDOWN,
            pygame.KEYUP,
            pygame.TEXTINPUT,
            pygame.TEXTEDITING,
            pygame.MOUSEBUTTONUP,
            pygame.MOUSEMOTION,
            pygame.MOUSEWHEEL,
        )

    # -- layout and drawing

    def layout(self, window: pygame.Rect) -> None:
        self.window = pygame.Rect(window)
        row = LABEL_H + theme.INPUT_H + FIELD_GAP
        rows = [f for f in self.fields if f not in (self.port, self.room_password)]
        message_h = connect_message.message_height(self)
        height = TOP + MODE_H + FIELD_GAP + len(rows) * row + message_h + 8 + BUTTON_H + 28
        self.card = pygame.Rect(0, 0, min(CARD_W, window.w - 24), height)
        self.card.center = window.center
        self.card.x -= self.rooms.room_beside(self.card, window)  # the card and the room list, centred
        x, w = self.card.x + 28, self.card.w - 56
        y = self.card.y + TOP + LABEL_H
        self.host.rect = pygame.Rect(x, y, w - PORT_W - theme.PAD * 2, theme.INPUT_H)
        self.port.rect = pygame.Rect(x + w - PORT_W, y, PORT_W, theme.INPUT_H)
        y += theme.INPUT_H + FIELD_GAP
        third = (w - 2 * theme.GAP) // 3
        self.mode_rects = {
            mode: pygame.Rect(x + i * (third + theme.GAP), y, third, MODE_H)
            for i, (mode, _) in enumerate(MODES)
        }
        y += MODE_H + FIELD_GAP + LABEL_H
        for f in rows[1:]:
            if f is self.room:
                f.rect = pygame.Rect(x, y, w - ROOM_PASSWORD_W - theme.PAD * 2, theme.INPUT_H)
                self.room_password.rect = pygame.Rect(
                    x + w - ROOM_PASSWORD_W, y, ROOM_PASSWORD_W, theme.INPUT_H
                )
            else:
                f.rect = pygame.Rect(x, y, w, theme.INPUT_H)
            y += row
        label_w = self.fonts.width(CHANGE_LABEL, theme.FONT_SMALL) + 2 * theme.PAD
        self.change_rect = pygame.Rect(0, 0, label_w, LABEL_H)
        self.change_rect.bottomright = (x + w, self.password.rect.y - 2)
        tls_w = max(self.fonts.width(t, theme.FONT_SMALL) for t in TLS_LABELS) + 2 * theme.PAD
        self.tls_rect = pygame.Rect(0, 0, tls_w, LABEL_H)
        self.tls_rect.bottomright = (self.port.rect.x - theme.PAD * 2, self.host.rect.y - 2)
        by = self.card.bottom - 28 - BUTTON_H
        half = (w - theme.PAD * 2) // 2
        self.host_rect = pygame.Rect(x, by, half, BUTTON_H)
        self.connect_rect = pygame.Rect(x + w - half, by, half, BUTTON_H)
        self.message_y = y - LABEL_H - FIELD_GAP + 12  # under the last field
        self.rooms.layout(self.card, self.window)

    def draw(self, surface: pygame.Surface) -> None:
        editing = self.host.focused or self.port.focused
        self.rooms.poll(*self.server_address(), editing=editing, tls=self.tls)
        connect_draw.draw(self, surface)
        self.rooms.draw(surface, self._hover)


def unbracket(host: str) -> str:
    """The server field as an address: an IPv6 address may be typed in brackets, as in a URL or in
    the join line a host gives (``[2001:db8::5]``)."""
    host = host.strip()
    return host[1:-1].strip() if host.startswith("[") and host.endswith("]") else host
