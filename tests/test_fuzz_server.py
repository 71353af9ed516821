"""Fuzzing a live server: random bytes and mutated valid frames over real sockets, before and after joining.

Each test starts a real BoardServer (support.running_server, 127.0.0.1 port 0) with a well-behaved
bystander joined first in the room the fuzzers join, then sends thousands of cases and checks, case by
case, that

- every frame the server sends back decodes with the codec, no reply is ``server_error``, and the
  codec-level errors it answers with (``bad_frame``, ``unknown_type``, ``bad_field``,
  ``frame_too_large``) are exactly, in order, those a mirror Codec fed the same bytes raises: every bad
  frame gets its typed ``error`` and nothing else is refused as malformed;
- only ``frame_too_large`` ends a connection, with a fatal ``error`` before the close;
- after every batch the bystander draws and gets its echo within ``PROBE_WAIT``, and nothing it
  received from anyone else is something the fuzzers sent that does not decode: every operation's
  ``oid``, chat line and cursor it saw comes from a frame that decodes, and none touched its objects;
- at the end the accept and heartbeat threads are alive, a new client joins, and once the fuzz
  connections are closed every thread they started has ended (joined with a deadline: no sleeps).

Why a seeded random loop rather than hypothesis's ``@given``: the server is one live, stateful peer
shared by every case (its rooms, boards and connections change with each), so a shrunk example would
replay against a server that is no longer the one that failed, and a server started per example would
cost more than the example. A ``random.Random(SEED)`` loop is repeatable (the same cases every CI
run), bounded (``reliability.scaled(n)`` cases: ``make fuzz`` runs 20 times as many), reuses a
connection for case after case while the server keeps it open (a ping after each case marks where its
replies end) and opens a fresh one only after a fatal case or a join. A failure names the case's
number and its bytes.

CI runs 7,200 cases in about 4 s: 2,000 random, 4,000 mutated and 200 near MAX_FRAME with the rate
limits off (so refusals for speed do not hide what the parser does), and 1,000 mutated with the
server's default limits on.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import reliability
from pgboard_server.limits import NO_RATE_LIMITS, UNJOINED_MAX_FRAME
from pgboard_server.server import BoardServer
from support import Closed, RawClient, running_server

from pgboard import ids
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_FRAME,
    MAX_POINTS,
    OPERATIONS,
    TERMINATOR,
    Add,
    BoardObject,
    CaughtUp,
    Chat,
    Clear,
    Codec,
    Cursor,
    Delete,
    Error,
    Extend,
    Hello,
    Join,
    Message,
    Move,
    Ping,
    Pong,
    ProtocolError,
    Redo,
    Say,
    Undo,
    Welcome,
    decode_frame,
    encode,
)

pytestmark = pytest.mark.reliability

SEED = 20261201  # fixed: CI tries the same cases every run
ROOM = "fuzz"
BATCH = 50  # cases between two bystander probes
PROBE_WAIT = 5.0  # seconds the bystander may wait for the echo of its probe
REPLY_WAIT = 10.0  # seconds the replies to one case may take (a near-MAX_FRAME case parses 256 KiB twice)
THREAD_WAIT = 10.0  # seconds the fuzz connections' threads may take to end after they close
SYNC = 900_000_000  # ping numbers above this mark the end of a case's replies (no case sends them)
CODEC_CODES = frozenset({"bad_frame", "unknown_type", "bad_field", "frame_too_large"})
# Rate limits off: a fuzzer sends far faster than a person, and refusals for speed would hide what the
# parser does (rate limits are tested in test_server_limits.py). A short linger: fatal cases close fast.
LIMITS: dict[str, Any] = {**NO_RATE_LIMITS, "close_linger": 0.05}
BYSTANDER_SECRET = "bystander-7c1f0e9a2b5d4c3e8f6a1b0c9d2e7f4a"  # no mutation of a fuzz join makes it
FUZZ_SECRET = "fuzz-drawer"  # every joined fuzz connection's (one at a time): its adds are in its scope
FUZZ = ids.scoped(ids.device_id(FUZZ_SECRET), "")  # the prefix of the fuzz cases' object ids


# -- what the fuzzers sent that decodes


@dataclass
class Ledger:
    """Everything the fuzzers sent that the codec decodes: the only input that may reach the bystander."""

    oids: set[str] = field(default_factory=set)
    says: list[str] = field(default_factory=list)
    cursors: set[tuple[int, int]] = field(default_factory=set)

    def note(self, msg: Message) -> None:
        if isinstance(msg, OPERATIONS):
            self.oids.add(msg.oid)
        elif isinstance(msg, Say):
            self.says.append(msg.text)
        elif isinstance(msg, Cursor):
            self.cursors.add((msg.x, msg.y))


@dataclass
class Outcome:
    replies: list[Message]
    fatal: bool


class FuzzConn:
    """A fuzzing connection and a mirror Codec fed every byte it sends, framed exactly as the server
    frames them: the mirror says which errors the server owes and which messages did decode."""

    def __init__(self, server: BoardServer, ledger: Ledger, number: int, join: bool) -> None:
        self.client = RawClient(server.address, timeout=REPLY_WAIT)
        # the server frames a stranger's input with UNJOINED_MAX_FRAME, a member's with MAX_FRAME
        self.mirror = Codec(MAX_FRAME if join else UNJOINED_MAX_FRAME)
        self.ledger = ledger
        self.joined = False
        self.broken = False
        self.number = number
        hello = self.client.recv()
        assert isinstance(hello, Hello), hello
        if join:
            self.client.join(f"fz{number}", room=ROOM, client=FUZZ_SECRET)
            self.client.catch_up()
            self.joined = True

    def _send(self, data: bytes, expected: list[str]) -> None:
        if not data:  # a cut at 0: nothing to send (b"" would mean "closed" to the mirror)
            return
        self.client.send_bytes(data)
        self.mirror.receive_data(data)
        while True:
            try:
                msg = self.mirror.next_message()
            except ProtocolError as exc:
                expected.append(exc.code)
                if exc.fatal:
                    self.broken = True
                    return
                continue
            if msg is None:
                return
            self.ledger.note(msg)

    def case(self, data: bytes, sync: int) -> tuple[Outcome, list[str]]:
        """Send one case; a cut frame is ended with a terminator so that the ping after it, which
        marks the end of the case's replies, is a frame of its own."""
        expected: list[str] = []
        self._send(data, expected)
        if not self.broken and self.mirror.pending:
            self._send(TERMINATOR, expected)
        if self.broken:
            return Outcome(self._until_closed(), True), expected
        self._send(encode(Ping(sync)), expected)
        replies = []
        while True:
            msg = self._recv()
            replies.append(msg)
            if isinstance(msg, Pong) and msg.n == sync:
                return Outcome(replies, False), expected

    def _recv(self) -> Message:
        frame = self.client.recv_frame(REPLY_WAIT)
        try:
            return decode_frame(frame[: -len(TERMINATOR)])
        except ProtocolError as exc:
            raise AssertionError(f"the server sent a frame its own codec refuses ({exc}): {frame[:300]!r}")

    def _until_closed(self) -> list[Message]:
        replies = []
        deadline = time.monotonic() + REPLY_WAIT
        try:
            while True:
                if time.monotonic() > deadline:
                    raise AssertionError(f"the server kept connection {self.number} open after a fatal error")
                replies.append(self._recv())
        except Closed:
            return replies

    def close(self) -> None:
        self.client.close()


