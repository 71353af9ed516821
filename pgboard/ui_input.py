"""Where a key, wheel turn or click over the panels goes (pgboard/ui.py's ``handle_event`` calls these
after the connect screen and the modal widgets had their turn): the chat, People, the toolbar, or the
app's own panel keys (Tab, F1, Enter, Page Up/Down). True: a panel used the event, the tool must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from .widgets.chat import WHEEL_ROWS

if TYPE_CHECKING:
    from .ui import UI

PAGE_KEYS = (pygame.K_PAGEUP, pygame.K_PAGEDOWN, pygame.K_HOME, pygame.K_END)
ENTER_KEYS = (pygame.K_RETURN, pygame.K_KP_ENTER)
LEGACY_WHEEL_BUTTONS = (4, 5)  # pygame still sends wheel turns as buttons 4 and 5 too


def key_event(ui: UI, event: pygame.event.Event) -> bool:
    if ui.chat.focused:
        return ui.chat.handle_event(event)
    over_people = ui.panels_visible and ui.user_list.rect.collidepoint(ui._pointer)
    if event.type == pygame.KEYDOWN and event.key in PAGE_KEYS and over_people and not ui.board_typing:
        ui.user_list.page(event.key)  # the keyboard scrolls People, the pointer over it
        return True
    if event.type == pygame.KEYDOWN and event.key in (pygame.K_PAGEUP, pygame.K_PAGEDOWN):
        if ui.panels_visible and not ui.board_typing:  # not an app shortcut: else the chat's
            ui.chat.page(+1 if event.key == pygame.K_PAGEUP else -1)
            return True
    if not ui.keyboard_shortcuts or ui.board_typing or event.type != pygame.KEYDOWN:
        if (
            event.type == pygame.TEXTINPUT
            and event.text == "?"
            and ui.keyboard_shortcuts
            and not ui.board_typing
        ):
            ui.toggle_help()
            return True
        return False
    plain = not event.mod & (pygame.KMOD_CTRL | pygame.KMOD_ALT | pygame.KMOD_META)
    if event.key == pygame.K_TAB and plain:
        ui.toggle_panels()
        return True
    if event.key == pygame.K_F1:
        ui.toggle_help()
        return True
    if event.key in ENTER_KEYS and plain:
        ui.focus_chat()
        return True
    return False


def over_panels(ui: UI, pos: tuple[int, int]) -> bool:
    if not ui.panels_visible:
        return False
    return any(r.collidepoint(pos) for r in (ui.toolbar.rect, ui.panel_rect, ui.status.rect))


def wheel(ui: UI, event: pygame.event.Event) -> bool:
    if not over_panels(ui, ui._pointer):
        return False
    if ui.chat.rect.collidepoint(ui._pointer):
        ui.chat.scroll_by(int(event.y) * WHEEL_ROWS)
    elif ui.user_list.rect.collidepoint(ui._pointer):
        ui.user_list.handle_event(event)
    return True


def pointer_event(ui: UI, event: pygame.event.Event) -> bool:
    if event.type == pygame.MOUSEMOTION:
        if ui.panels_visible:
            if ui.toolbar.rect.collidepoint(event.pos):
                ui.toolbar.handle_event(event)
            else:
                ui.toolbar.leave()
        return False  # motion is never taken from a tool (a drag may pass over a panel)
    if event.type == pygame.MOUSEBUTTONUP:
        was_ours, ui._press_on_ui = ui._press_on_ui, False
        return was_ours
    # MOUSEBUTTONDOWN
    if ui.chat.focused and not ui.chat.input.rect.collidepoint(event.pos):
        ui.chat.blur()
    if not over_panels(ui, event.pos):
        return False
    ui._press_on_ui = True
    if event.button in LEGACY_WHEEL_BUTTONS:
        return True
    for widget in (ui.toolbar, ui.user_list, ui.chat, ui.status):
        if widget.rect.collidepoint(event.pos):
            widget.handle_event(event)
            break
    return True
