"""docs/PROTOCOL.md's byte-exact session transcript, replayed against a live server.

Each ``C:`` line is sent byte for byte (the UTF-8 of the line after "C: "), each ``S:`` line must be
exactly the next frame received on that connection. The doc cannot drift from the server.
"""

from __future__ import annotations

import re
from pathlib import Path

from support import WAIT, Closed, RawClient, ServerProcess, running_server

from pgboard.protocol import TERMINATOR, decode_frame

DOC = Path(__file__).resolve().parent.parent / "docs" / "PROTOCOL.md"
FIXED_TIME = 1_700_000_000  # the doc says so
LINE = re.compile(r"(C|S)(\d*): (.*)\Z")


def transcript() -> list[tuple[str, str, str]]:
    """(side, connection, text) for each line of the doc's ```transcript block."""
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"^```transcript\n(.*?)^```$", text, re.S | re.M)
    assert block, "docs/PROTOCOL.md has no ```transcript block"
    steps = []
    for raw in block.group(1).splitlines():
        m = LINE.match(raw)
        assert m, f"not a transcript line: {raw!r}"
        steps.append((m.group(1), m.group(2) or "1", m.group(3)))
    return steps


def test_the_transcript_parses_and_every_server_frame_in_it_is_valid() -> None:
    steps = transcript()
    frames = [t for side, _, t in steps if side == "S" and not t.startswith("[")]
    assert len(frames) > 30
    for t in frames:
        data = t.encode("utf-8")
        assert data.endswith(TERMINATOR) and data.count(TERMINATOR) == 1
        decode_frame(data[: -len(TERMINATOR)])  # raises on anything invalid


def test_the_documented_session_replays_byte_for_byte() -> None:
    with running_server(wall_clock=lambda: FIXED_TIME) as server:
        replay(server.address)


def test_the_documented_switch_fixes_the_clock_of_a_pgboard_server_process(tmp_path: Path) -> None:
    """The doc names the switch its clock is fixed with (``--fixed-time``), so a second implementer can
    replay the transcript against the reference server; main had no such option."""
    assert f"--fixed-time {FIXED_TIME}" in DOC.read_text(encoding="utf-8")
    with ServerProcess(tmp_path / "t.sqlite3", "--fixed-time", str(FIXED_TIME)) as server:
        replay(server.address)


def replay(address: tuple[str, int]) -> None:
    """Play the transcript against the server at ``address``: every S line must come back exactly."""
    conns: dict[str, RawClient] = {}
    try:
        for n, (side, conn, text) in enumerate(transcript(), 1):
            where = f"transcript line {n}: {side}{conn}: {text[:60]}"
            if side == "C" and text == "[connect]":
                conns[conn] = RawClient(address)
            elif side == "C" and text == "[close]":
                conns.pop(conn).close()
            elif side == "C":
                conns[conn].send_bytes(text.encode("utf-8"))
            elif text == "[close]":
                try:
                    extra = conns[conn].recv_frame(WAIT)
                except Closed:
                    continue
                raise AssertionError(f"{where}: expected the end, got {extra!r}")
            else:
                got = conns[conn].recv_frame(WAIT)
                assert got == text.encode("utf-8"), where
    finally:
        for c in conns.values():
            c.close()
