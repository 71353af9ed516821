"""The wire codec as a peer sees it: every message round-trips however the bytes are cut, Unicode comes
back exactly, and anything wrong a peer sends raises ProtocolError and nothing else."""

from __future__ import annotations

import collections
import dataclasses
import json
import time

import pytest
import reliability
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pgboard import protocol as P
from pgboard import protocol_base
from pgboard import protocol_history as H
from pgboard.protocol import (
    BOARD_H,
    BOARD_W,
    MAX_FRAME,
    MAX_ID,
    MAX_POINTS,
    TERMINATOR,
    Add,
    BoardObject,
    Chat,
    Codec,
    LocalProtocolError,
    Message,
    ProtocolError,
    Say,
    UserInfo,
    decode_frame,
    encode,
)
from pgboard.protocol_cluster import Peers, Redirect
from pgboard.protocol_friends import FriendInfo, Friends, FriendUpdate
from pgboard.protocol_game import GAME_PHASES, GameState, Score
from pgboard.protocol_presence import Follow, Leave, View

PENCIL = BoardObject(id="s1", kind="pencil", points=((0, 0), (5, 7), (BOARD_W, BOARD_H)), author="u1")
TEXT = BoardObject(id="t1", kind="text", points=((10, 20),), text="héllo Ø 李雷", size=30, color="#ff0000")

SAMPLES: list[Message] = [
    P.Hello(version=1, server="pgboard 0.1"),
    P.Join(nick="alice", room="lobby", password="pw", since=41, client="secret-1"),
    P.Join(nick="bob"),
    P.Welcome(
        user="u1", nick="alice", room="lobby", users=(UserInfo("u1", "alice"), UserInfo("u2", "李雷")), seq=9
    ),
    P.JoinError(reason="taken", detail="someone has it", suggestion="alice2"),
    P.UserJoined(user="u2", nick="bob"),
    P.UserLeft(user="u2", nick="bob", reason="quit"),
    P.Renamed(user="u2", old="bob", nick="robert"),
    P.RoomState(operators=("u1",), locked=True, may_edit=("u2", "u3"), allowed=("u2",)),
    P.CatchUp(count=3, mode="ops"),
    P.Obj(obj=TEXT),
    P.MESSAGE_TYPES["snapshot"](objects=(PENCIL, TEXT)),  # type: ignore[call-arg]
    P.CaughtUp(seq=12),
    Add(oid="o1", obj=PENCIL, seq=3, author="u1"),
    P.Extend(oid="o2", id="s1", points=((1, 1), (2, 2)), seq=4, author="u1"),
    P.Move(oid="o3", id="s1", dx=-5, dy=BOARD_H, live=True, seq=5, author="u1"),
    P.Delete(oid="o4", id="s1", seq=6, author="u1"),
    P.Clear(oid="o5", seq=7, author="u1", removed=("a", "b"), put=(TEXT,)),
    P.Batch(oid="o9", removed=("a",), put=(TEXT,), seq=8, author="u1"),
    P.Undo(oid="o6", seq=8, author="u1", target=7, removed=("c",), put=(PENCIL, TEXT)),
    P.Redo(oid="o7", seq=9, author="u1", target=7, removed=("a", "b")),
    P.Ack(oid="o1", seq=3),
    P.Cursor(x=BOARD_W, y=0, user="u2"),
    P.Cursor(x=5, y=6, laser=True),
    View(x=0, y=100, w=BOARD_W, h=900, user="u2"),
    Follow(user="u2", nick="alice"),
    Follow(),
    Leave(),
    GameState(
        phase="drawing",
        round=2,
        rounds=3,
        drawer="u1",
        hint="__é _-_",
        choices=("apple", "château", "ice cream"),
        left=59,
        scores=(Score("u1", "alice", 350), Score("u2", "李雷", -50)),
        guessed=("u2",),
    ),
    GameState(),
    Say(text="/me waves"),
    Chat(kind="private", user="u1", nick="alice", text="hi", to="bob", history=True, time=1_700_000_000),
    P.Notice(text="welcome to lobby"),
    P.Error(code="not_allowed", detail="not yours", fatal=True, oid="o4"),
    P.Ping(n=5),
    P.Pong(n=5),
    P.Signup(nick="zoë", password="s3cret pass"),
    P.Login(nick="zoë", password="s3cret pass"),
    P.Passwd(nick="zoë", password="s3cret pass", new="n3w pass"),
    P.AccountOk(action="login", nick="zoë", user="0123456789abcdef"),
    P.AccountError(action="login", reason="too_many_attempts", detail="wait", retry=42),
    P.MailAck(upto=3),
    P.Rooms(),
    P.Rooms(rooms=(P.RoomInfo("maths", 3), P.RoomInfo("李雷", 1, password=True)), more=2),
    P.JoinError(reason="too_many_attempts", detail="wait", retry=7),
    Chat(kind="private", user="u1", nick="alice", text="while away", to="bob", time=1_700_000_000, away=True),
    Chat(kind="private", user="u1", nick="a", text="again", to="bob", time=1, away=True, mail=7, again=True),
    Redirect(host="10.0.0.2", port=5152),
    Peers(addresses=("10.0.0.2:5152", "[::1]:5153")),
    Friends(friends=(FriendInfo("bob", True, True, "attic"), FriendInfo("李雷")), asked=True),
    Friends(),
    FriendUpdate(nick="bob", mutual=True, online=True, room="cellar"),
    FriendUpdate(nick="bob", gone=True),
    H.History(start=0, limit=H.MAX_HISTORY_PAGE),
    H.History(start=17, limit=1),
    H.HistoryPage(start=11, head=40, base=10),
    H.HistoryObj(obj=TEXT),
    H.HistoryOp(op=P.Undo(oid="o6", seq=8, author="u1", target=7, removed=("c",), put=(PENCIL,))),
    H.HistoryOp(op=Add(oid="o1", obj=PENCIL, seq=3, author="u1")),
    H.HistoryEnd(end=40, moved=True, skipped=1),
    H.HistoryError(code="rate_limited", detail="paced like joins", retry=0.5),
]


