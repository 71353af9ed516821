"""Make docs/screenshot.png: a real session seen from Alice's client, with Bob drawing and chatting.

Runs the real client (pygame, dummy video driver) against a real server on loopback; Alice's drawing
is made from pointer events as the mouse would make them, Bob's arrives over the protocol. Run it from
the repository: ``.venv/bin/python tools/readme_screenshot.py``.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
from pgboard_server.server import BoardServer  # noqa: E402

from pgboard import ids  # noqa: E402
from pgboard.app import App  # noqa: E402
from pgboard.protocol import (  # noqa: E402
    Add,
    BoardObject,
    Codec,
    Extend,
    Hello,
    Join,
    Say,
    encode,
)

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


def event(kind: int, **fields: object) -> pygame.event.Event:
    fields.setdefault("mod", 0)
    return pygame.event.Event(kind, **fields)


def key(app: App, k: int, text: str) -> None:
    app.frame([event(pygame.KEYDOWN, key=k, unicode=text, scancode=0)])


def drag(app: App, points: list[tuple[int, int]]) -> None:
    app.frame([event(pygame.MOUSEBUTTONDOWN, pos=points[0], button=1)])
    for p in points[1:]:
        app.frame([event(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0))])
    app.frame([event(pygame.MOUSEBUTTONUP, pos=points[-1], button=1)])


def settle(app: App, frames: int = 30) -> None:
    for _ in range(frames):
        app.frame([])


BOB = ids.scoped(ids.device_id("bob-secret"), "")  # bob's object ids are in his scope (docs/PROTOCOL.md)


def bob_joins(address: tuple[str, int]) -> socket.socket:
    sock = socket.create_connection(address, timeout=5)
    codec = Codec()
    while not any(isinstance(m, Hello) for m in _read(sock, codec)):
        pass
    sock.sendall(encode(Join(nick="bob", room="design", client="bob-secret")))
    return sock


def _read(sock: socket.socket, codec: Codec) -> list[object]:
    codec.receive_data(sock.recv(65536))
    return list(codec.messages())


def bob_draws(sock: socket.socket) -> None:
    wave = tuple((1700 + i * 18, int(1150 + 120 * math.sin(i / 5))) for i in range(60))
    sock.sendall(
        encode(
            Add(
                oid="b1",
                obj=BoardObject(id=BOB + "1", kind="pencil", points=wave[:2], color="#e03131", width=8),
            )
        )
        + encode(Extend(oid="b2", id=BOB + "1", points=wave[2:]))
        + encode(
            Add(
                oid="b3",
                obj=BoardObject(
                    id=BOB + "2", kind="circle", points=((2300, 300), (2700, 700)), color="#2f9e44", width=10
                ),
            )
        )
        + encode(
            Add(
                oid="b4",
                obj=BoardObject(
                    id=BOB + "3",
                    kind="text",
                    points=((1750, 1400),),
                    text="API gateway → 認証 ✓",
                    color="#7048e8",
                    size=64,
                ),
            )
        )
        + encode(Say(text="I sketched the retry loop in red"))
        + encode(Say(text="/me adds a health check 🩺"))
    )


def main() -> int:
    pygame.init()
    screen = pygame.display.set_mode((1280, 800))
    with tempfile.TemporaryDirectory() as tmp:
        server = BoardServer("127.0.0.1", 0, ":memory:")
        server.start()
        try:
            app = App(
                screen, settings_path=Path(tmp) / "settings.json", export_dir=Path(tmp), save_settings=False
            )
            app.connect("127.0.0.1", server.address[1], "alice", "design")
            deadline = time.monotonic() + 5
            while app.conn is not None and app.conn.state != "online" and time.monotonic() < deadline:
                app.frame([])
            bob = bob_joins(server.address)
            settle(app)
            r = app.ui.board_rect
            at = lambda fx, fy: (int(r.x + r.w * fx), int(r.y + r.h * fy))  # noqa: E731
            key(app, pygame.K_2, "2")
            key(app, pygame.K_RIGHTBRACKET, "]")
            key(app, pygame.K_r, "r")
            drag(app, [at(0.08, 0.22), at(0.2, 0.3), at(0.32, 0.42)])
            key(app, pygame.K_o, "o")
            drag(app, [at(0.08, 0.55), at(0.32, 0.75)])
            key(app, pygame.K_l, "l")
            drag(app, [at(0.33, 0.33), at(0.5, 0.6)])
            key(app, pygame.K_5, "5")
            key(app, pygame.K_p, "p")
            drag(app, [at(0.36 + 0.012 * i, 0.2 + 0.05 * math.sin(i / 2)) for i in range(16)])
            key(app, pygame.K_t, "t")
            key(app, pygame.K_1, "1")
            drag(app, [at(0.1, 0.45)])
            app.frame([event(pygame.TEXTINPUT, text="Client")])
            key(app, pygame.K_RETURN, "\r")
            bob_draws(bob)
            settle(app, 60)
            key(app, pygame.K_RETURN, "\r")
            app.frame([event(pygame.TEXTINPUT, text="Looks good! Let's keep the cache ✨")])
            key(app, pygame.K_RETURN, "\r")
            settle(app, 60)
            app.frame([event(pygame.MOUSEMOTION, pos=at(0.46, 0.24), rel=(0, 0), buttons=(0, 0, 0))])
            settle(app, 5)
            pygame.image.save(screen, str(OUT))
            app.shutdown()
            bob.close()
        finally:
            server.stop()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