# -- the bystander


class Bystander:
    """Joined first (so the room's operator): it draws a probe after every batch and checks all it got."""

    def __init__(self, server: BoardServer, ledger: Ledger) -> None:
        self.client = RawClient(server.address)
        self.user = self.client.join("bystander", room=ROOM, client=BYSTANDER_SECRET).user
        self.client.catch_up()
        self.ledger = ledger
        self.mine: set[str] = set()
        self.probes = 0
        self.slowest = 0.0

    def probe(self) -> None:
        self.probes += 1
        oid, oid_obj = f"probe{self.probes}", self.client.obj_id(f"by{self.probes}")
        obj = BoardObject(oid_obj, "rect", ((10, 10), (40 + self.probes % 100, 60)), "#336699", 2)
        started = time.monotonic()
        self.client.send(Add(oid, obj))
        got = self.client.recv_all_until(lambda m: isinstance(m, Add) and m.oid == oid, PROBE_WAIT)
        self.slowest = max(self.slowest, time.monotonic() - started)
        self.mine.add(oid_obj)
        self.check(got)

    def check(self, got: list[Message]) -> None:
        for m in got:
            assert not isinstance(m, Error), f"the bystander got an error: {m}"
            if isinstance(m, OPERATIONS) and m.author != self.user:
                assert m.oid in self.ledger.oids, (
                    f"an operation nobody validly sent reached the bystander: {m}"
                )
                assert not self._touches_mine(m), f"a fuzzer changed the bystander's objects: {m}"
            elif isinstance(m, Chat) and m.user != self.user:
                assert any(m.text in s for s in self.ledger.says), f"a chat line nobody said: {m}"
            elif isinstance(m, Cursor):
                assert (m.x, m.y) in self.ledger.cursors, f"a cursor nobody validly sent: {m}"

    def _touches_mine(self, m: Message) -> bool:
        if isinstance(m, Extend | Move | Delete):
            return m.id in self.mine
        if isinstance(m, Clear | Undo | Redo):
            return bool(self.mine & set(m.removed)) or any(o.id in self.mine for o in m.put)
        return False


