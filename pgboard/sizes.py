"""Stroke widths, text sizes and the window's: the one table the app's [ and ] keys, the width
control's - and + buttons and presets, the settings' default, the tools' context and the command line
read. Pure data, no pygame."""

from __future__ import annotations

from pgboard.protocol import MAX_WIDTH

DEFAULT_WIDTH = 3  # board units: a pen line that reads at any zoom
WIDTH_STEPS = (1, 2, 3, 5, 8, 12, 18, 26, 36, 48, MAX_WIDTH)  # what [ and ] (and - and +) step through
WIDTH_PRESETS = (2, 5, 12, 26)  # the width control's one-click dots
TEXT_SIZE = 56  # board units: a text readable when the whole board fits a laptop screen
WINDOW_SIZE = (1280, 800)  # the window's size in pixels unless --size or full screen says otherwise


def step_width(width: int, direction: int, steps: tuple[int, ...] = WIDTH_STEPS) -> int:
    """The next width of ``steps`` above (``direction`` > 0) or below ``width``; at either end the
    last step (a width past the ends comes back inside)."""
    if direction > 0:
        return next((w for w in steps if w > width), steps[-1])
    return next((w for w in reversed(steps) if w < width), steps[0])