def test_samples_cover_every_message_type() -> None:
    assert {type(m) for m in SAMPLES} == set(P.MESSAGE_TYPES.values())


def feed_all(codec: Codec, chunks: list[bytes]) -> list[Message]:
    out: list[Message] = []
    for chunk in chunks:
        if chunk:  # b"" would mean the peer closed
            codec.receive_data(chunk)
            out.extend(codec.messages())
    return out


@pytest.mark.parametrize("msg", SAMPLES, ids=lambda m: type(m).__name__)
def test_round_trip_whole_bytewise_and_every_split(msg: Message) -> None:
    frame = encode(msg)
    assert feed_all(Codec(), [frame]) == [msg]
    assert feed_all(Codec(), [frame[i : i + 1] for i in range(len(frame))]) == [msg]
    for cut in range(1, len(frame)):
        assert feed_all(Codec(), [frame[:cut], frame[cut:]]) == [msg], cut
    assert decode_frame(frame[: -len(TERMINATOR)]) == msg


def test_several_frames_in_one_chunk_with_a_trailing_partial_frame() -> None:
    stream = b"".join(encode(m) for m in SAMPLES)
    last = encode(P.Ping(n=99))
    for tail in range(1, len(last)):
        codec = Codec()
        assert feed_all(codec, [stream + last[:tail]]) == SAMPLES
        assert codec.next_message() is None
        assert feed_all(codec, [last[tail:]]) == [P.Ping(n=99)]
        assert codec.pending == 0


def test_whitespace_between_frames_is_ignored() -> None:
    a, b = encode(P.Ping(n=1)), encode(P.Pong(n=2))
    codec = Codec()
    assert feed_all(codec, [b"\r\n  " + a + b"\n\n\t " + b + b"\n"]) == [P.Ping(n=1), P.Pong(n=2)]
    codec.receive_data(b"")
    assert codec.next_message() is None  # only white space was left: a clean close


UNICODE = [
    "你好，世界",
    "こんにちは",
    "안녕하세요",
    "😀🎨👩‍👩‍👧",
    "𝄞 𠜎 astral",
    "ØØ Ø",
    "Zoë Алиса",
    "a\u0301",
]


