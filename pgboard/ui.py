"""The UI manager: lays out pgboard's panels around the board and routes events to its widgets.

Screen (../shared/DESIGN.md): the tool bar across the top (tools, undo/redo/erase-all, palette,
width), the board in the middle (the app draws it into ``board_rect``), the right panel with the user
list above the chat, the status bar at the bottom. Tab hides every panel (``board_rect`` becomes the
window) and brings them back. Over them: tooltips, the colour picker, the toast, the shortcut overlay
and the yes/no dialog. Before joining, the connect screen fills the window instead.

The frame, as pygame_gui does it: ``handle_event(event) -> bool`` (True: a widget used it, the tool
must not see it), ``update(now)`` (time drives tooltips and toasts, so tests pass a number), and
``draw(surface)`` after the app has drawn the board. The app talks to the UI through setters
(``set_users``, ``add_chat``, ``set_status``, ...) and hears back through callbacks (``on_tool``,
``on_color``, ``on_width``, ``on_action``, ``on_send``, ``on_connect``, ``on_host``), all optional
attributes it may set at any time. Every widget lives in pgboard/widgets/.

Wiring, in short::

    ui = UI(screen.get_size(), show_connect=True,  # tools: pgboard/tooltable.py's buttons
            on_tool=..., on_color=..., on_width=..., on_action=..., on_send=..., on_connect=..., on_host=...)
    # each frame
    for event in pygame.event.get():
        if not ui.handle_event(event):
            ...  # the active tool / the app's shortcuts (skip them while ui.is_typing)
    ui.update(time.monotonic())
    draw the board into ui.board_rect, then ui.draw(screen)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pygame

from . import settings as settings_mod
from . import sizes
from .shortcuts import HELP_ROWS
from .tooltable import TOOL_BUTTONS
from .widgets import theme
from .widgets.chat import WHEEL_ROWS, ChatPanel
from .widgets.connect import ConnectScreen
from .widgets.overlays import ConfirmDialog, ShortcutOverlay, Toast
from .widgets.palette import Palette
from .widgets.picklist import PickList
from .widgets.statusbar import Progress, StatusBar
from .widgets.text import FontSet
from .widgets.toolbar import ASSET_DIR, ToolBar
from .widgets.userlist import UserList
from .widgets.width import WidthControl

log = logging.getLogger(__name__)

USER_LIST_MAX_FRACTION = 0.4  # of the right panel's height
TOAST_MARGIN = 18  # above the board's bottom edge
CLEAR_TITLE = "Erase everything you drew?"
CLEAR_MESSAGE = "Your strokes, shapes and text leave the board for everyone. Enter/Y: yes, Esc/N: no"
PAGE_KEYS = (pygame.K_PAGEUP, pygame.K_PAGEDOWN, pygame.K_HOME, pygame.K_END)
ENTER_KEYS = (pygame.K_RETURN, pygame.K_KP_ENTER)
PRIVATE_COMMAND = "/msg"  # the server's private-message command (server/chat.py)
HIDDEN_CHAT_TOAST = 80  # characters of a chat line shown as a toast while the panels are hidden
LEGACY_WHEEL_BUTTONS = (4, 5)  # pygame still sends wheel turns as buttons 4 and 5 too


class UI:
    """Every panel of the client, testable headless (no display needed beyond a surface)."""

    def __init__(
        self,
        window_size: tuple[int, int],
        tools: Sequence[tuple[str, str, str, str]] = TOOL_BUTTONS,
        *,
        palette: tuple[tuple[str, str], ...] = theme.PALETTE,
        width_steps: tuple[int, ...] = sizes.WIDTH_STEPS,
        shortcuts: Sequence[tuple[str, str]] = HELP_ROWS,
        fonts: FontSet | None = None,
        settings: settings_mod.Settings | None = None,
        settings_path: Path | None = None,
        save_settings: bool = True,
        keyboard_shortcuts: bool = True,
        show_connect: bool = False,
        asset_dir: Path = ASSET_DIR,
        on_tool: Callable[[str], None] | None = None,
        on_color: Callable[[str], None] | None = None,
        on_width: Callable[[int], None] | None = None,
        on_action: Callable[[str], None] | None = None,
        on_send: Callable[[str], None] | None = None,
        on_connect: Callable[..., None] | None = None,
        on_host: Callable[[str, str], None] | None = None,
        on_trust: Callable[[str], None] | None = None,
    ) -> None:
        self.fonts = fonts or FontSet()
        # the settings' one owner: it alone writes them, and writes nothing when save_settings is False
        self.settings_file = settings_mod.SettingsFile(
            settings_path, writable=save_settings, settings=settings
        )
        self.settings = self.settings_file.settings
        self.on_tool, self.on_color, self.on_width = on_tool, on_color, on_width
        self.on_action, self.on_send = on_action, on_send
        self.on_connect, self.on_host = on_connect, on_host
        # keyboard_shortcuts: the UI itself answers Tab, Enter, F1 and ? when nobody types; an app that
        # routes those keys through pgboard.shortcuts passes False. PageUp/PageDown always scroll the chat.
        self.keyboard_shortcuts = keyboard_shortcuts
        self.board_typing = False  # set by the app while the text tool edits: keys are not ours then
        self.panels_visible = True
        self.connect_visible = show_connect
        # set by the app: what the board shows by itself (fading cursors), what a clear will remove
        self.board_next_change: Callable[[float], float | None] = lambda now: None
        self.clear_question: Callable[[], tuple[str, str]] = lambda: (CLEAR_TITLE, CLEAR_MESSAGE)

        self.palette = Palette(self.fonts, palette, on_pick=self._color_picked)
        self.width_control = WidthControl(
            self.fonts, width=self.settings.width, steps=width_steps, on_pick=self._width_picked
        )
        self.toolbar = ToolBar(
            self.fonts,
            tools,
            palette=self.palette,
            width=self.width_control,
            asset_dir=asset_dir,
            on_tool=self._tool_picked,
            on_action=self._action_picked,
        )
        self.palette.set_active(self.settings.color)
        self.user_list = UserList(self.fonts, on_pick=self.start_private)
        self.chat = ChatPanel(self.fonts, on_send=self._send)
        self.status = StatusBar(self.fonts)
        self.overlay = ShortcutOverlay(self.fonts, shortcuts)
        self.dialog = ConfirmDialog(self.fonts)
        self.picklist = PickList(self.fonts)
        self.toast_line = Toast(self.fonts)
        self.connect_screen = ConnectScreen(
            self.fonts,
            self.settings,
            save=self.settings_file.save,
            on_connect=self._connect_chosen,
            on_host=self._host_chosen,
            on_trust=on_trust,
        )
        self.window = pygame.Rect(0, 0, *window_size)
        self.board_rect = pygame.Rect(0, 0, *window_size)
        self.panel_rect = pygame.Rect(0, 0, 0, 0)
        self._pointer: tuple[int, int] = (-1, -1)
        self._press_on_ui = False
        self.layout(window_size)

    # -- layout

    def layout(self, window_size: tuple[int, int]) -> None:
        """Recompute every rect for a window of ``window_size``."""
        w, h = window_size
        self.window = pygame.Rect(0, 0, w, h)
        self.palette.window = self.window
        self.connect_screen.layout(self.window)
        if not self.panels_visible:
            self.board_rect = pygame.Rect(0, 0, w, h)
            self._place_toast()
            return
        panel_w = min(theme.PANEL_W, max(theme.PANEL_MIN_W, int(w * theme.PANEL_MAX_FRACTION)))
        panel_w = min(panel_w, max(0, w - 2 * theme.PANEL_MIN_W // 2))
        middle_h = max(0, h - theme.TOOLBAR_H - theme.STATUS_H)
        self.toolbar.layout(pygame.Rect(0, 0, w, theme.TOOLBAR_H))
        self.status.rect = pygame.Rect(0, h - theme.STATUS_H, w, theme.STATUS_H)
        self.panel_rect = pygame.Rect(w - panel_w, theme.TOOLBAR_H, panel_w, middle_h)
        self.board_rect = pygame.Rect(0, theme.TOOLBAR_H, w - panel_w, middle_h)
        self._layout_panel()
        self._place_toast()

    def _layout_panel(self) -> None:
        p = self.panel_rect
        users_h = min(self.user_list.wanted_height(), int(p.h * USER_LIST_MAX_FRACTION))
        self.user_list.rect = pygame.Rect(p.x, p.y, p.w, users_h)
        self.chat.layout(pygame.Rect(p.x, p.y + users_h, p.w, p.h - users_h))

    def _place_toast(self) -> None:
        self.toast_line.anchor = (self.board_rect.centerx, self.board_rect.bottom - TOAST_MARGIN)

    def set_panels_visible(self, visible: bool) -> None:
        if visible != self.panels_visible:
            self.panels_visible = visible
            if not visible:
                self.chat.blur()
                self.palette.picker.close()
                self.toolbar.leave()
            self.layout(self.window.size)

    def toggle_panels(self) -> None:
        self.set_panels_visible(not self.panels_visible)

    # -- state the app sets

    @property
    def is_typing(self) -> bool:
        """True while keys belong to a text field (chat, connect screen, colour hex): no shortcuts."""
        return self.connect_visible or self.chat.focused or self.palette.picker.hex_field.focused

    @property
    def modal_open(self) -> bool:
        """True while a dialog, the shortcut overlay or the colour picker takes the input."""
        return self.dialog.open or self.picklist.open or self.overlay.open or self.palette.picker.open

    def set_users(
        self, users: Sequence[tuple[str, str]], me: str = "", operators: Iterable[str] = ()
    ) -> None:
        """Who is here: (id, nick) pairs; ``me`` is your id (marked "(you)", listed first);
        ``operators`` get a badge."""
        self.user_list.set_users(list(users), me, frozenset(operators))
        self.chat.me = me
        if self.panels_visible:
            self._layout_panel()

    def add_chat(
        self,
        nick: str,
        text: str,
        kind: str = "say",
        *,
        user: str = "",
        to: str = "",
        history: bool = False,
        stamp: int = 0,
        away: bool = False,
        again: bool = False,
    ) -> None:
        """A chat line (protocol.Chat's fields: kind say, me or private; ``stamp`` is its time)."""
        self.chat.add_chat(
            nick, text, kind, user=user, to=to, history=history, stamp=stamp, away=away, again=again
        )
        if not self.panels_visible and not history and user != self.chat.me:
            line = f"* {nick} {text}" if kind == "me" else f"{nick}: {text}"
            self.toast(line if len(line) <= HIDDEN_CHAT_TOAST else line[: HIDDEN_CHAT_TOAST - 1] + "…")

    def add_chat_message(self, msg: Any) -> None:
        """A protocol.Chat or protocol.Notice as received."""
        if hasattr(msg, "kind") and hasattr(msg, "nick"):
            self.add_chat(
                msg.nick,
                msg.text,
                msg.kind,
                user=msg.user,
                to=msg.to,
                history=msg.history,
                stamp=msg.time,
                away=getattr(msg, "away", False),
                again=getattr(msg, "again", False),
            )
        else:
            self.add_notice(msg.text)

    def add_notice(self, text: str) -> None:
        """A system line in the chat (joins, leaves, command replies)."""
        self.chat.add_notice(text)

    def set_status(
        self,
        state_text: str,
        room: str = "",
        nick: str = "",
        latency_ms: float | None = None,
        progress: Progress = None,
        detail: str = "",
    ) -> None:
        """The status bar. ``progress``: None, 0..1 or (done, total) while a board is replayed;
        ``detail``: the net layer's reconnect countdown ("retrying in 3 s"), shown after the state."""
        self.status.set_status(state_text, room, nick, latency_ms, progress, detail)

    def set_board_lock(self, text: str) -> None:
        """A red note in the status bar while the board is locked ("" when it is not)."""
        self.status.lock = text

    def set_tool(self, name: str) -> None:
        self.toolbar.set_tool(name)

    def set_color(self, color: str) -> None:
        self.palette.set_active(color)
        self.settings.color = self.palette.active

    def set_width(self, width: int) -> None:
        self.width_control.set_width(width)
        self.settings.width = width

    def toast(self, text: str) -> None:
        """A transient line over the board ("Saved board.png")."""
        self.toast_line.show(text)

    def focus_chat(self) -> None:
        self.set_panels_visible(True)
        self.chat.focus()

    def start_private(self, nick: str) -> None:
        """Focus the chat with "/msg NICK " typed, ready for a private message."""
        self.focus_chat()
        self.chat.input.set_text(f"{PRIVATE_COMMAND} {nick} ")

    def leave_chat(self) -> None:
        self.chat.blur()

    def toggle_help(self) -> None:
        self.overlay.toggle()

    def confirm(
        self, title: str, message: str, on_yes: Callable[[], None], on_no: Callable[[], None] | None = None
    ) -> None:
        """Ask a yes/no question in a modal dialog."""
        self.chat.blur()
        self.dialog.ask(title, message, on_yes, on_no)

    def pick(
        self,
        title: str,
        items: Sequence[tuple[str, str]],
        on_pick: Callable[[int], None],
        on_path: Callable[[str], None] | None = None,
    ) -> None:
        """Let the user choose one of ``items`` ((label, detail) rows) in a modal list (or type a path)."""
        self.chat.blur()
        self.picklist.ask(title, items, on_pick, on_path)

    def ask_clear(self) -> None:
        """The erase-all question; yes reports ``on_action("clear")``."""
        self.confirm(*self.clear_question(), lambda: self._emit(self.on_action, "clear"))

    def show_connect(self) -> None:
        self.connect_visible = True
        self.chat.blur()

    def show_board(self) -> None:
        self.connect_visible = False
        self.connect_screen.set_busy("")
        for f in self.connect_screen.fields:
            f.blur()

    def show_join_error(self, reason: str, detail: str = "", suggestion: str = "", retry: int = 0) -> None:
        """Back to the connect screen with the reason (protocol.JoinError's or AccountError's, or
        "unreachable")."""
        self.show_connect()
        self.connect_screen.show_error(reason, detail, suggestion, retry)

    def show_untrusted(self, fingerprint: str, changed: bool) -> None:
        """Back to the connect screen: the server's certificate waits for the user's trust."""
        self.show_connect()
        self.connect_screen.show_untrusted(fingerprint, changed)

    def save_settings(self) -> bool:
        return self.settings_file.save()

    # -- callbacks from widgets

    @staticmethod
    def _emit(callback: Callable[..., None] | None, *args: Any) -> None:
        if callback is not None:
            callback(*args)

    def _tool_picked(self, name: str) -> None:
        self._emit(self.on_tool, name)

    def _color_picked(self, color: str) -> None:
        self.settings.color = color
        self._emit(self.on_color, color)

    def _width_picked(self, width: int) -> None:
        self.settings.width = width
        self._emit(self.on_width, width)

    def _action_picked(self, name: str) -> None:
        if name == "clear":
            self.ask_clear()
        else:
            self._emit(self.on_action, name)

    def _send(self, text: str) -> None:
        self._emit(self.on_send, text)

    def _connect_chosen(self, host: str, port: int, nick: str, room: str, **auth: Any) -> None:
        if self.on_connect is not None:
            self.on_connect(host, port, nick, room, **auth)  # passwords: in memory only

    def _host_chosen(self, nick: str, room: str) -> None:
        self._emit(self.on_host, nick, room)

    # -- the frame

    def handle_event(self, event: pygame.event.Event) -> bool:
        """Give ``event`` to the widget it belongs to; True when one used it (the tool must not)."""
        pos = getattr(event, "pos", None)
        if pos is not None and event.type in (
            pygame.MOUSEMOTION,
            pygame.MOUSEBUTTONDOWN,
            pygame.MOUSEBUTTONUP,
        ):
            self._pointer = pos
        if event.type == pygame.VIDEORESIZE:
            self.layout(event.size)
            return False
        if self.connect_visible:
            return self.connect_screen.handle_event(event)
        for modal in (self.dialog, self.picklist, self.overlay):
            if modal.open:
                return modal.handle_event(event)
        if self.palette.picker.open and self.palette.picker.handle_event(event):
            return True
        if event.type in (pygame.KEYDOWN, pygame.KEYUP, pygame.TEXTINPUT, pygame.TEXTEDITING):
            return self._key_event(event)
        if event.type == pygame.MOUSEWHEEL:
            return self._wheel(event)
        if event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP, pygame.MOUSEMOTION):
            return self._pointer_event(event)
        return False

    def _key_event(self, event: pygame.event.Event) -> bool:
        if self.chat.focused:
            return self.chat.handle_event(event)
        over_people = self.panels_visible and self.user_list.rect.collidepoint(self._pointer)
        if event.type == pygame.KEYDOWN and event.key in PAGE_KEYS and over_people and not self.board_typing:
            self.user_list.page(event.key)  # the keyboard scrolls People, the pointer over it
            return True
        if event.type == pygame.KEYDOWN and event.key in (pygame.K_PAGEUP, pygame.K_PAGEDOWN):
            if self.panels_visible and not self.board_typing:  # not an app shortcut: else the chat's
                self.chat.page(+1 if event.key == pygame.K_PAGEUP else -1)
                return True
        if not self.keyboard_shortcuts or self.board_typing or event.type != pygame.KEYDOWN:
            if (
                event.type == pygame.TEXTINPUT
                and event.text == "?"
                and self.keyboard_shortcuts
                and not self.board_typing
            ):
                self.toggle_help()
                return True
            return False
        plain = not event.mod & (pygame.KMOD_CTRL | pygame.KMOD_ALT | pygame.KMOD_META)
        if event.key == pygame.K_TAB and plain:
            self.toggle_panels()
            return True
        if event.key == pygame.K_F1:
            self.toggle_help()
            return True
        if event.key in ENTER_KEYS and plain:
            self.focus_chat()
            return True
        return False

    def _over_panels(self, pos: tuple[int, int]) -> bool:
        if not self.panels_visible:
            return False
        return any(r.collidepoint(pos) for r in (self.toolbar.rect, self.panel_rect, self.status.rect))

    def _wheel(self, event: pygame.event.Event) -> bool:
        if not self._over_panels(self._pointer):
            return False
        if self.chat.rect.collidepoint(self._pointer):
            self.chat.scroll_by(int(event.y) * WHEEL_ROWS)
        elif self.user_list.rect.collidepoint(self._pointer):
            self.user_list.handle_event(event)
        return True

    def _pointer_event(self, event: pygame.event.Event) -> bool:
        if event.type == pygame.MOUSEMOTION:
            if self.panels_visible:
                if self.toolbar.rect.collidepoint(event.pos):
                    self.toolbar.handle_event(event)
                else:
                    self.toolbar.leave()
            return False  # motion is never taken from a tool (a drag may pass over a panel)
        if event.type == pygame.MOUSEBUTTONUP:
            was_ours, self._press_on_ui = self._press_on_ui, False
            return was_ours
        # MOUSEBUTTONDOWN
        if self.chat.focused and not self.chat.input.rect.collidepoint(event.pos):
            self.chat.blur()
        if not self._over_panels(event.pos):
            return False
        self._press_on_ui = True
        if event.button in LEGACY_WHEEL_BUTTONS:
            return True
        for widget in (self.toolbar, self.user_list, self.chat, self.status):
            if widget.rect.collidepoint(event.pos):
                widget.handle_event(event)
                break
        return True

    def update(self, now: float) -> None:
        """Advance time-driven things (tooltips, the toast) to ``now`` (seconds, any monotonic clock)."""
        self.toolbar.update(now)
        self.toast_line.update(now)

    def next_change(self, now: float) -> float | None:
        """Seconds until the panels look different by themselves (0: every frame, an animation or
        chat lines waiting to be wrapped), None: only input or a message changes them."""
        if self.chat.waiting:
            return 0.0
        waits = (self.toast_line.next_change(now), self.toolbar.next_change(now), self.board_next_change(now))
        return min((w for w in waits if w is not None), default=None)

    def draw(self, surface: pygame.Surface) -> None:
        """Draw the panels and whatever is open over them (the app has drawn the board already)."""
        if self.connect_visible:
            self.connect_screen.draw(surface)
            return
        if self.panels_visible:
            self.toolbar.draw(surface)
            self.user_list.draw(surface)
            self.chat.draw(surface)
            pygame.draw.line(surface, theme.PANEL_BORDER, self.panel_rect.topleft, self.panel_rect.bottomleft)
            self.status.draw(surface)
        self.toast_line.draw(surface)
        if self.panels_visible:
            self.toolbar.draw_tooltip(surface)
        self.palette.picker.draw(surface)
        self.overlay.draw(surface)
        self.picklist.draw(surface)
        self.dialog.draw(surface)