# -- the cases


def base_messages(rng: random.Random, n: int) -> list[Message]:
    """Valid messages of every kind a client sends: joins, an add of each object kind, an extend,
    a move, a delete, chat lines, a cursor, a clear, an undo. Ids are fresh per case, and the ops
    after the adds refer to the adds' objects, so a mutation that still decodes does something."""
    pid, f = f"{FUZZ}p{n}", FUZZ  # ids in the joined fuzz connection's scope
    x, y = rng.randrange(BOARD_W - 100), rng.randrange(BOARD_H - 100)
    objects = [
        BoardObject(pid, "pencil", ((x, y), (x + 3, y + 4), (x + 9, y + 2)), "#ff8800", 5),
        BoardObject(f"{f}l{n}", "line", ((x, y), (x + 50, y + 60)), "#000000", 3),
        BoardObject(f"{f}r{n}", "rect", ((x, y), (x + 80, y + 40)), "#00ff00", 1),
        BoardObject(f"{f}o{n}", "oval", ((x, y), (x + 70, y + 30))),
        BoardObject(f"{f}c{n}", "circle", ((x, y), (x + 20, y + 25)), width=64),
        BoardObject(f"{f}s{n}", "square", ((x, y), (x + 30, y + 10))),
        BoardObject(f"{f}t{n}", "text", ((x, y),), text="héllo Ø 李雷 \U0001f600", size=30),
    ]
    return [
        Join(nick=f"fz{n}", room=ROOM, client=f"fuzz-join-{n}"),
        Join(nick=f"fy{n}", room=ROOM, password="pw", since=n % 7, client=f"fuzz-since-{n}"),  # ops catch-up
        *(Add(f"a{n}.{i}", obj) for i, obj in enumerate(objects)),
        Extend(f"e{n}", pid, ((x + 10, y + 10), (x + 12, y + 13))),
        Move(f"m{n}", f"{f}r{n}", 5, -5, live=rng.random() < 0.5),
        Delete(f"d{n}", f"{f}l{n}"),
        Say(f"hello {n} Ø"),
        Say(f"/me waves {n}"),
        Cursor(x, y),
        Clear(f"k{n}"),
        Undo(f"u{n}"),
    ]


HUGE = [10**18, -(10**18), 2**53 + 1, 2**63, -1, 0, 1.5, 1e308, -0.0, 10**300]
WRONG = [None, True, False, "", "x" * 100, [], [1, 2], {}, {"a": 1}, [[0, 0]], "#ff0000", 3.25]
TYPES = [
    "dance",
    "",
    "ADD",
    "hello",
    "welcome",
    "obj",
    "chat",
    "ack",
    "caught_up",
    "notice",
    5,
    None,
    ["add"],
]


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaf_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaf_paths(v, (*path, i))


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return doc