@pytest.mark.parametrize("text", UNICODE)
def test_unicode_comes_back_exactly_and_never_contains_the_terminator(text: str) -> None:
    for msg in (
        Say(text=text),
        Chat(kind="say", user="u1", nick=text, text=text),
        Add(oid="o1", obj=dataclasses.replace(TEXT, text=text)),
    ):
        frame = encode(msg)
        payload = frame[: -len(TERMINATOR)]
        assert frame.endswith(TERMINATOR)
        assert TERMINATOR not in payload
        assert payload.isascii()
        assert feed_all(Codec(), [frame[i : i + 1] for i in range(len(frame))]) == [msg]


def test_a_frame_over_max_frame_is_fatal_without_buffering_it() -> None:
    codec = Codec()
    chunk = b"x" * 4096
    biggest = 0
    raised: list[ProtocolError] = []
    for _ in range(MAX_FRAME * 3 // len(chunk)):
        codec.receive_data(chunk)
        biggest = max(biggest, codec.pending)
        try:
            codec.next_message()
        except ProtocolError as exc:
            raised.append(exc)
    assert biggest <= MAX_FRAME + len(chunk)
    assert raised and all(e.code == "frame_too_large" and e.fatal for e in raised)
    # a frame that arrives after the fatal error is not decoded: the stream cannot be trusted
    codec.receive_data(encode(P.Ping()))
    assert codec.pending == 0
    with pytest.raises(ProtocolError):
        codec.next_message()


def test_oversize_without_polling_never_buffers_more_than_max_frame() -> None:
    codec = Codec()
    for _ in range(MAX_FRAME * 3 // 8192):
        codec.receive_data(b"y" * 8192)
        assert codec.pending <= MAX_FRAME + 8192
    with pytest.raises(ProtocolError) as info:
        codec.next_message()
    assert info.value.fatal and info.value.code == "frame_too_large"


def test_an_oversized_frame_in_one_chunk_is_fatal_too() -> None:
    payload = json.dumps({"t": "say", "text": "z" * MAX_FRAME}).encode()
    codec = Codec()
    codec.receive_data(payload + TERMINATOR + encode(P.Ping()))
    with pytest.raises(ProtocolError) as info:
        codec.next_message()
    assert info.value.fatal


def test_a_frame_of_exactly_max_frame_bytes_decodes() -> None:
    head = b'{"t":"ping","n":7,"pad":"'  # unknown fields are ignored: padding to the exact size
    payload = head + b"n" * (MAX_FRAME - len(head) - 2) + b'"}'
    assert len(payload) == MAX_FRAME
    codec = Codec()
    codec.receive_data(payload[:-1])
    codec.receive_data(payload[-1:] + TERMINATOR[:1])
    assert codec.next_message() is None
    codec.receive_data(TERMINATOR[1:])
    assert codec.next_message() == P.Ping(n=7)
    codec.receive_data(b"{" + payload + TERMINATOR)  # one byte more is too large
    with pytest.raises(ProtocolError, match="frame_too_large"):
        codec.next_message()


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (b"not json", "bad_frame"),
        (b"[1, 2]", "bad_frame"),
        ('{"t": "say", "text": "é"}'.encode(), "bad_frame"),  # raw UTF-8 inside a frame
        (b'{"t": "nope"}', "unknown_type"),
        (b'{"text": "no type"}', "unknown_type"),
        (b'{"t": "say"}', "bad_field"),
        (b'{"t": "say", "text": 5}', "bad_field"),
        (b'{"t": "cursor", "x": 1.5, "y": 0}', "bad_field"),
        (b'{"t": "cursor", "x": true, "y": 0}', "bad_field"),
        (b'{"t": "cursor", "x": NaN, "y": 0}', "bad_frame"),
        (b'{"t": "ping", "n": -1}', "bad_field"),
        (b'{"t": "delete", "oid": "has space", "id": "x"}', "bad_field"),
        (b'{"t": "add", "oid": "o", "obj": {"id": "a", "kind": "line", "points": [[0, 0]]}}', "bad_field"),
        (b'{"t": "add", "oid": "o", "obj": {"id": "a", "kind": "text", "points": [[0, 0]]}}', "bad_field"),
        (
            b'{"t": "add", "oid": "o", "obj": {"id": "a", "kind": "pencil", "points": [[0, 99999]]}}',
            "bad_field",
        ),
        (b'{"t": "add", "oid": "o", "obj": {"id": "a", "kind": "blob", "points": [[0, 0]]}}', "bad_field"),
        (b'{"t": "say", "text": "\\ud800 lone surrogate"}', "bad_field"),
        (b'{"t": "say", "text": "nul \\u0000 inside"}', "bad_field"),
        (b'{"t": "say", "text": "escape \\u001b[2J"}', "bad_field"),
        (
            b'{"t": "add", "oid": "o", "obj": {"id": "a", "kind": "text", "points": [[0, 0]],'
            b' "text": "\\u0000"}}',
            "bad_field",
        ),
        (b"[" * 100_000, "bad_frame"),
    ],
)
def test_a_bad_frame_raises_once_and_the_next_good_frame_decodes(bad: bytes, code: str) -> None:
    codec = Codec()
    codec.receive_data(bad + TERMINATOR + encode(P.Ping(n=3)))
    with pytest.raises(ProtocolError) as info:
        codec.next_message()
    assert info.value.code == code and not info.value.fatal
    assert codec.next_message() == P.Ping(n=3)
    assert codec.next_message() is None


