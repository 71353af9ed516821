"""pgboard's widgets: one widget (or a small group) per module, managed by pgboard.ui.UI.

Each widget has a ``rect`` (or lays itself out), ``handle_event(event) -> bool`` (consumed) and
``draw(surface)``; they take colours and sizes from :mod:`.theme` and text from :class:`.text.FontSet`.
"""

from __future__ import annotations

from .chat import ChatPanel
from .connect import ConnectScreen
from .overlays import ConfirmDialog, ShortcutOverlay, Toast
from .palette import Palette
from .statusbar import StatusBar
from .text import FontSet
from .theme import user_color, user_color_hex
from .toolbar import ToolBar
from .userlist import UserList
from .width import WidthControl

__all__ = [
    "ChatPanel",
    "ConfirmDialog",
    "ConnectScreen",
    "FontSet",
    "Palette",
    "ShortcutOverlay",
    "StatusBar",
    "Toast",
    "ToolBar",
    "UserList",
    "WidthControl",
    "user_color",
    "user_color_hex",
]