def mutate_json(rng: random.Random, msg: Message) -> bytes:
    """A change to the decoded JSON of a valid frame: a huge number, a wrong type, an unknown type, a
    field dropped or added, deep nesting, raw non-ASCII, a JSON constant."""
    doc: Any = json.loads(encode(msg)[: -len(TERMINATOR)])
    paths = [p for p in _leaf_paths(doc) if p and p != ("t",)]
    how = rng.randrange(9)
    if how == 0 and paths:
        doc = _set(doc, rng.choice(paths), rng.choice(HUGE))
    elif how == 1 and paths:
        doc = _set(doc, rng.choice(paths), rng.choice(WRONG))
    elif how == 2:
        doc["t"] = rng.choice(TYPES)
    elif how == 3 and len(doc) > 1:
        del doc[rng.choice([k for k in doc if k != "t"] or ["t"])]
    elif how == 4:
        doc[rng.choice(["zz", "extra", "_", "t2"])] = rng.choice(WRONG + HUGE)
    elif how == 5 and paths:  # spliced in as text: json itself recurses and would fail here first
        depth = rng.choice([50, 500, 5000])
        text = json.dumps(_set(doc, rng.choice(paths), "\x00nest\x00"))
        return text.replace('"\\u0000nest\\u0000"', "[" * depth + "]" * depth).encode() + TERMINATOR
    elif how == 6:
        text = json.dumps(doc, ensure_ascii=False).replace("hello", "héllo Ø")
        return text.encode("utf-8", "surrogatepass") + TERMINATOR
    elif how == 7 and paths:
        text = json.dumps(_set(doc, rng.choice(paths), "\x00marker\x00"))
        return text.replace('"\\u0000marker\\u0000"', rng.choice(["NaN", "Infinity", "-Infinity"])).encode()
    elif how == 8 and "points" in json.dumps(doc):
        pts = [[rng.randrange(BOARD_W), rng.randrange(BOARD_H)] for _ in range(MAX_POINTS + 1)]
        for p in paths:
            if p[-1] == "points":
                doc = _set(doc, p, pts)
                break
    return json.dumps(doc, separators=(",", ":")).encode("ascii", "backslashreplace") + TERMINATOR


def mutate_bytes(rng: random.Random, frame: bytes) -> bytes:
    """Byte-level damage to an encoded frame: flips, inserts, deletes, a cut, terminators doubled or
    put inside, half a terminator, the frame repeated or glued to the next."""
    data = bytearray(frame)
    for _ in range(rng.choice([1, 1, 1, 2, 3, 6])):
        at = rng.randrange(len(data) + 1)
        how = rng.randrange(8)
        if how == 0 and at < len(data):
            data[at] ^= rng.randrange(1, 256)
        elif how == 1:
            data[at:at] = bytes([rng.randrange(256)])
        elif how == 2 and at < len(data):
            del data[at]
        elif how == 3:
            del data[at:]
        elif how == 4:
            data[at:at] = TERMINATOR * rng.choice([1, 2])
        elif how == 5:
            data[at:at] = rng.choice([b"\xc3", b"\x98", b"\xc3\xc3", b"\x98\xc3"])
        elif how == 6:
            data = data * rng.randrange(2, 4)
        elif how == 7:
            data = data.removesuffix(TERMINATOR) + bytearray(frame)
    return bytes(data)


def random_bytes(rng: random.Random) -> bytes:
    """Noise: arbitrary bytes, JSON-ish ASCII, white space, with terminators now and then."""
    n = rng.choice([1, 2, 3, 8, 30, 100, 400])
    kind = rng.randrange(4)
    if kind == 0:
        data = bytearray(rng.randbytes(n))
    elif kind == 1:
        data = bytearray(rng.choice(b'{}[]":,.-0123456789 tnulrefasbdxy\\') for _ in range(n))
    elif kind == 2:
        data = bytearray(rng.choice(b" \t\r\n") for _ in range(n))
    else:
        data = bytearray(rng.choice([b'{"t":', b'"add"', b"}", b"[", b"1e999", b"\xc3", b"\x98", b"null"]))
        for _ in range(rng.randrange(1, 12)):
            data += rng.choice(
                [b'{"t":', b'"say"', b',"text":', b'"x"', b"}", b"]", b"\xc3", b"-", b"9" * 30]
            )
    for _ in range(rng.choice([0, 0, 1, 2, 5])):
        at = rng.randrange(len(data) + 1)
        data[at:at] = TERMINATOR
    return bytes(data)


