"""The App's input: events to the UI first, then the keys, the pointer and the wheel to the shortcuts,
the active tool, the viewport and the cursor sent to the room (a mixin of :class:`pgboard.app.App`:
the frame and its wiring stay there)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from pgboard import select_tool as selecting
from pgboard import shortcuts
from pgboard.protocol import Cursor

if TYPE_CHECKING:
    from pgboard.app import App

ZOOM_STEP = 1.25
WHEEL_ZOOM_STEP = 1.1
WHEEL_PAN = 60  # screen pixels per wheel notch
CURSOR_INTERVAL = 1 / 15  # seconds between two cursor positions we send
LASER_INTERVAL = 1 / 30  # and laser points: a smooth trail, well under the server's CURSOR_RATE (120/s)


def handle_event(app: App, event: pygame.event.Event) -> None:
    if event.type == pygame.QUIT:
        app.running = False
        return
    if event.type == pygame.VIDEORESIZE:
        resized(app)
    app.ui.board_typing = app.tool.is_typing
    if app.ui.handle_event(event):
        return
    if app.ui.connect_visible or app.timeline.handle_event(event):
        return
    if event.type == pygame.WINDOWSIZECHANGED:
        resized(app)
    elif event.type == pygame.KEYDOWN:
        key_down(app, event)
    elif event.type == pygame.KEYUP and event.key == pygame.K_SPACE:
        app._space = False
    elif event.type == pygame.TEXTINPUT:
        if app.tool.is_typing:
            app.tool.text_input(event.text)
    elif event.type == pygame.TEXTEDITING:
        if app.tool.is_typing:
            app.tool.text_editing(event.text, event.start)
    elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP, pygame.MOUSEMOTION):
        pointer_event(app, event)
    elif event.type == pygame.MOUSEWHEEL:
        wheel(app, event)


def key_down(app: App, event: pygame.event.Event) -> None:
    mod = getattr(event, "mod", 0)
    if app.tool.is_typing:
        app.tool.key_down(event.key, mod)  # the text tool owns every key while it types
        return
    if event.key == pygame.K_SPACE:
        app._space = True
        return
    if selecting.key_first(app, event.key, mod):
        return  # Ctrl+C of a selection, Ctrl+V
    if app.game.key(app, event.key):
        return  # 1-3 pick the word to draw while choosing
    action = shortcuts.action_for(event.key, mod, getattr(event, "unicode", ""))
    if action == "cancel" and app.tool.key_down(event.key, mod):
        return  # the tool used Esc (a drag put back, a shape dropped)
    if action is not None:
        app.do_action(action)
    else:
        app.tool.key_down(event.key, mod)


def pointer_event(app: App, event: pygame.event.Event) -> None:
    pos = event.pos
    app._pointer = pos
    mods = getattr(event, "mod", None)
    mods = pygame.key.get_mods() if mods is None else mods
    inside = app.ui.board_rect.collidepoint(pos)
    if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1 and app.game.click(app, pos):
        return
    if event.type == pygame.MOUSEBUTTONDOWN:
        if event.button == 2 or (event.button == 1 and app._space):
            app._pan_from = pos
        elif event.button == 1 and inside and app.tool.edits and app.room and app.room.read_only:
            app.ui.toast(app.room.blocked_text)  # nothing drawn here would be accepted: say why now
        elif event.button == 1 and inside:
            app.tool.pointer_down(app.viewport.to_board(pos), mods)
    elif event.type == pygame.MOUSEBUTTONUP:
        if app._pan_from is not None and event.button in (1, 2):
            app._pan_from = None
        elif event.button == 1:
            app.tool.pointer_up(app.viewport.to_board(pos), mods)
    else:
        if app._pan_from is not None:
            app.viewport.pan(pos[0] - app._pan_from[0], pos[1] - app._pan_from[1])
            app._pan_from = pos
            return
        board_pos = app.viewport.to_board(pos)
        app.tool.pointer_move(board_pos, mods)
        if inside and not getattr(app.tool, "shining", False):  # a laser sends its own points
            send_cursor(app, board_pos)


def send_cursor(app: App, board_pos: tuple[int, int], laser: bool = False) -> None:
    now = app.scheduler.now()
    interval = LASER_INTERVAL if laser else CURSOR_INTERVAL
    if app.conn is None or app.conn.state != "online" or now - app._last_sent[laser] < interval:
        return
    app._last_sent[laser] = now  # apart: a hover's cursor never holds back the laser's first point
    app.conn.send(Cursor(x=board_pos[0], y=board_pos[1], laser=laser))


def wheel(app: App, event: pygame.event.Event) -> None:
    if not app.ui.board_rect.collidepoint(app._pointer):
        return
    mods = getattr(event, "mod", None)  # posted events carry it; real ones do not
    if (pygame.key.get_mods() if mods is None else mods) & pygame.KMOD_CTRL:
        app.viewport.zoom_at(app._pointer, WHEEL_ZOOM_STEP**event.y)
    else:
        app.viewport.pan(-event.x * WHEEL_PAN, event.y * WHEEL_PAN)


def resized(app: App) -> None:
    app.screen = pygame.display.get_surface() or app.screen
    app.ui.layout(app.screen.get_size())
    app.viewport.resize(app.ui.board_rect)
