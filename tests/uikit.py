"""Test helpers for the UI: a real (dummy-driver) window, events posted through pygame's queue, and
what a user would see: the strings drawn (FontSet.trace) and the pixels of the surface.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pygame

from pgboard.settings import Settings
from pgboard.ui import UI

WINDOW = (1280, 800)
BOARD_FILL = (255, 255, 255)
CUSTOM = pygame.USEREVENT + 7  # marks our posted events apart from the window's own


def window(size: tuple[int, int] = WINDOW) -> pygame.Surface:
    if not pygame.get_init():
        pygame.init()
    current = pygame.display.get_surface()
    if current is not None and current.get_size() == size:
        return current
    return pygame.display.set_mode(size)


def make_ui(tmp_path: Path, size: tuple[int, int] = WINDOW, **kw: Any) -> UI:
    """A UI on a fresh window, settings in ``tmp_path``, with every callback recorded in ``ui.calls``."""
    window(size)
    kw.setdefault("settings", Settings(nick="alice"))
    ui = UI(size, settings_path=tmp_path / "settings.json", **kw)
    calls: list[tuple[Any, ...]] = []
    ui.calls = calls  # type: ignore[attr-defined]
    ui.on_tool = lambda name: calls.append(("tool", name))
    ui.on_color = lambda c: calls.append(("color", c))
    ui.on_width = lambda w: calls.append(("width", w))
    ui.on_action = lambda a: calls.append(("action", a))
    ui.on_send = lambda t: calls.append(("send", t))
    ui.on_connect = lambda *a, **kw: calls.append(("connect", *a, kw) if kw else ("connect", *a))
    ui.on_host = lambda *a: calls.append(("host", *a))
    return ui


def feed(ui: UI, *events: pygame.event.Event) -> list[bool]:
    """Post ``events`` through pygame's queue, then hand what comes back to the UI, in order.

    Returns whether the UI consumed each of our events.
    """
    pygame.event.get()  # drop whatever the window queued (WINDOWSHOWN, ...)
    for e in events:
        pygame.event.post(e)
    results = []
    for e in pygame.event.get():
        consumed = ui.handle_event(e)
        if e.type in {x.type for x in events}:
            results.append(consumed)
    return results


def click(ui: UI, pos: tuple[int, int], button: int = 1) -> bool:
    """Press and release at ``pos``; True when the press was consumed."""
    down = pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=button)
    up = pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=button)
    return feed(ui, down, up)[0]


def move(ui: UI, pos: tuple[int, int], buttons: tuple[int, int, int] = (0, 0, 0)) -> bool:
    return feed(ui, pygame.event.Event(pygame.MOUSEMOTION, pos=pos, rel=(0, 0), buttons=buttons))[0]


def key(ui: UI, k: int, mod: int = 0, unicode: str = "") -> bool:
    return feed(ui, pygame.event.Event(pygame.KEYDOWN, key=k, mod=mod, unicode=unicode, scancode=0))[0]


def type_text(ui: UI, *chunks: str) -> list[bool]:
    """Typing as an input method delivers it: one TEXTINPUT per chunk."""
    return feed(ui, *(pygame.event.Event(pygame.TEXTINPUT, text=c) for c in chunks))


def wheel(ui: UI, y: int) -> bool:
    return feed(
        ui, pygame.event.Event(pygame.MOUSEWHEEL, x=0, y=y, flipped=False, precise_x=0.0, precise_y=float(y))
    )[0]


def draw(ui: UI, size: tuple[int, int] | None = None) -> tuple[pygame.Surface, list[str]]:
    """The frame as the app would show it (a white board under the UI) and the strings drawn."""
    surface = pygame.Surface(size or ui.window.size)
    surface.fill(BOARD_FILL)
    ui.fonts.trace = []
    ui.draw(surface)
    texts, ui.fonts.trace = ui.fonts.trace, None
    return surface, texts


def colors_in(surface: pygame.Surface, rect: pygame.Rect) -> set[tuple[int, int, int]]:
    """Every RGB colour inside ``rect``."""
    rect = rect.clip(surface.get_rect())
    raw = pygame.image.tobytes(surface.subsurface(rect), "RGB")
    return set(zip(raw[0::3], raw[1::3], raw[2::3], strict=True))
