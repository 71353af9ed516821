"""The look of pgboard's panels: colours, sizes and the default palette, in one place.

A calm light theme: panels in soft greys around a white board, one blue accent for focus and the
active tool, muted text for secondary information. Widgets take every colour and size from here.
"""

from __future__ import annotations

import hashlib

Color = tuple[int, int, int]


def hex_to_rgb(value: str) -> Color:
    """'#1e6fd9' -> (30, 111, 217)."""
    value = value.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def rgb_to_hex(rgb: tuple[int, int, int]) -> str:
    """(30, 111, 217) -> '#1e6fd9' (lower case, as the protocol wants)."""
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, int(c))) for c in rgb[:3]))


# Panel colours
PANEL_BG = (246, 247, 249)
PANEL_BORDER = (218, 221, 226)
PANEL_HEADER = (236, 238, 242)
TEXT = (31, 35, 40)
TEXT_MUTED = (107, 114, 128)
TEXT_FAINT = (156, 163, 175)
ACCENT = (47, 111, 237)
ACCENT_SOFT = (219, 231, 255)
ACCENT_HOVER = (33, 92, 208)
HOVER_BG = (230, 233, 238)
FIELD_BG = (255, 255, 255)
FIELD_BORDER = (200, 204, 211)
SELF_MARK = (107, 114, 128)
NOTICE_TEXT = (95, 104, 118)
NOTICE_BAR = (160, 168, 180)
PRIVATE_TEXT = (134, 46, 156)
ACTION_TEXT = (64, 80, 120)
ERROR_TEXT = (201, 42, 42)
ERROR_BG = (255, 236, 236)
TOOLTIP_BG = (33, 37, 41)
TOOLTIP_TEXT = (248, 249, 250)
TOOLTIP_MUTED = (173, 181, 189)
SCRIM = (15, 18, 24, 150)  # RGBA, over the board behind a dialog
CARD_BG = (255, 255, 255)
KEYCAP_BG = (241, 243, 245)
KEYCAP_BORDER = (206, 212, 218)
STATUS_BG = (236, 238, 242)
STATE_OK = (47, 158, 68)
STATE_WAIT = (240, 140, 0)
STATE_BAD = (224, 49, 49)
PROGRESS_BG = (214, 218, 224)
BUTTON_BG = (255, 255, 255)
BUTTON_PRIMARY_TEXT = (255, 255, 255)
DANGER = (224, 49, 49)

# Font sizes (pixels, as pygame.font.Font takes them)
FONT_SMALL = 12
FONT_UI = 14
FONT_CHAT = 14
FONT_TITLE = 20
FONT_HEADING = 16

# Layout sizes (pixels)
TOOLBAR_H = 48
STATUS_H = 26
PANEL_W = 300  # the right panel at a roomy window size
PANEL_MIN_W = 200
PANEL_MAX_FRACTION = 0.34  # of the window width
PAD = 8
GAP = 6
RADIUS = 6
BUTTON = 38  # a tool bar button, square
SWATCH = 24
INPUT_H = 30
SCROLLBAR_W = 4

# The nine palette colours (keys 1-9) of DESIGN.md; pleasant shades, lower-case for the protocol.
PALETTE: tuple[tuple[str, str], ...] = (
    ("black", "#000000"),
    ("blue", "#1c7ed6"),
    ("red", "#e03131"),
    ("green", "#2f9e44"),
    ("orange", "#f76707"),
    ("yellow", "#fab005"),
    ("cyan", "#15aabf"),
    ("purple", "#7048e8"),
    ("white", "#ffffff"),
)
DEFAULT_CUSTOM_COLOR = "#e64980"

# Tool bar actions: (name, label, shortcut, hint)
ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("undo", "Undo", "Ctrl+Z", "Undo your last change"),
    ("redo", "Redo", "Ctrl+Y", "Redo what you undid"),
    ("clear", "Erase all", "Ctrl+Del", "Erase everything you drew (asks first)"),
)

# User colours: twelve hues that read well on white and differ at a glance; an id picks one by hash.
USER_COLORS: tuple[str, ...] = (
    "#e03131", "#1971c2", "#2f9e44", "#9c36b5", "#e8590c", "#0c8599",
    "#c2255c", "#5f3dc4", "#66a80f", "#a0522d", "#495057", "#e67700",
)  # fmt: skip


def user_color(user_id: str) -> Color:
    """A stable colour for a user id, the same on every client and every run (for the user list, the
    chat and, through :func:`user_color_hex`, remote cursors on the canvas)."""
    digest = hashlib.sha1(user_id.encode("utf-8")).digest()
    return hex_to_rgb(USER_COLORS[int.from_bytes(digest[:4], "big") % len(USER_COLORS)])


def user_color_hex(user_id: str) -> str:
    """:func:`user_color` as '#rrggbb'."""
    return rgb_to_hex(user_color(user_id))
