"""Draw pgboard's tool bar icons into pgboard/assets/icons/*.png (run once; the PNGs are committed).

Each icon is drawn with pygame.draw at SCALE times its final size on a transparent surface, then
smooth-scaled down, which gives clean anti-aliased edges without any image editor. The icons are the
project's own work, dedicated to the public domain (CC0); see pgboard/assets/LICENSE.txt.

Usage: python tools/make_icons.py [output_dir]
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

SIZE = 32  # final icon size in pixels
SCALE = 4  # drawn at SIZE * SCALE, then smooth-scaled down
BIG = SIZE * SCALE
INK = (43, 47, 54)  # the icon colour: the UI's text colour
ACCENT = (47, 111, 237)  # a touch of colour on a few icons
ERASER_PINK = (240, 140, 150)
PENCIL_YELLOW = (255, 214, 102)
STROKE = 9  # line thickness at the big scale (about 2 px at the final size)
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "pgboard" / "assets" / "icons"

Drawer = Callable[[pygame.Surface], None]


def _p(x: float, y: float) -> tuple[int, int]:
    """A point given in final-size units (0..32), at the big scale."""
    return (round(x * SCALE), round(y * SCALE))


def _thick_line(s: pygame.Surface, a: tuple[float, float], b: tuple[float, float], color=INK) -> None:
    """A line with round caps: pygame's wide lines have square, ragged ends."""
    pa, pb = _p(*a), _p(*b)
    pygame.draw.line(s, color, pa, pb, STROKE)
    pygame.draw.circle(s, color, pa, STROKE // 2)
    pygame.draw.circle(s, color, pb, STROKE // 2)


def _polyline(s: pygame.Surface, pts: list[tuple[float, float]], color=INK) -> None:
    for a, b in zip(pts, pts[1:], strict=False):
        _thick_line(s, a, b, color)


def pencil(s: pygame.Surface) -> None:
    # a pencil lying from bottom-left (tip) to top-right
    body = [(9, 27), (6, 26), (5, 23), (21, 7), (25, 11)]
    pygame.draw.polygon(s, INK, [_p(*pt) for pt in [(8.5, 26.5), (5.5, 23.5), (21, 8), (24, 11)]], 0)
    wood = [(9, 24.8), (7.2, 23), (20.5, 9.7), (22.3, 11.5)]
    pygame.draw.polygon(s, PENCIL_YELLOW, [_p(*pt) for pt in wood])
    pygame.draw.polygon(s, INK, [_p(*pt) for pt in [(5.5, 23.5), (8.5, 26.5), (4, 28)]])
    pygame.draw.polygon(s, ERASER_PINK, [_p(*pt) for pt in [(21, 8), (23.5, 5.5), (26.5, 8.5), (24, 11)]])
    _polyline(s, [body[3], (23.5, 5.5), (26.5, 8.5), body[4]])


def line(s: pygame.Surface) -> None:
    _thick_line(s, (7, 25), (25, 7))
    pygame.draw.circle(s, ACCENT, _p(7, 25), 3 * SCALE)
    pygame.draw.circle(s, ACCENT, _p(25, 7), 3 * SCALE)


def rect(s: pygame.Surface) -> None:
    pygame.draw.rect(s, INK, pygame.Rect(_p(5, 9), _p(22, 15)), STROKE, border_radius=SCALE)


def oval(s: pygame.Surface) -> None:
    pygame.draw.ellipse(s, INK, pygame.Rect(_p(4, 9), _p(24, 15)), STROKE)


def circle(s: pygame.Surface) -> None:
    pygame.draw.circle(s, INK, _p(16, 16), 11 * SCALE, STROKE)


def square(s: pygame.Surface) -> None:
    pygame.draw.rect(s, INK, pygame.Rect(_p(6, 6), _p(20, 20)), STROKE, border_radius=SCALE)


def text(s: pygame.Surface) -> None:
    # a serif-less capital T built from rectangles
    pygame.draw.rect(s, INK, pygame.Rect(_p(7, 6), _p(18, 4)), border_radius=SCALE)
    pygame.draw.rect(s, INK, pygame.Rect(_p(14, 6), _p(4, 20)), border_radius=SCALE)
    pygame.draw.rect(s, INK, pygame.Rect(_p(11, 24), _p(10, 2.5)), border_radius=SCALE)


def eraser(s: pygame.Surface) -> None:
    # a block eraser tilted 45 degrees: pink half, dark outline, and a base line
    c, sn = math.cos(math.radians(-45)), math.sin(math.radians(-45))

    def rot(x: float, y: float) -> tuple[float, float]:
        x, y = x - 16, y - 15
        return (16 + x * c - y * sn, 15 + x * sn + y * c)

    outline = [rot(4, 11), rot(28, 11), rot(28, 20), rot(4, 20)]
    pink = [rot(4, 11), rot(14, 11), rot(14, 20), rot(4, 20)]
    pygame.draw.polygon(s, ERASER_PINK, [_p(*pt) for pt in pink])
    pygame.draw.polygon(s, INK, [_p(*pt) for pt in outline], STROKE)
    _thick_line(s, (12, 28), (27, 28))


def drag(s: pygame.Surface) -> None:
    # four arrows out of the centre
    _thick_line(s, (16, 4), (16, 28))
    _thick_line(s, (4, 16), (28, 16))
    for tip, left, right in (
        ((16, 3), (12, 8), (20, 8)),
        ((16, 29), (12, 24), (20, 24)),
        ((3, 16), (8, 12), (8, 20)),
        ((29, 16), (24, 12), (24, 20)),
    ):
        pygame.draw.polygon(s, INK, [_p(*tip), _p(*left), _p(*right)])


def _curved_arrow(s: pygame.Surface, mirror: bool) -> None:
    def m(x: float, y: float) -> tuple[float, float]:
        return (32 - x, y) if mirror else (x, y)

    # a half circle from the left to the right, arrow head at the left end pointing left
    pts = []
    for i in range(0, 181, 10):
        a = math.radians(180 + i)
        pts.append(m(17 + 8 * math.cos(a), 18 + 8 * math.sin(a)))
    pts.append(m(25, 24))
    _polyline(s, pts)
    head = [m(4, 18), m(13, 13), m(13, 23)]
    pygame.draw.polygon(s, INK, [_p(*pt) for pt in head])


def undo(s: pygame.Surface) -> None:
    _curved_arrow(s, mirror=False)


def redo(s: pygame.Surface) -> None:
    _curved_arrow(s, mirror=True)


def clear(s: pygame.Surface) -> None:
    # a waste bin
    red = (224, 49, 49)
    _thick_line(s, (6, 9), (26, 9), red)
    _polyline(s, [(12, 9), (13, 5), (19, 5), (20, 9)], red)
    pygame.draw.polygon(s, red, [_p(*pt) for pt in [(8, 11), (24, 11), (22.5, 28), (9.5, 28)]], STROKE)
    for x in (13, 16, 19):
        _thick_line(s, (x, 15), (x, 24), red)


LASER_RED = (229, 57, 53)


def laser(s: pygame.Surface) -> None:
    # a bright dot with a tail of shrinking, paling dots behind it: a pointer's fading trail
    tail = [(5, 27), (7.5, 23.5), (10.5, 20.5), (14, 17.5), (17.5, 14.5), (21, 11.5)]
    for i, (x, y) in enumerate(tail):
        k = (i + 1) / len(tail)
        color = tuple(round(c + (255 - c) * (1 - k) * 0.7) for c in LASER_RED)
        pygame.draw.circle(s, color, _p(x, y), round((1 + 2.2 * k) * SCALE))
    pygame.draw.circle(s, LASER_RED, _p(24.5, 8), 5 * SCALE)
    pygame.draw.circle(s, INK, _p(24.5, 8), 5 * SCALE, STROKE - 3)  # outlined like the other icons
    pygame.draw.circle(s, (255, 255, 255), _p(24.5, 8), 2 * SCALE)


ICONS: dict[str, Drawer] = {
    "pencil": pencil,
    "line": line,
    "rect": rect,
    "oval": oval,
    "circle": circle,
    "square": square,
    "text": text,
    "eraser": eraser,
    "drag": drag,
    "laser": laser,
    "undo": undo,
    "redo": redo,
    "clear": clear,
}


def render(draw: Drawer) -> pygame.Surface:
    big = pygame.Surface((BIG, BIG), pygame.SRCALPHA)
    draw(big)
    return pygame.transform.smoothscale(big, (SIZE, SIZE))


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    pygame.init()
    for name, draw in ICONS.items():
        pygame.image.save(render(draw), str(out / f"{name}.png"))
    print(f"wrote {len(ICONS)} icons to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