def mutated_frame(rng: random.Random, n: int) -> bytes:
    msg = rng.choice(base_messages(rng, n))
    if rng.random() < 0.4:
        return mutate_bytes(rng, mutate_json(rng, msg))
    if rng.random() < 0.5:
        return mutate_json(rng, msg)
    return mutate_bytes(rng, encode(msg))


def near_max_frame(rng: random.Random, n: int) -> bytes:
    """A frame of about MAX_FRAME bytes: padded with an unknown field (ignored: it decodes) or an over
    long text, with a terminator or without one (past MAX_FRAME that is fatal)."""
    size = MAX_FRAME + rng.choice([-2, -1, 0, 0, 1, 2, 1000])
    if rng.random() < 0.5:
        head = encode(Add(f"big{n}", BoardObject(f"{FUZZ}big{n}", "line", ((1, 1), (9, 9)))))[
            : -len(TERMINATOR) - 1
        ]
        head += b',"pad":"'
    else:
        head = b'{"t":"say","text":"'
    body = head + b"x" * max(0, size - len(head) - 2) + b'"}'
    return body + (TERMINATOR if rng.random() < 0.7 else b"")


# -- the run


@dataclass
class Tally:
    cases: int = 0
    errors: int = 0  # typed codec errors the server answered with
    fatal: int = 0
    connections: int = 0
    refused: int = 0  # rate_limited refusals (with the rate limits on)
    probes: int = 0  # bystander probes, each echoed within PROBE_WAIT
    slowest: float = 0.0  # seconds: the slowest probe echo


def check_outcome(i: int, data: bytes, outcome: Outcome, expected: list[str]) -> None:
    where = f"case {i} ({len(data)} bytes: {data[:200]!r})"
    codes = [m.code for m in outcome.replies if isinstance(m, Error) and m.code in CODEC_CODES]
    assert codes == expected, f"{where}: the server answered {codes}, the codec expects {expected}"
    errors = [m for m in outcome.replies if isinstance(m, Error)]
    assert not any(e.code == "server_error" for e in errors), f"{where}: {errors}"
    if outcome.fatal:
        assert errors and errors[-1].fatal and errors[-1].code == "frame_too_large", f"{where}: {errors}"
    else:
        assert not any(e.fatal for e in errors), f"{where}: a fatal error for a non-fatal case: {errors}"


def run_fuzz(
    server: BoardServer, count: int, make_case: Callable[[random.Random, int], bytes], seed: int
) -> Tally:
    """``count`` cases, alternately on a connection that has not joined and one joined in the
    bystander's room; a connection is replaced after a fatal case (and the unjoined one after a case
    that happened to decode as a join)."""
    rng = random.Random(seed)
    ledger = Ledger()
    bystander = Bystander(server, ledger)
    baseline = set(threading.enumerate())
    tally = Tally()
    conns: dict[bool, FuzzConn] = {}
    opened: list[FuzzConn] = []

    def conn(joined: bool) -> FuzzConn:
        if joined not in conns:
            tally.connections += 1
            c = FuzzConn(server, ledger, tally.connections, join=joined)
            conns[joined] = c
            opened.append(c)
        return conns[joined]

    try:
        for i in range(count):
            after_join = i % 2 == 1
            c = conn(after_join)
            data = make_case(rng, i)
            try:
                outcome, expected = c.case(data, SYNC + i)
            except (TimeoutError, Closed) as exc:  # a hang or an unannounced close: name the case
                raise AssertionError(f"case {i} ({len(data)} bytes: {data[:200]!r}): {exc!r}") from exc
            check_outcome(i, data, outcome, expected)
            tally.cases += 1
            tally.errors += len(expected)
            tally.refused += sum(isinstance(m, Error) and m.code == "rate_limited" for m in outcome.replies)
            tally.fatal += outcome.fatal
            if outcome.fatal or (not after_join and any(isinstance(m, Welcome) for m in outcome.replies)):
                c.close()
                del conns[after_join]
            if (i + 1) % BATCH == 0 or i == count - 1:
                bystander.probe()
        # the server is whole: its own threads live, and it still welcomes a newcomer
        names = {t.name for t in threading.enumerate()}
        assert {"pgboard-accept", "pgboard-heartbeat"} <= names
        with RawClient(server.address) as late:
            late.join("latecomer", room=ROOM)
            late.recv_until(CaughtUp)
    finally:
        for c in opened:
            c.close()
    # every thread the fuzz connections started ends once they are closed (the latecomer's too)
    deadline = time.monotonic() + THREAD_WAIT
    for t in threading.enumerate():
        if t not in baseline:
            t.join(max(0.0, deadline - time.monotonic()))
    leaked = [t.name for t in threading.enumerate() if t not in baseline]
    assert not leaked, f"threads left after the fuzz connections closed: {leaked}"
    assert threading.active_count() <= len(baseline)  # (a thread of an earlier test may have ended)
    bystander.probe()  # and the bystander still draws
    bystander.client.close()
    tally.probes, tally.slowest = bystander.probes, bystander.slowest
    return tally


