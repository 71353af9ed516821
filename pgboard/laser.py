"""The laser pointer's trails on the screen: each member's (mine too) as a tapering line in their
colour, fading toward the board behind it point by point (the trail model is Presence's: bounded in
points, each fading in LASER_FADE_S). Drawn over the board, under the panels; nothing is logged."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pygame

from pgboard.presence import Point
from pgboard.viewport import Viewport

LASER_WIDTH = 7  # screen pixels of the newest segment; the oldest is 1 (a comet's tail)
LASER_HEAD = 5  # the pointer's dot, radius in pixels, with a white core so it reads on any colour
WHITE = (255, 255, 255)

Trail = tuple[str, Sequence[tuple[Point, float]]]  # (author id, [(board point, age 0..1)], oldest first)


def draw_trails(
    surface: pygame.Surface,
    viewport: Viewport,
    trails: Sequence[Trail],
    color_of: Callable[[str], tuple[int, int, int]],
) -> None:
    """Draw ``trails`` (Presence.trails) on ``surface`` inside the board's screen rect."""
    if not trails:
        return
    clip = surface.get_clip()
    surface.set_clip(viewport.rect)
    try:
        for user, points in trails:
            color = color_of(user)
            screen = [viewport.to_screen(p) for p, _ in points]
            for i in range(1, len(points)):
                age = points[i][1]
                width = max(1, round(LASER_WIDTH * (1.0 - age)))
                pygame.draw.line(surface, _faded(color, age), screen[i - 1], screen[i], width)
            head, age = screen[-1], points[-1][1]
            if age < 0.5:  # the pointer itself, while it is fresh
                pygame.draw.circle(surface, color, head, LASER_HEAD)
                pygame.draw.circle(surface, WHITE, head, max(1, LASER_HEAD // 2))
    finally:
        surface.set_clip(clip)


def _faded(color: tuple[int, int, int], age: float) -> tuple[int, int, int]:
    """``color`` toward white as ``age`` goes from 0 to 1 (the board is white where nothing is drawn)."""
    a = min(max(age, 0.0), 1.0)
    return (
        round(color[0] + (255 - color[0]) * a),
        round(color[1] + (255 - color[1]) * a),
        round(color[2] + (255 - color[2]) * a),
    )