def test_too_many_points_is_refused() -> None:
    pts = [[1, 1]] * (MAX_POINTS + 1)
    frame = json.dumps({"t": "extend", "oid": "o", "id": "s", "points": pts}).encode()
    with pytest.raises(ProtocolError):
        decode_frame(frame)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    assert decode_frame(b'{"t": "ping", "n": 2, "future": [1, {"x": 2}]}') == P.Ping(n=2)


def test_closing_inside_a_frame_raises_truncated_once() -> None:
    frame = encode(Say(text="cut short"))
    codec = Codec()
    codec.receive_data(frame[:-3])
    assert codec.next_message() is None
    codec.receive_data(b"")
    with pytest.raises(ProtocolError) as info:
        codec.next_message()
    assert info.value.code == "truncated"
    assert codec.next_message() is None
    assert codec.closed


def test_closing_after_half_a_terminator_is_truncated() -> None:
    codec = Codec()
    codec.receive_data(encode(P.Ping())[:-1])
    codec.receive_data(b"")
    with pytest.raises(ProtocolError, match="truncated"):
        codec.next_message()


def test_receive_after_close_is_our_bug() -> None:
    codec = Codec()
    codec.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        codec.receive_data(b"more")


def test_bytewise_input_is_linear() -> None:
    """200 KB one byte at a time into one frame: each call searches only the new byte (h11's trick),
    so this finishes; a codec that rescans its buffer would do 2*10^10 byte comparisons here."""
    frame = b'{"t":"ping","n":1,"pad":"' + b"w" * 200_000 + b'"}' + TERMINATOR
    msg = P.Ping(n=1)
    codec = Codec()
    calls = 0
    for i in range(len(frame) - 1):
        codec.receive_data(frame[i : i + 1])
        calls += 1
        assert codec._searched >= i  # remembers how far it searched: nothing before is read again
        if i % 50_000 == 0:
            assert codec.next_message() is None
    codec.receive_data(frame[-1:])
    assert codec.next_message() == msg
    assert calls == len(frame) - 1


# -- encode refuses what the peer would refuse


@pytest.mark.parametrize(
    "msg",
    [
        P.Notice(text="x" * (MAX_FRAME + 1)),
        Say(text="x" * (P.MAX_TEXT + 1)),
        P.Delete(oid="bad oid", id="x"),
        P.Delete(oid="o", id="i" * (MAX_ID + 1)),
        P.Cursor(x=-1, y=0),
        P.Ping(n=True),
        Add(oid="o", obj=BoardObject(id="a", kind="line", points=((0, 0),))),
        Add(oid="o", obj=BoardObject(id="a", kind="pencil", points=((0, BOARD_H + 1),))),
        Add(oid="o", obj=dataclasses.replace(PENCIL, color="red")),
        P.Move(oid="o", id="a", dx=1.5, dy=0),  # type: ignore[arg-type]
        Say(text="\ud83d"),
        Say(text="a\x00b"),
        P.Welcome(user="u", nick="n", room="r", users=(UserInfo("u", "bad\x00nick"),)),
    ],
    ids=lambda m: type(m).__name__,
)
def test_encoding_an_invalid_message_is_a_local_error(msg: Message) -> None:
    with pytest.raises(LocalProtocolError):
        encode(msg)