def reset_peak_rss() -> None:
    """Start this process's peak RSS (VmHWM, ru_maxrss) afresh, so the row gives this test's peak, not an
    earlier test's: the server runs in this process. Linux only; elsewhere the row keeps the lifetime peak."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def record(case: str, tally: Tally, started: float) -> None:
    outcome = (
        f"every bad frame answered with its typed error ({tally.errors:,}), {tally.fatal} fatal "
        f"(frame_too_large) over {tally.connections} connections"
        + (f", {tally.refused} rate_limited refusals" if tally.refused else "")
        + "; no crash, no thread left; the "
        f"bystander's {tally.probes} probes echoed (slowest {tally.slowest * 1000:.0f} ms), nothing "
        "invalid reached it"
    )
    reliability.record(
        reliability.Finding(
            area="bad input",
            case=case,
            outcome=outcome,
            tried=tally.cases,
            max_rss_mib=reliability.own_peak_rss_mib() or None,
            seconds=time.monotonic() - started,
        )
    )


def test_random_bytes_before_and_after_joining() -> None:
    reset_peak_rss()
    started = time.monotonic()
    n = reliability.scaled(2000)
    with running_server(**LIMITS) as server:
        tally = run_fuzz(server, n, lambda rng, i: random_bytes(rng), SEED)
    assert tally.cases == n
    record("random bytes to a live server, before and after joining", tally, started)


def test_mutated_frames_before_and_after_joining() -> None:
    reset_peak_rss()
    started = time.monotonic()
    n = reliability.scaled(4000)
    with running_server(**LIMITS) as server:
        tally = run_fuzz(server, n, mutated_frame, SEED + 1)
    assert tally.cases == n
    record(
        "mutated valid frames (join, add of every kind, extend, move, delete, chat...: bytes flipped, "
        "inserted, deleted, cut, terminators doubled, huge numbers, wrong types, unknown types) to a "
        "live server, before and after joining",
        tally,
        started,
    )


def test_frames_near_max_frame() -> None:
    reset_peak_rss()
    started = time.monotonic()
    n = reliability.scaled(200)
    with running_server(**LIMITS) as server:
        tally = run_fuzz(server, n, near_max_frame, SEED + 2)
    assert tally.cases == n and tally.fatal > 0  # some went past MAX_FRAME without a terminator
    record("frames of MAX_FRAME bytes give or take a few, ended or not, to a live server", tally, started)


def test_mutated_frames_with_the_rate_limits_on() -> None:
    # the server's defaults: the valid chat lines and operations among the cases meet the rate limits,
    # so refusals (rate_limited, not fatal) mix with the parser's errors; the bystander stays far below
    reset_peak_rss()
    started = time.monotonic()
    n = reliability.scaled(1000)
    with running_server(close_linger=0.05) as server:
        tally = run_fuzz(server, n, mutated_frame, SEED + 3)
    assert tally.cases == n
    record("mutated valid frames to a live server with its default rate limits on", tally, started)
