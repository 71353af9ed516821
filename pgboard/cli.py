"""``pgboard``: the command line of the client (options, the window, then :class:`pgboard.app.App`).

``pgboard`` alone opens the connect screen; ``--connect HOST:PORT`` joins at once (``--tls`` over
TLS), ``--host`` starts a server in this process and joins it.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

# pygame prints a greeting ("pygame-ce 2.5.8 (SDL ...)") on import: a line of noise on every start
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from pgboard.protocol import DEFAULT_PORT  # noqa: E402 - after the line above (no pygame in it)
from pgboard.sizes import WINDOW_SIZE  # noqa: E402
from pgboard.tls import normal_fingerprint  # noqa: E402

if TYPE_CHECKING:
    from pgboard.app import App

log = logging.getLogger(__name__)


def _parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``; an IPv6 address in brackets, ``[::1]:5151`` (its colons would be read as the
    port's otherwise, so a bare one with a port is refused rather than guessed)."""
    if text.startswith("["):
        host, close, rest = text[1:].partition("]")
        sep, port = rest[:1], rest[1:]
        if not close or sep != ":" or not host:
            raise argparse.ArgumentTypeError(f"expected [IPV6]:PORT, got {text!r}")
    else:
        host, sep, port = text.rpartition(":")
        if ":" in host:
            raise argparse.ArgumentTypeError(f"write an IPv6 address in brackets: [{host}]:{port}")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def _parse_port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 to 65535, got {text!r}")
    return int(text)


def _parse_size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    if not sep or not w.isdigit() or not h.isdigit():
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    return int(w), int(h)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pgboard",
        description="A collaborative whiteboard. With no options, a connect screen opens in the window.",
    )
    p.add_argument("--connect", metavar="HOST:PORT", type=_parse_address, help="join this server at once")
    p.add_argument("--host", action="store_true", help="start a local server in this process and join it")
    p.add_argument(
        "--port",
        type=_parse_port,
        default=DEFAULT_PORT,
        help=f"with --host: the port to listen on (default {DEFAULT_PORT}; a free one when it is taken, "
        "shown in the status bar; 0: any free one)",
    )
    p.add_argument(
        "--tls",
        action="store_true",
        help="connect over TLS, checking the server's certificate (the connect screen offers to trust a "
        "self-signed one by its fingerprint, remembered for that server)",
    )
    p.add_argument(
        "--tls-fingerprint",
        metavar="SHA256",
        type=_parse_fingerprint,
        help="with --tls: trust exactly the certificate with this SHA-256 fingerprint (as pgboard-server "
        "logs it at start)",
    )
    p.add_argument("--nick", help="your nickname (default: the last one used, else your login name)")
    p.add_argument("--room", help="the room (board) to join (default: the last one, else 'lobby')")
    p.add_argument("--db", help="SQLite file of the hosted server (default: ~/.local/share/pgboard/...)")
    p.add_argument("--open", metavar="FILE", type=Path, help="bring a saved board file into the room")
    p.add_argument("--size", type=_parse_size, default=WINDOW_SIZE, help="window size, e.g. 1280x800")
    p.add_argument("--fullscreen", action="store_true", help="start in full screen (F11 toggles)")
    p.add_argument("--export-dir", type=Path, help="where Ctrl+S and board files go (default: here)")
    p.add_argument(
        "--export-timelapse",
        metavar="FILE",
        type=Path,
        help="with --connect: write the room's history as an animated FILE (.gif or .webp) and exit, "
        "no window shown",
    )
    p.add_argument("--log-level", default="WARNING", help="DEBUG, INFO, WARNING or ERROR")
    return p


def main(argv: list[str] | None = None) -> int:
    # Ctrl+C from the very start (pygame and the app are imported below, after this): a flag, read
    # once the window and the app exist, so quitting early is as clean as quitting later
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    args = build_parser().parse_args(argv)
    if args.export_timelapse is not None:
        if not args.connect:
            build_parser().error("--export-timelapse needs --connect HOST:PORT")
        os.environ["SDL_VIDEODRIVER"] = "dummy"  # headless: no window
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    log.info("starting: opening the window")
    import pygame

    from pgboard.app import App

    # display and fonts only: pygame.init() would open the audio device too, whose mixing thread ran
    # all the time (0.3% of a core idle, measured) for a program that plays no sound
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_caption("pgboard")
    flags = pygame.FULLSCREEN if args.fullscreen else pygame.RESIZABLE
    screen = pygame.display.set_mode((0, 0) if args.fullscreen else args.size, flags)
    pygame.key.set_repeat(400, 35)
    app = App(screen, export_dir=args.export_dir, host_db=args.db)
    app.fullscreen = args.fullscreen
    settings = app.ui.settings
    nick = args.nick or settings.nick or _login_name()
    room = args.room or settings.room or "lobby"
    if args.host:
        app.host(nick, room, args.port)
    elif args.connect:
        app.ui.connect_screen.tls = args.tls
        app.connect(
            args.connect[0], args.connect[1], nick, room, tls=args.tls, fingerprint=args.tls_fingerprint or ""
        )
    if args.open is not None and not stop.requested:
        app.open_board(args.open)
    if args.export_timelapse is not None:
        from pgboard import timeline_view

        try:
            return timeline_view.export_headless(app, args.export_timelapse)
        finally:
            app.shutdown()
            pygame.quit()
    stop.app = app
    if stop.requested:
        app.running = False  # no frame: the app shuts down at once, as on a window close
    try:
        app.run()
    finally:
        pygame.quit()
    return 0


class _Stop:
    """SIGTERM and SIGINT (Ctrl+C in the terminal) end the loop after the frame under way (frames are
    bounded), then the app shuts down as on a window close: the hosted server stopped, the settings
    saved, and no KeyboardInterrupt traceback. Before the app exists the signal is only remembered.
    SDL turns SIGTERM into a QUIT event too, but only when nothing else set a handler first and only
    for a loop that reads its events: a flag does not depend on either."""

    def __init__(self) -> None:
        self.requested = False
        self.app: App | None = None

    def __call__(self, signum: int, _frame: object) -> None:
        log.info("signal %d: quitting", signum)
        self.requested = True
        if self.app is not None:
            self.app.running = False


def _parse_fingerprint(text: str) -> str:
    try:
        return normal_fingerprint(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _login_name() -> str:
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        return "guest"
    return "".join(ch for ch in name if ch.isalnum())[:24] or "guest"


if __name__ == "__main__":
    sys.exit(main())
