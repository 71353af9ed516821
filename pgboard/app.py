"""pgboard's client: the frame and the wiring between the panels, the tools, the board and the pump.

One frame, always in this order (../shared/DESIGN.md): events to the UI first (a widget that uses an
event stops it), the rest to the shortcuts and the active tool; the tool's pending stroke; the pump;
due timers; received messages applied to the board; draw; tick. Nothing here blocks: the pump is
non-blocking (connecting included) and every timer runs on the scheduler.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pygame

from pgboard import app_actions as actions
from pgboard import (
    app_input,
    boardfile,
    identity,
    idle,
    ignores,
    people_menu,
    presence,
    render,
    room_commands,
)
from pgboard import select_tool as selecting
from pgboard import settings as settings_mod
from pgboard import timeline_view as timeline_view
from pgboard.board import Board
from pgboard.cache_join import CacheJoin, begin_join, leave_room, step_join, wait_for_writes
from pgboard.canvas import Canvas, RemoteCursor, Viewport
from pgboard.client_session import State, StateChanged
from pgboard.follow import Follower
from pgboard.frameloop import FrameLoop
from pgboard.game_view import GameView
from pgboard.laser import draw_trails
from pgboard.net import Connection, Credentials
from pgboard.protocol import DEFAULT_PORT, Chat
from pgboard.room import LIVE_BUDGET, RoomView
from pgboard.scheduler import Scheduler
from pgboard.session_types import WELCOMED
from pgboard.sizes import TEXT_SIZE
from pgboard.tools import Tool, ToolContext
from pgboard.tooltable import make_tool
from pgboard.ui import UI
from pgboard.viewport import around
from pgboard.widgets import theme
from pgboard.widgets.statusbar import connection_text

if TYPE_CHECKING:  # the server is imported only when the window hosts
    from pgboard_server.server import BoardServer

log = logging.getLogger(__name__)


class App:
    """The client. ``frame(events)`` runs one frame; ``run()`` loops until the window closes."""

    def __init__(
        self,
        screen: pygame.Surface,
        *,
        scheduler: Scheduler | None = None,
        settings_path: Path | None = None,
        save_settings: bool = True,
        export_dir: Path | None = None,
        host_db: str | None = None,
    ) -> None:
        self.screen = screen
        self.scheduler = scheduler if scheduler is not None else Scheduler()
        self.export_dir = export_dir if export_dir is not None else Path.cwd()
        self.host_db = host_db
        self.idle = idle.IdleWatch(self.scheduler.now)  # a room's own from idle.wire on
        self.ui = UI(
            screen.get_size(),
            settings_path=settings_path,
            save_settings=save_settings,
            keyboard_shortcuts=False,
            show_connect=True,
            on_tool=self.pick_tool,
            on_color=self.pick_color,
            on_width=self.pick_width,
            on_action=self.do_action,
            on_send=self.send_chat,
            on_connect=self.connect,
            on_host=self.host,
            on_trust=self.trust,
        )
        settings = self.ui.settings
        self.client_secret, self._identity = identity.claim(self.ui.settings_file)
        self.ignores = ignores.for_app(self)  # /ignore NICK: kept here, by author id, in the settings
        self.follow = Follower()  # /follow NICK, a presenter: my view tracks theirs; mine goes to the room
        self.game = GameView()  # the drawing game: the word or its blanks, the timer, the scores
        self.texts = render.TextCache()
        self.board = self._new_board()
        self.canvas = Canvas(self.board, self.texts)
        self.viewport = Viewport(self.ui.board_rect)
        self.conn: Connection | None = None
        self.room: RoomView | None = None
        self.board_cache: CacheJoin | None = None  # this join's board kept on disk
        self.server: BoardServer | None = None  # the embedded server in host mode
        self.join_line = ""  # while hosting: "pgboard --connect ADDRESS:PORT", what Ctrl+C copies
        self.ctx = ToolContext(
            board=self.board,
            emit=lambda op: actions.emit(self, op),
            color=settings.color,
            width=settings.width,
            text_size=TEXT_SIZE,
        )
        selecting.wire(self)  # the tools' toast, and which of my operations await their echo
        self.tool_name = "pencil"
        self.tool: Tool = make_tool(self.tool_name, self.ctx)
        self.running = True
        self.fullscreen = False
        self._space = False
        self._pan_from: tuple[int, int] | None = None
        self._pointer = (0, 0)
        self._last_sent = {False: 0.0, True: 0.0}  # when a cursor, and a laser point, last went
        self._ever_online = False
        self._kept_outage = False  # the recovery file of this outage is written
        self.ui.status.on_click = lambda: self.do_action("reconnect")
        self.ui.set_tool(self.tool_name)
        self.timeline = timeline_view.TimelineMode(self)  # H: the history replay (timeline_view.py)

    # -- joining

    def connect(
        self,
        host: str,
        port: int,
        nick: str,
        room: str,
        *,
        room_password: str = "",
        account: tuple[str, str, str] | None = None,
        tls: bool = False,
        fingerprint: str = "",
    ) -> None:
        """Join ``room`` on ``host:port`` as ``nick``; the board shows while the pump connects.
        ``account`` = (action, password, new password) logs in (signup, login or passwd) first, again
        after every reconnect; the passwords stay in the connection's memory, never in a file.
        ``tls``: over TLS, checking the certificate against the system's authorities, or against
        ``fingerprint`` (SHA-256) when given, else the one the user trusted for this server before."""
        old = self.conn
        # the chat lines shown stay known on the same server: coming back to a room, its replay of
        # recent chat does not show them again (session_social.Social, by room)
        social = old.session.social if old is not None and old.home == (host, port) else None
        self._leave(for_another_room=True)
        self.ui.connect_screen.fill(host, port, nick, room)
        settings = self.ui.settings
        settings.host, settings.port, settings.nick, settings.room = host, port, nick, room
        self.board = self._new_board()
        self.canvas.close()
        self.canvas = Canvas(self.board, self.texts)
        self.ctx.board = self.board
        credentials = Credentials(*account) if account is not None else None
        self.conn = Connection(
            self.scheduler,
            host,
            port,
            nick,
            room,
            self.client_secret,
            room_password,
            credentials=credentials,
            tls=tls,
            fingerprint=fingerprint or settings.trusted.get(settings_mod.server_key(host, port), ""),
        )
        if social is not None:
            self.conn.session.social = social
        self.room = RoomView(self.conn, self.board, clock=self.scheduler.now)
        presence.wire(self, self.room)
        people_menu.wire(self)
        timeline_view.wire(self, self.room)
        self.room.on_chat = self._chat_line
        idle.wire(self, self.room)  # the People panel's idle marks (chat lines count as activity)
        self.room.on_notice = self.ui.add_notice
        self.room.on_presence, self.ui.chat.clock = self.ui.chat.add_presence, self.scheduler.now
        self.room.on_users = self._users_changed
        self.room.on_rooms = lambda answer: room_commands.offer(self, answer)
        self.room.on_rights = self._rights_changed
        self.room.on_blocked = self.ui.toast
        self.room.on_state = self._state_changed
        self.ctx.new_id, self.ctx.new_oid = self.room.new_id, self.room.new_oid
        self.tool = make_tool(self.tool_name, self.ctx)
        self._ever_online = False
        begin_join(self, host, port, room)  # the board kept on disk first, then connect
        self.ui.show_board()
        self.ui.set_board_lock("")
        self.ui.set_status("Connecting", room, nick, None, None, connection_text(self.conn))

    def _new_board(self) -> Board:
        """A board whose hit tests measure text with the fonts it is drawn in."""
        return Board(text_box=self.texts.box)

    def host(self, nick: str, room: str, port: int = DEFAULT_PORT) -> None:
        """Start a server in this process (others on the network can join it) and join it; the status
        bar says where others join (the port really used: another one when ``port`` is taken)."""
        from pgboard import hosting  # the server is imported only when this window hosts

        if self.server is None:
            try:
                self.server = hosting.start_embedded_server(port, db_path=self.host_db)
            except OSError as exc:
                self.ui.show_join_error("unreachable", f"cannot host a board here: {exc}")
                return
        port, addresses = self.server.address[1], hosting.lan_addresses()
        self.connect("127.0.0.1", port, nick, room)
        self.join_line = hosting.join_command(addresses[0], port)
        self.ui.status.share = hosting.invitation(addresses, port)

    def _leave(self, for_another_room: bool = False) -> None:
        leave_room(self)  # the board written to disk for the next join (in a thread)
        if self.room is not None:
            self.room.close()  # a catch-up in progress ends with the room (catchup_gc)
        if self.conn is not None:
            self.conn.close(leaving_room=for_another_room)
        self.conn = None
        self.room = None

    def _users_changed(self) -> None:
        if self.room is not None:
            self.ctx.me = self.room.me
            self.ui.set_users(list(self.room.users.items()), self.room.me, self.room.operators)

    def _rights_changed(self) -> None:
        """room_state: operator badges, the lock in the status bar; the tools follow the board's
        edit policy (RoomView.may_edit) by themselves."""
        room = self.room
        if room is None:
            return
        self._users_changed()
        if room.read_only:
            self.tool.cancel()  # a shape or a drag in progress would be refused
            self.ui.set_board_lock("Watch only" if room.watching else "Board locked: only operators draw")
        else:
            self.ui.set_board_lock("Board locked (you are an operator)" if room.locked else "")

    # -- the frame

    def frame(self, events: Iterable[pygame.event.Event]) -> None:
        self.step(events)
        self.draw()

    def step(self, events: Iterable[pygame.event.Event]) -> None:
        """A frame less the drawing (the run loop draws only frames with something to show)."""
        for event in events:
            self.handle_event(event)
        self.tool.flush()
        step_join(self)  # the cached board read: install it and connect
        if self.conn is not None:
            self.conn.pump()
        self.scheduler.run_due()
        if self.room is not None:
            self.room.apply_incoming(LIVE_BUDGET)  # a burst is applied over frames, in order
        self.timeline.step()  # the replay, its pages and an export's step (the live board went on above)
        self._show_status()
        self.game.tick(self)  # first: the viewport under its banner, which a followed view then fills
        self.follow.tick(self)  # follow a view, publish mine (after the status: it adds to it)
        self.idle.tick(self)  # after the game's marks, before the frame is drawn
        self.ui.update(self.scheduler.now())  # toasts and tooltips on the app's clock, as its timers

    def run(self) -> None:
        FrameLoop(self).run()  # frames until the window closes, asleep while nothing changes
        self.shutdown()

    def shutdown(self) -> None:
        self.tool.finish()
        if self.conn is not None:
            self.conn.pump()
        self._leave()
        wait_for_writes(self)
        self.ui.save_settings()
        self._identity.release()
        if self.server is not None:
            self.server.stop()
            self.server = None
            self.join_line = self.ui.status.share = ""

    def draw(self) -> None:
        if self.ui.connect_visible:
            self.screen.fill(theme.PANEL_BG)
        elif self.timeline.active:
            self.timeline.draw(self.screen, self.viewport)  # the replay in place of the live board
        else:  # the canvas covers the board's rect: fill only around it (a full-screen fill costs ~0.5 ms)
            for strip in around(self.screen.get_rect(), self.viewport.rect):
                self.screen.fill(theme.PANEL_BG, strip)
            caret = self.tool.caret()
            self.canvas.draw(
                self.screen,
                self.viewport,
                previews=self.tool.preview(),
                caret=caret,
                cursors=self._cursors(),
                selection=self.tool.selection(),
            )
            if self.room is not None:  # laser pointers, mine and the others'
                trails = self.room.presence.trails(self.scheduler.now())
                draw_trails(self.screen, self.viewport, trails, theme.user_color)
                self.game.draw(self.screen, self)
            if caret is not None:  # the IME's candidate window opens at the caret, not in a corner
                pygame.key.set_text_input_rect(self.canvas.caret_rect(self.viewport, *caret))
            self.timeline.draw_offer(self.screen)
        self.ui.draw(self.screen)

    def _cursors(self) -> list[RemoteCursor]:
        if self.room is None or not self.ui.settings.cursors:  # hidden (N): a laser still shows
            return []
        seen = presence.shown_cursors(self.room, self.scheduler.now())
        return [RemoteCursor(nick, p, theme.user_color_hex(u), a) for u, nick, p, a in seen]

    def trust(self, fingerprint: str) -> None:
        """The user trusts this certificate (shown on the connect screen): pin it for this server,
        remember it, and connect."""
        conn = self.conn
        if conn is None:
            return
        trusted, key = self.ui.settings.trusted, settings_mod.server_key(conn.host, conn.port)
        trusted.pop(key, None)  # the newest last: the oldest is forgotten first
        trusted[key] = fingerprint
        while len(trusted) > settings_mod.MAX_TRUSTED:
            trusted.pop(next(iter(trusted)))
        self.ui.save_settings()
        self.ui.show_board()
        conn.trust(fingerprint)

    def _state_changed(self, event: StateChanged) -> None:
        """The session moved (told in order with the board's changes): the dialogs and the safety net."""
        conn = self.conn
        if conn is None or self.room is None:
            return
        new = event.new
        self.ui.user_list.offline = new not in WELCOMED  # greyed: who was there, not who is
        if new is State.ONLINE:
            self.ignores.online(conn, again=self._ever_online)  # a /mute survives a reconnect
            if self._ever_online:
                self.game.reconnected(self)
            self._ever_online = True
        elif new is State.OFFLINE and conn.long_outage and not self._kept_outage:
            self._kept_outage = True  # the retries go on; the file is a safety net
            self._keep_work()
        elif new is State.OFFLINE and not conn.long_outage:  # a new outage (a flapping link stays long)
            self._kept_outage = False
        if new is State.REFUSED and conn.join_error is not None:
            err = conn.join_error
            self.ui.show_join_error(err.reason, err.detail, err.suggestion, err.retry)
        elif new is State.REFUSED and conn.account_error is not None:
            refused = conn.account_error
            self.ui.show_join_error(refused.reason, refused.detail, retry=refused.retry)
        elif new is State.OFFLINE and not self._ever_online and not conn.rerouted:  # a typo, a server down
            detail = f"cannot reach {conn.host}:{conn.port} ({conn.last_error or 'no answer'})"
            self._leave()
            self.ui.show_join_error("unreachable", detail)
        elif new is State.FAILED and conn.untrusted:
            self.ui.show_untrusted(conn.tls_fingerprint, conn.tls_changed)

    def _show_status(self) -> None:
        """The status bar: the connection's line, and while online how far the board is drawn."""
        conn, room = self.conn, self.room
        self.ui.status.extra = f"Zoom {round(self.viewport.zoom * 100)}%"  # 100%: the board fits
        if conn is None or room is None:
            return
        latency = conn.latency * 1000 if conn.latency is not None else None
        online = "Online, secure (TLS)" if conn.tls else "Online"
        if room.waiting:  # a burst being applied over frames (LIVE_BUDGET)
            online += f": catching up, {room.waiting} changes to show"
        elif self.canvas.behind and not self.canvas.painting:  # huge strokes painted over frames
            online += ": catching up, painting"
        state_text = online if conn.state == "online" else connection_text(conn)
        self.ui.set_status(state_text, conn.room, conn.nick, latency, conn.catchup_progress)

    def _chat_line(self, msg: Chat) -> None:
        if not self.ignores.hides(msg.user):
            self.ui.add_chat_message(msg)
        if msg.mail and self.conn is not None:  # a kept private line: shown, so the server may forget it
            self.conn.mail_shown(msg.mail)

    def _keep_work(self) -> None:
        """The server has been down a long while (the retries go on): write the board where the user
        will find it, as a safety net, and say where."""
        path = self.export_dir / f"pgboard-recovered-{time.strftime('%Y%m%d-%H%M%S')}.pgboard"
        try:
            boardfile.save(path, self.board.snapshot())
        except OSError as exc:
            self.ui.add_notice(f"Server down, and the board could not be saved to {path}: {exc}")
            return
        self.ui.add_notice(f"Server down: your work is kept in {path}; still retrying (F5: now)")

    # -- the input (pgboard/app_input.py) and what the user asks for (pgboard/app_actions.py)

    def handle_event(self, event: pygame.event.Event) -> None:
        app_input.handle_event(self, event)

    def do_action(self, action: str) -> None:
        actions.do_action(self, action)

    def pick_tool(self, name: str) -> None:
        actions.pick_tool(self, name)

    def pick_color(self, color: str) -> None:
        actions.pick_color(self, color)

    def pick_width(self, width: int) -> None:
        actions.pick_width(self, width)

    def send_chat(self, text: str) -> None:
        actions.send_chat(self, text)

    def toggle_fullscreen(self) -> None:
        actions.toggle_fullscreen(self)

    def export_png(self) -> Path | None:
        return actions.export_png(self)

    def save_board(self) -> Path | None:
        return actions.save_board(self)

    def open_board(self, path: Path, *, replace: bool = False) -> int:
        return actions.open_board(self, path, replace=replace)

    def choose_board_file(self) -> None:
        actions.choose_board_file(self)
