"""Issue 10, attack 6: chat lines with the biggest valid cost, against the real client.

A guest on a real server sends 400 lines of 2,000 "W" (the widest valid line: ~110 wrapped rows each
in the 300-pixel panel, every one an RGBA surface before the fix); a malicious server replays 2,000
such history lines and keeps streaming more. The real App, driven frame by frame, must keep its chat
bounded: rows rendered per frame at most the rows the view shows, strings measured per frame within
the wrapping budget (widgets/chat.py WRAP_MEASURES_PER_FRAME, plus one line), the row cache within its
named bounds, and its memory growth within RSS_BUDGET_MIB. The real ``pgboard`` process must quit
within QUIT_WAIT of SIGTERM while the flood goes on.

Memory is the test process's VmRSS (SDL's surfaces are not Python objects: tracemalloc misses them).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pygame
import pytest
import reliability
from support import RawClient, running_server
from test_app import between_frames, joined, make_app

from pgboard import session_social
from pgboard.app import App
from pgboard.protocol import (
    MAX_TEXT,
    PROTOCOL_VERSION,
    CatchUp,
    CaughtUp,
    Chat,
    Codec,
    Hello,
    Join,
    Notice,
    Say,
    UserInfo,
    Welcome,
    encode,
)
from pgboard.widgets import chat as chat_mod
from pgboard.widgets import text as text_mod

pytestmark = pytest.mark.reliability


WAIT = 60.0  # a bound on a condition, never a pause (the fixed client shows the flood in a few seconds)
GUEST_LINES = 400
HISTORY_LINES = 2000
LIVE_LINES = 1000  # streamed after the history, and on until the client leaves
# Growth of the client's resident memory over a flood, what the chat may keep at most: the row cache
# (MAX_CACHED_ROW_PIXELS RGBA, 7.6 MiB), the text of the MAX_ENTRIES lines kept and as many waiting
# (2 x 1,000 x 2,000 characters, ~4 MiB), the replay memory (session_social MAX_CHAT_REMEMBERED, ~2 MiB), and
# the in-process server's and the allocator's share. Before the fix: 835 MiB for 400 lines.
RSS_BUDGET_MIB = 48
# One line's wrapping runs past the frame's budget once it has started (a folded 2,000-"W" line: 57).
ONE_LINE_MEASURES = 200
QUIT_WAIT = 10.0  # seconds from SIGTERM to the process's exit, at most (it takes well under one)
SHOT = Path("/tmp/pgboard-chat-flood.png")  # the App's window after the flood, to look at


def flood_text(i: int) -> str:
    tag = f"{i:05d}"
    return tag + "W" * (MAX_TEXT - len(tag))


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


class ChatMeter:
    """Counts, per frame, the chat's work on flood lines: rows rendered (FontSet._render of a flood
    row) and strings measured (FontSet.width of flood text), and the lines the UI was handed."""

    def __init__(self, app: App) -> None:
        self.app = app
        fonts = app.ui.fonts
        real_render, real_width, real_add = fonts._render, fonts.width, app.ui.chat.add_chat
        self.rendered = self.measured = self.received = 0
        self.max_rendered = self.max_measured = self.total_rendered = 0
        self.frames = 0

        def render(text: str, *args: object) -> pygame.Surface:
            if "WWW" in text:
                self.rendered += 1
            return real_render(text, *args)

        def width(text: str, *args: object, **kw: object) -> int:
            if "WWW" in text:
                self.measured += 1
            return real_width(text, *args, **kw)

        def add_chat(*args: object, **kw: object) -> None:
            self.received += 1
            real_add(*args, **kw)

        fonts._render = render  # type: ignore[method-assign]
        fonts.width = width  # type: ignore[method-assign]
        app.ui.chat.add_chat = add_chat  # type: ignore[method-assign]

    def frame(self, events: list[pygame.event.Event] | None = None) -> None:
        self.rendered = self.measured = 0
        self.app.frame(events or [])
        self.frames += 1
        self.total_rendered += self.rendered
        self.max_rendered = max(self.max_rendered, self.rendered)
        self.max_measured = max(self.max_measured, self.measured)
        chat = self.app.ui.chat
        assert self.rendered <= chat.visible_count, (
            f"frame {self.frames} rendered {self.rendered} chat rows; the view shows {chat.visible_count}"
        )
        budget = chat_mod.WRAP_MEASURES_PER_FRAME + ONE_LINE_MEASURES
        assert self.measured <= budget, (
            f"frame {self.frames} measured {self.measured} strings (budget {budget})"
        )

    def run_until(self, condition: Callable[[], object], timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"not within {timeout} s ({self.received} lines received)"
            self.frame()
            between_frames(self.app)


def assert_chat_bounded(app: App) -> None:
    chat = app.ui.chat
    assert len(chat.entries) <= chat_mod.MAX_ENTRIES and chat.waiting <= chat_mod.MAX_ENTRIES
    assert chat.total_rows <= len(chat.entries) * chat_mod.FOLD_ROWS
    assert len(chat._surfaces) <= chat_mod.MAX_CACHED_ROWS
    assert chat._cached_pixels <= chat_mod.MAX_CACHED_ROW_PIXELS
    assert app.conn is not None and app.conn.session.social.remembered <= session_social.MAX_CHAT_REMEMBERED


def flood_rows_on_screen(app: App) -> list[str]:
    return [r for r in app.ui.chat.visible_rows() if "WWW" in r]


# -- a guest on a real server


def test_a_guest_flooding_the_chat_with_the_widest_lines_costs_the_client_bounded_work(screen, tmp_path):
    limits = {"chat_rate": 0, "address_chat_rate": 0}  # one address, as fast as TCP goes
    with running_server(**limits) as server:
        app = joined(make_app(screen, tmp_path), server)
        meter = ChatMeter(app)
        gc.collect()
        before = rss_mib()
        cpu = time.process_time()
        with RawClient(server.address) as guest:
            guest.join("mallory", room="r")
            for i in range(GUEST_LINES):
                guest.send(Say(flood_text(i)))
            meter.run_until(lambda: meter.received >= GUEST_LINES and not app.ui.chat.waiting)
        cpu = time.process_time() - cpu
        gc.collect()
        grown = rss_mib() - before
        pygame.image.save(app.screen, str(SHOT))
        chat = app.ui.chat
        assert_chat_bounded(app)
        shown = flood_rows_on_screen(app)
        assert shown and shown[-1].endswith(chat_mod.FOLD_MARK)  # the newest line, folded, at the bottom
        assert any(flood_text(GUEST_LINES - 1)[:5] in r for r in shown)
        assert grown <= RSS_BUDGET_MIB, f"the client grew {grown:.1f} MiB (budget {RSS_BUDGET_MIB})"
        rows_kept = chat.total_rows
        app.shutdown()
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"chat: a guest sends {GUEST_LINES} lines of 2,000 'W' (rate limits off) to a real App",
            bound=(
                f"FOLD_ROWS={chat_mod.FOLD_ROWS} rows a line ('… show all'), rows rendered only on screen "
                f"(MAX_CACHED_ROWS={chat_mod.MAX_CACHED_ROWS}, MAX_CACHED_ROW_PIXELS="
                f"{chat_mod.MAX_CACHED_ROW_PIXELS:,}), WRAP_MEASURES_PER_FRAME="
                f"{chat_mod.WRAP_MEASURES_PER_FRAME}; client RSS growth <= {RSS_BUDGET_MIB} MiB"
            ),
            measured=(
                f"client RSS {before:.0f} -> {before + grown:.0f} MiB (+{grown:.1f}; before: 68 -> 903); "
                f"{meter.total_rendered} flood rows rendered in {meter.frames} frames (most in one frame "
                f"{meter.max_rendered}, view {chat.visible_count}; before: ~130 per line, 52,000), "
                f"most measures in a frame {meter.max_measured}; {rows_kept} rows in the log; "
                f"{cpu:.1f} s CPU (client and server in one process; before ~31 s)"
            ),
        )
    )


# -- a malicious server


class FloodServer:
    """A server that speaks just enough of the protocol (hello, welcome, catch_up, caught_up), then
    replays ``history`` chat lines of 2,000 characters and streams more (or the ``live`` frames, over
    and over) until the client leaves."""

    def __init__(self, history: int = HISTORY_LINES, live: list[bytes] | None = None) -> None:
        self.live = live
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.history = history
        self.sent = 0
        self.history_sent = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="flood-server", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.listener.settimeout(WAIT)
        with contextlib.suppress(OSError):
            sock, _ = self.listener.accept()
            with sock:
                sock.settimeout(WAIT)
                self._flood(sock)

    def _flood(self, sock: socket.socket) -> None:
        sock.sendall(encode(Hello(PROTOCOL_VERSION, "flood")))
        codec = Codec()
        join = None
        while join is None:
            data = sock.recv(65536)
            if not data:
                return
            codec.receive_data(data)
            join = next((m for m in codec.messages() if isinstance(m, Join)), None)
        me = UserInfo("u1", join.nick)
        sock.sendall(
            encode(Welcome("u1", join.nick, join.room or "lobby", (me,), 0))
            + encode(CatchUp(0, "board"))
            + encode(CaughtUp(0))
        )
        stamp = int(time.time())
        for start in range(0, self.history, 100):
            batch = [
                encode(Chat("say", "u2", "mallory", flood_text(i), history=True, time=stamp))
                for i in range(start, min(self.history, start + 100))
            ]
            sock.sendall(b"".join(batch))
            self.sent += len(batch)
        self.history_sent.set()
        live = self.live or [
            encode(Chat("say", "u2", "mallory", flood_text(i), time=stamp)) for i in range(100)
        ]
        while not self.stopping.is_set():
            sock.sendall(b"".join(live))
            self.sent += len(live)

    def close(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(WAIT)


@pytest.fixture
def flood_server() -> Iterator[FloodServer]:
    server = FloodServer()
    yield server
    server.close()


def test_a_server_flooding_history_chat_costs_the_client_bounded_work(screen, tmp_path, flood_server):
    app = make_app(screen, tmp_path)
    meter = ChatMeter(app)
    gc.collect()
    before = rss_mib()
    app.connect("127.0.0.1", flood_server.port, "alice", "r")
    target = HISTORY_LINES + LIVE_LINES
    meter.run_until(lambda: meter.received >= target)
    gc.collect()
    grown = rss_mib() - before
    assert_chat_bounded(app)
    assert flood_rows_on_screen(app)
    assert grown <= RSS_BUDGET_MIB, f"the client grew {grown:.1f} MiB (budget {RSS_BUDGET_MIB})"
    meter.frame([pygame.event.Event(pygame.QUIT)])  # the window closed mid-flood: one more frame, and out
    assert not app.running
    dropped = app.ui.chat.lines_dropped
    app.shutdown()
    reliability.record_abuse(
        reliability.Abuse(
            attack=(
                f"chat: a malicious server replays {HISTORY_LINES:,} history lines of 2,000 characters, then "
                "streams more, to a real App"
            ),
            bound=(
                f"lines wrapped under WRAP_MEASURES_PER_FRAME={chat_mod.WRAP_MEASURES_PER_FRAME} a frame, "
                f"at most MAX_ENTRIES={chat_mod.MAX_ENTRIES} kept and as many waiting (older ones skipped), "
                f"rows rendered only on screen; client RSS growth <= {RSS_BUDGET_MIB} MiB"
            ),
            measured=(
                f"{meter.received:,} lines in {meter.frames} frames; client RSS {before:.0f} -> "
                f"{before + grown:.0f} MiB (+{grown:.1f}; before the fix 2.2 GB and over a minute hung); "
                f"most flood rows rendered in a frame {meter.max_rendered}, most measures "
                f"{meter.max_measured}; {dropped:,} lines skipped unshown; window close obeyed in one frame"
            ),
        )
    )


def test_the_pgboard_process_quits_on_sigterm_while_a_server_floods_its_chat(tmp_path, flood_server):
    script = Path(sys.executable).with_name("pgboard")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pgboard.cli"]
    env = dict(
        os.environ,
        SDL_VIDEODRIVER="dummy",
        SDL_AUDIODRIVER="dummy",
        HOME=str(tmp_path),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
    )
    client = subprocess.Popen(
        [
            *command,
            "--connect",
            f"127.0.0.1:{flood_server.port}",
            "--nick",
            "x",
            "--export-dir",
            str(tmp_path),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "client.log", "wb"),  # noqa: SIM115  (closed with the process)
    )
    try:
        deadline = time.monotonic() + WAIT
        while flood_server.sent < HISTORY_LINES // 2:  # the client is reading the flood
            assert client.poll() is None, "the client died in the flood"
            assert time.monotonic() < deadline, f"the flood did not start ({flood_server.sent} lines sent)"
            flood_server.history_sent.wait(0.05)  # a bounded wait on an event, not a pause
        sent_at_signal = flood_server.sent
        start = time.monotonic()
        client.send_signal(signal.SIGTERM)
        try:
            code = client.wait(QUIT_WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"pgboard still running {QUIT_WAIT} s after SIGTERM") from None
        took = time.monotonic() - start
    finally:
        if client.poll() is None:
            client.kill()
            client.wait(WAIT)
    assert code == 0, (tmp_path / "client.log").read_text()
    reliability.record_abuse(
        reliability.Abuse(
            attack="SIGTERM to the pgboard process while a server floods its chat with 2,000-character lines",
            bound=f"the loop ends after the frame (a flag set by the signal), out in {QUIT_WAIT:.0f} s",
            measured=(
                f"quit {took:.2f} s after SIGTERM, exit code 0 ({sent_at_signal:,} lines sent by then); "
                "before the fix the client ignored it for over a minute"
            ),
        )
    )


# -- beyond the widest line: the most lines, the narrowest characters

HOSTILE = {
    "a notice of 65,535 newlines": Notice("\n" * 65535),
    "a notice of 43,000 zero-width spaces": Notice("\u200b" * 43000),
    "a notice of one letter and 43,000 combining accents": Notice("e" + "\u0301" * 43000),
    "chat lines of one letter and 1,999 combining accents": Chat(
        "say", "u2", "mallory", "e" + "\u0301" * 1999
    ),
}
HOSTILE_FRAMES = 2 * chat_mod.MAX_ENTRIES + 100  # of each kind: enough to fill the log and the waiting
SLACK_CHARS = 4000  # the other widgets' own measuring and rendering in a frame (labels, status)


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_server_sending_the_most_lines_or_the_narrowest_characters_costs_bounded_work(
    screen, tmp_path, kind
):
    frame = encode(HOSTILE[kind])
    server = FloodServer(history=0, live=[frame] * 10)
    app = make_app(screen, tmp_path)
    fonts, chat = app.ui.fonts, app.ui.chat
    real_width, real_render, real_append = fonts.width, fonts._render, chat._append
    work = {"measured": 0, "rendered": 0, "entries": 0}
    got = [0]

    def width(text: str, *args: object, **kw: object) -> int:
        work["measured"] += len(text)
        return real_width(text, *args, **kw)

    def render(text: str, *args: object) -> pygame.Surface:
        work["rendered"] += len(text)
        return real_render(text, *args)

    def append(entry: object) -> None:
        work["entries"] += 1
        real_append(entry)

    fonts.width, fonts._render, chat._append = width, render, append  # type: ignore[method-assign]
    for name in ("add_notice", "add_chat"):
        real = getattr(app.ui, name)

        def counted(*args: object, real: Callable[..., None] = real, **kw: object) -> None:
            got[0] += 1
            real(*args, **kw)

        setattr(app.ui, name, counted)
    try:
        gc.collect()
        before = rss_mib()
        app.connect("127.0.0.1", server.port, "alice", "r")
        most = {k: 0 for k in work}
        frames = 0
        deadline = time.monotonic() + WAIT
        while got[0] < HOSTILE_FRAMES:
            assert time.monotonic() < deadline, f"not within {WAIT} s ({got[0]} received)"
            for k in work:
                work[k] = 0
            received = got[0]
            app.frame([])
            frames += 1
            lines = got[0] - received
            # what one frame may do: wrap under its budget (one unit per 8 characters) plus one line,
            # render at most the rows it shows (each at most MAX_LINE_CHARS and the mark), make at most
            # MAX_NOTICE_LINES + 1 entries of each line it received
            assert work["measured"] <= 8 * (chat_mod.WRAP_MEASURES_PER_FRAME + 600) + SLACK_CHARS, work
            row_chars = text_mod.MAX_LINE_CHARS + len(chat_mod.FOLD_MARK)
            assert work["rendered"] <= chat.visible_count * row_chars + SLACK_CHARS, work
            assert work["entries"] <= lines * (chat_mod.MAX_NOTICE_LINES + 1), work
            most = {k: max(most[k], work[k]) for k in work}
            between_frames(app)
        gc.collect()
        grown = rss_mib() - before
        assert grown <= RSS_BUDGET_MIB, f"the client grew {grown:.1f} MiB (budget {RSS_BUDGET_MIB})"
        app.shutdown()
    finally:
        server.close()
    reliability.record_abuse(
        reliability.Abuse(
            attack=f"chat: a malicious server streams {kind} to a real App",
            bound=(
                f"MAX_NOTICE_LINES={chat_mod.MAX_NOTICE_LINES} lines a notice, MAX_ENTRY_CHARS="
                f"{chat_mod.MAX_ENTRY_CHARS} characters a line, MAX_LINE_CHARS="
                f"{text_mod.MAX_LINE_CHARS} characters a row, WRAP_MEASURES_PER_FRAME="
                f"{chat_mod.WRAP_MEASURES_PER_FRAME}; client RSS growth <= {RSS_BUDGET_MIB} MiB"
            ),
            measured=(
                f"{got[0]} received in {frames} frames; most in a frame: {most['measured']:,} characters "
                f"measured, {most['rendered']:,} rendered, {most['entries']:,} entries made; "
                f"client RSS +{grown:.1f} MiB"
            ),
        )
    )