def test_encoding_something_that_is_not_a_message_is_a_local_error() -> None:
    with pytest.raises(LocalProtocolError):
        encode(PENCIL)  # type: ignore[arg-type]
    with pytest.raises(LocalProtocolError):
        encode(object())  # type: ignore[arg-type]


def test_lists_given_for_tuples_still_encode() -> None:
    obj = BoardObject(id="a", kind="pencil", points=[(1, 2), [3, 4]])  # type: ignore[arg-type]
    msg = Add(oid="o", obj=obj)
    assert decode_frame(encode(msg)[:-2]) == Add(
        oid="o", obj=dataclasses.replace(obj, points=((1, 2), (3, 4)))
    )


def test_an_unchecked_encode_writes_the_same_bytes_and_still_keeps_frames_under_max_frame() -> None:
    msg = Add(oid="o", obj=PENCIL, seq=7, author="0123456789abcdef")
    assert encode(msg, check=False) == encode(msg)
    with pytest.raises(LocalProtocolError):
        encode(P.Notice(text="x" * (MAX_FRAME + 1)), check=False)


# -- hypothesis: the error contract and round trips of generated messages

CHARS = st.characters(exclude_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r\x7f")
TEXTS = st.text(CHARS, max_size=40)
IDS = st.text("abcXYZ019_.:-", min_size=1, max_size=MAX_ID)
SEQS = st.integers(0, 2**53)
POINT = st.tuples(st.integers(0, BOARD_W), st.integers(0, BOARD_H))


@st.composite
def board_objects(draw: st.DrawFn) -> BoardObject:
    kind = draw(st.sampled_from(P.OBJECT_KINDS))
    n = {"pencil": draw(st.integers(1, 20)), "text": 1}.get(kind, 2)
    return BoardObject(
        id=draw(IDS),
        kind=kind,
        points=tuple(draw(st.lists(POINT, min_size=n, max_size=n))),
        color=draw(st.from_regex(r"#[0-9a-f]{6}", fullmatch=True)),
        width=draw(st.integers(1, P.MAX_WIDTH)),
        text=draw(TEXTS.filter(bool)) if kind == "text" else draw(TEXTS),
        size=draw(st.integers(P.MIN_TEXT_SIZE, P.MAX_TEXT_SIZE)),
        author=draw(st.text(CHARS, max_size=MAX_ID)),
    )


FIELD_STRATEGIES: dict[str, st.SearchStrategy] = {
    "oid": IDS,
    "id": IDS,
    "seq": SEQS,
    "target": SEQS,
    "count": SEQS,
    "since": st.none() | SEQS,
    "n": SEQS,
    "version": st.integers(0, 2**31),
    "obj": board_objects(),
    "put": st.lists(board_objects(), max_size=3).map(tuple),
    "removed": st.lists(IDS, max_size=3).map(tuple),
    "points": st.lists(POINT, min_size=1, max_size=10).map(tuple),
    "users": st.lists(st.builds(UserInfo, id=IDS, nick=TEXTS), max_size=3).map(tuple),
    "dx": st.integers(-BOARD_W, BOARD_W),
    "dy": st.integers(-BOARD_H, BOARD_H),
    "x": st.integers(0, BOARD_W),
    "y": st.integers(0, BOARD_H),
    "live": st.booleans(),
    "history": st.booleans(),
    "fatal": st.booleans(),
    "locked": st.booleans(),
    "operators": st.lists(IDS, max_size=3).map(tuple),
    "may_edit": st.lists(IDS, max_size=3).map(tuple),
    "allowed": st.lists(IDS, max_size=3).map(tuple),
    "time": st.integers(0, 2**40),
    "retry": st.integers(0, P.MAX_RETRY) | st.floats(0, P.MAX_RETRY),
    "away": st.booleans(),
    "again": st.booleans(),
    "mail": SEQS,
    "upto": st.integers(1, 2**53),
    "packed": st.booleans(),
    "laser": st.booleans(),
    "watching": st.booleans(),
    "watch_only": st.booleans(),
    "w": st.integers(1, BOARD_W),
    "h": st.integers(1, BOARD_H),
    "snapshot": st.booleans(),
    "objects": st.lists(board_objects(), max_size=5).map(tuple),
}
CLASS_FIELDS: dict[tuple[type, str], st.SearchStrategy] = {
    (P.JoinError, "reason"): st.sampled_from(P.JOIN_ERRORS),
    (P.CatchUp, "mode"): st.sampled_from(("board", "ops")),
    (Chat, "kind"): st.sampled_from(P.CHAT_KINDS),
    (P.Error, "oid"): st.just("") | IDS,
    (P.AccountOk, "action"): st.sampled_from(P.ACCOUNT_ACTIONS),
    (P.AccountOk, "user"): IDS,
    (P.AccountError, "action"): st.sampled_from(P.ACCOUNT_ACTIONS),
    (P.AccountError, "reason"): st.sampled_from(P.ACCOUNT_ERRORS),
    (P.AccountError, "retry"): st.integers(0, P.MAX_RETRY),
    (P.JoinError, "retry"): st.integers(0, P.MAX_RETRY),
    (P.Rooms, "rooms"): st.lists(
        st.builds(P.RoomInfo, TEXTS, st.integers(0, 1_000_000), st.booleans()), max_size=3
    ).map(tuple),
    (P.Rooms, "more"): st.integers(0, 2**31),
    (Redirect, "port"): st.integers(1, 65535),
    (Peers, "addresses"): st.lists(TEXTS, max_size=3).map(tuple),
    (Friends, "friends"): st.lists(
        st.builds(FriendInfo, TEXTS, st.booleans(), st.booleans(), TEXTS), max_size=3
    ).map(tuple),
    **{
        (cls, f): st.booleans()
        for cls in (Friends, FriendUpdate)
        for f in ("asked", "mutual", "online", "gone")
    },
    (GameState, "phase"): st.sampled_from(GAME_PHASES),
    (GameState, "round"): st.integers(0, 1000),
    (GameState, "rounds"): st.integers(0, 1000),
    (GameState, "hint"): st.text(CHARS, max_size=40),
    (GameState, "choices"): st.lists(st.text(CHARS, max_size=40), max_size=3).map(tuple),
    (GameState, "left"): st.integers(0, 3600),
    (GameState, "scores"): st.lists(
        st.builds(Score, IDS, TEXTS, st.integers(-(2**31), 2**31)), max_size=3
    ).map(tuple),
    (GameState, "guessed"): st.lists(IDS, max_size=3).map(tuple),
    (H.History, "start"): SEQS,
    (H.History, "limit"): st.integers(1, H.MAX_HISTORY_PAGE),
    (H.HistoryPage, "start"): SEQS,
    (H.HistoryPage, "head"): SEQS,
    (H.HistoryPage, "base"): SEQS,
    (H.HistoryOp, "op"): st.deferred(lambda: st.one_of([messages_of(c) for c in P.OPERATIONS])),
    (H.HistoryEnd, "end"): SEQS,
    (H.HistoryEnd, "moved"): st.booleans(),
    (H.HistoryEnd, "skipped"): st.integers(0, H.MAX_HISTORY_PAGE),
    (H.HistoryError, "code"): st.sampled_from(H.HISTORY_ERRORS),
}


def messages_of(cls: type[Message]) -> st.SearchStrategy[Message]:
    kwargs = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        strategy = CLASS_FIELDS.get((cls, f.name))
        if strategy is None:
            strategy = FIELD_STRATEGIES.get(f.name, TEXTS)
        kwargs[f.name] = strategy
    return st.builds(cls, **kwargs)


ANY_MESSAGE = st.one_of([messages_of(c) for c in P.MESSAGE_TYPES.values()])


@given(ANY_MESSAGE, st.data())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_generated_messages_round_trip_at_any_split(msg: Message, data: st.DataObject) -> None:
    frame = encode(msg)
    assert TERMINATOR not in frame[: -len(TERMINATOR)]
    cut = data.draw(st.integers(0, len(frame)))
    assert feed_all(Codec(), [frame[:cut], frame[cut:]]) == [msg]


@given(st.lists(ANY_MESSAGE, min_size=1, max_size=5), st.data())
@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
def test_a_stream_of_messages_survives_random_chunking(msgs: list[Message], data: st.DataObject) -> None:
    stream = b"".join(encode(m) for m in msgs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    assert feed_all(Codec(), [c for c in chunks if c]) == msgs


def drain_expecting_only_protocol_errors(codec: Codec) -> list[Message]:
    """Pull everything; a ProtocolError is allowed (and, when fatal, ends the stream)."""
    out: list[Message] = []
    for _ in range(10_000):
        try:
            msg = codec.next_message()
        except ProtocolError as exc:
            if exc.fatal:
                return out
            continue
        if msg is None:
            return out
        assert isinstance(msg, Message)
        out.append(msg)
    raise AssertionError("the codec kept producing messages")


EXAMPLES: collections.Counter[str] = collections.Counter()  # examples hypothesis ran, for the report rows


@given(st.lists(st.binary(min_size=1, max_size=64), max_size=12), st.booleans())
@settings(max_examples=reliability.scaled(400))  # make fuzz: 20 times as many
def random_bytes_property(chunks: list[bytes], close: bool) -> None:
    EXAMPLES["random bytes"] += 1
    codec = Codec(max_frame=128)
    for chunk in chunks:
        codec.receive_data(chunk)
        drain_expecting_only_protocol_errors(codec)
    if close:
        codec.receive_data(b"")
        drain_expecting_only_protocol_errors(codec)


@pytest.mark.reliability
def test_random_bytes_raise_only_protocol_error() -> None:
    started, before = time.monotonic(), EXAMPLES["random bytes"]
    random_bytes_property()  # hypothesis runs its examples here
    tried = EXAMPLES["random bytes"] - before
    record_codec_row(
        "random bytes into the codec", "only ProtocolError raised (a typed error)", tried, started
    )


def record_codec_row(case: str, outcome: str, tried: int, started: float) -> None:
    """A report row for the codec alone: no server ran, so no server memory to give."""
    reliability.record(
        reliability.Finding(
            area="bad input",
            case=case,
            outcome=outcome,
            tried=tried,
            seconds=time.monotonic() - started,
        )
    )


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@given(
    st.sampled_from(sorted(P.MESSAGE_TYPES)),
    st.dictionaries(
        st.sampled_from(
            [
                "oid",
                "id",
                "obj",
                "points",
                "seq",
                "text",
                "x",
                "y",
                "dx",
                "dy",
                "kind",
                "users",
                "put",
                "removed",
                "nick",
                "n",
                "since",
                "live",
                "code",
                "reason",
                "mode",
                "target",
                "count",
                "user",
                "time",
            ]
        ),
        JSONISH,
        max_size=6,
    ),
)
@settings(max_examples=400)
def test_wrongly_typed_fields_raise_only_protocol_error(kind: str, fields: dict) -> None:
    payload = json.dumps({"t": kind, **fields}).encode()
    try:
        msg = decode_frame(payload)
    except ProtocolError:
        return
    assert encode(msg)  # whatever decodes is valid: it can be sent on unchanged


@given(
    ANY_MESSAGE,
    st.lists(
        st.tuples(st.sampled_from("fid"), st.integers(0, 10**6), st.binary(min_size=1, max_size=1)),
        min_size=1,
        max_size=4,
    ),
)
@settings(max_examples=reliability.scaled(400), suppress_health_check=[HealthCheck.too_slow])
def mutated_frames_property(msg: Message, edits: list[tuple[str, int, bytes]]) -> None:
    EXAMPLES["mutated frames"] += 1
    frame = bytearray(encode(msg))
    for how, where, byte in edits:
        at = where % (len(frame) + 1)
        if how == "f" and at < len(frame):
            frame[at] ^= byte[0] | 1
        elif how == "i":
            frame[at:at] = byte
        elif how == "d" and at < len(frame):
            del frame[at]
    codec = Codec()
    codec.receive_data(bytes(frame))
    codec.receive_data(b"")
    for decoded in drain_expecting_only_protocol_errors(codec):
        assert type(decoded).TYPE in P.MESSAGE_TYPES
        assert encode(decoded)


@pytest.mark.reliability
def test_mutated_frames_raise_only_protocol_error_or_decode() -> None:
    started, before = time.monotonic(), EXAMPLES["mutated frames"]
    mutated_frames_property()  # hypothesis runs its examples here
    tried = EXAMPLES["mutated frames"] - before
    outcome = "only ProtocolError raised (a typed error); whatever decodes encodes again"
    record_codec_row("mutated frames into the codec", outcome, tried, started)


def test_a_raw_terminator_inside_a_frame_cuts_it_and_the_stream_recovers() -> None:
    codec = Codec()
    codec.receive_data('{"t": "say", "text": "aØb"}'.encode() + TERMINATOR + encode(P.Ping(n=4)))
    errors = 0
    while True:
        try:
            msg = codec.next_message()
        except ProtocolError as exc:
            assert not exc.fatal
            errors += 1
            continue
        break
    assert errors == 2 and msg == P.Ping(n=4)


def test_tabs_and_newlines_are_text() -> None:
    msg = Add(oid="o", obj=dataclasses.replace(TEXT, text="line one\n\tline two\r\n"))
    assert decode_frame(encode(msg)[:-2]) == msg


# -- packed points: what a joiner that asks for them gets in a board catch-up


@given(st.lists(POINT, min_size=1, max_size=P.MAX_POINTS).map(tuple), st.sampled_from(("pencil", "text")))
def test_an_object_with_packed_points_decodes_to_the_same_object(points, kind) -> None:
    if kind == "text":
        obj = BoardObject("t1", "text", points[:1], text="hi", author="abc")
    else:
        obj = BoardObject("s1", "pencil", points, "#1e50dc", 5, author="abc")
    packed = P.encode_obj(obj, packed=True)
    plain = P.encode_obj(obj, packed=False)
    assert plain == encode(P.Obj(obj), check=False)
    assert decode_frame(packed[: -len(TERMINATOR)]) == decode_frame(plain[: -len(TERMINATOR)]) == P.Obj(obj)


@pytest.mark.parametrize(
    ("packed", "detail"),
    [
        ('"AQACAI=A"', "not base64"),  # padding in the middle
        ('"AQAC AIA="', "not base64"),  # a space
        ('"AQAC"', "two 16-bit coordinates"),  # one coordinate: half a point
        ('""', "two 16-bit coordinates"),  # no point
        ('"gQwAAA=="', "within the board"),  # x = 3201
        ('"AAAJBw=="', "within the board"),  # y = 1801
        ("5", "packed form"),
    ],
)
def test_bad_packed_points_are_a_bad_field_naming_the_rule(packed: str, detail: str) -> None:
    frame = f'{{"t":"obj","obj":{{"id":"s1","kind":"pencil","points":{packed}}}}}'.encode()
    with pytest.raises(ProtocolError) as info:
        decode_frame(frame)
    assert info.value.code == "bad_field" and detail in info.value.detail and not info.value.fatal


def test_more_packed_points_than_an_object_holds_are_refused() -> None:
    too_many = P.wire_fields.pack_points([(1, 1)] * (P.MAX_POINTS + 1))
    frame = f'{{"t":"obj","obj":{{"id":"s1","kind":"pencil","points":"{too_many}"}}}}'.encode()
    with pytest.raises(ProtocolError) as info:
        decode_frame(frame)
    assert info.value.code == "bad_field" and f"1-{P.MAX_POINTS} points" in info.value.detail


def test_every_operation_writes_oid_first_and_what_the_server_stamps_last() -> None:
    """One field order for every echo (docs/PROTOCOL.md, "Framing"): t, oid, the operation's own
    fields, then seq, author, device; clear, undo and redo put seq and author first on main."""
    for msg in SAMPLES:
        if not isinstance(msg, P.OPERATIONS):
            continue
        stamped = dataclasses.replace(msg, seq=9, author="u1", device="d1")  # type: ignore[call-arg]
        keys = list(json.loads(encode(stamped)[: -len(TERMINATOR)]))
        assert keys[:2] == ["t", "oid"] and keys[-3:] == ["seq", "author", "device"], keys


def test_the_operations_are_exactly_the_sequenced_messages() -> None:
    """OPERATIONS (the union the code dispatches on) and the Sequenced base (what the codec names a
    refused oid by) are one fact: every registered Sequenced message is an operation and back."""
    sequenced = {c for c in P.MESSAGE_TYPES.values() if issubclass(c, protocol_base.Sequenced)}
    assert sequenced == set(P.OPERATIONS)
