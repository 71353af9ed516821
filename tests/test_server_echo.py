"""The echo spliced from the received bytes (server/echo.py) is the message the encoder would have
written: decoded, it is exactly the echo; stored, it is exactly what the log kept before. A payload
it cannot vouch for (a key of the client's own, an escape, packed points) is encoded as before."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pgboard_server import logform
from pgboard_server.echo import RawCodec, splice, stored
from test_protocol import IDS, POINT, SAMPLES

from pgboard.protocol import (
    MAX_FRAME,
    TERMINATOR,
    Delete,
    Extend,
    Message,
    Move,
    decode_frame,
    encode,
)

SPLICED = (Extend, Move, Delete)
OPS = [m for m in SAMPLES if type(m) in SPLICED]
AUTHORS = st.from_regex(r"[0-9a-f]{16}", fullmatch=True)


def client_payload(op: Message, *, order: list[int] | None = None, space: str = "") -> bytes:
    """What a client sends for ``op``: no seq, author or device; keys in any order, any spacing."""
    sent = dataclasses.replace(op, seq=0, author="", device="")  # type: ignore[type-var]
    body = json.loads(encode(sent)[: -len(TERMINATOR)])
    keys = list(body)
    if order is not None:
        keys = [keys[i % len(keys)] for i in order] + keys  # a permutation: first seen wins
        keys = list(dict.fromkeys(keys))
    sep = f"{space},{space}"
    text = "{" + space + sep.join(f"{json.dumps(k)}{space}:{space}{json.dumps(body[k])}" for k in keys) + "}"
    return text.encode("ascii")


def check(op: Message, raw: bytes, seq: int, author: str, device: str) -> None:
    assert decode_frame(raw) == dataclasses.replace(op, seq=0, author="", device="")  # type: ignore[type-var]
    echo = dataclasses.replace(op, seq=seq, author=author, device=device)  # type: ignore[type-var]
    frame = splice(raw, echo)
    assert frame is not None and frame.endswith(TERMINATOR)
    old = encode(echo, check=False)
    assert decode_frame(frame[: -len(TERMINATOR)]) == decode_frame(old[: -len(TERMINATOR)]) == echo
    assert stored(echo, frame) == logform.stored(echo) or (
        type(echo) is not Extend and decode_frame(stored(echo, frame).encode()) == echo  # type: ignore[union-attr]
    )


@pytest.mark.parametrize("op", OPS, ids=lambda m: type(m).__name__)
def test_the_spliced_echo_of_each_sample_decodes_to_the_encoded_one(op: Message) -> None:
    check(op, client_payload(op), 7, "0123456789abcdef", "")
    check(op, client_payload(op), 2**53, "0123456789abcdef", "fedcba9876543210")


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(OPS),
    IDS,
    IDS,
    st.lists(POINT, min_size=1, max_size=40),
    st.integers(-100, 100),
    st.booleans(),
    st.integers(1, 2**53),
    AUTHORS,
    st.one_of(st.just(""), AUTHORS),
    st.lists(st.integers(0, 10), max_size=6),
    st.sampled_from(["", " ", "\n", " \t"]),
)
def test_any_operation_spliced_decodes_to_its_echo(  # noqa: PLR0913
    op: Message,
    oid: str,
    obj_id: str,
    points: list[tuple[int, int]],
    d: int,
    live: bool,
    seq: int,
    author: str,
    device: str,
    order: list[int],
    space: str,
) -> None:
    changes: dict[str, object] = {"oid": oid, "id": obj_id}
    if type(op) is Extend:
        changes["points"] = tuple(points)
    if type(op) is Move:
        changes.update(dx=d, dy=-d, live=live)
    op = dataclasses.replace(op, **changes)  # type: ignore[type-var]
    check(op, client_payload(op, order=order, space=space), seq, author, device)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"t":"extend","oid":"o","id":"s","points":[[1,2]],"seq":99}',  # the client's seq
        b'{"t":"extend","oid":"o","id":"s","points":[[1,2]],"author":"x"}',
        b'{"t":"delete","oid":"o","id":"s","junk":1}',  # a key nobody knows
        b'{"t":"delete","oid":"o","id":"s","id":"s"}',  # a repeated key
        b'{"t":"delete","oid":"o","id":"s","s\\u0065q":4}',  # an escape
        b'{"t":"move","oid":"o","id":"s","dx":1,"dy":2,"seq":3}',  # live's two quotes, but no live
    ],
)
def test_a_payload_it_cannot_vouch_for_is_encoded_again(raw: bytes) -> None:
    op = decode_frame(raw)
    echo = dataclasses.replace(op, seq=5, author="0123456789abcdef")  # type: ignore[type-var]
    assert splice(raw, echo) is None


def test_packed_points_from_a_client_are_encoded_again() -> None:
    op = Extend(oid="o", id="s", points=((1, 2), (3, 4)))
    raw = logform.stored(op).encode()
    assert decode_frame(raw) == op
    assert splice(raw, dataclasses.replace(op, seq=1, author="0123456789abcdef")) is None


def test_an_echo_past_max_frame_is_left_to_the_encoder() -> None:
    """A payload that fits a frame as sent but not with seq and author: the encoder decides."""
    pad = " " * (MAX_FRAME - 60)
    raw = b'{"t":"delete","oid":"o","id":"s"' + pad.encode() + b"}"
    assert len(raw) <= MAX_FRAME
    echo = Delete(oid="o", id="s", seq=2**53, author="0123456789abcdef", device="fedcba9876543210")
    assert splice(raw, echo) is None


def test_raw_codec_keeps_the_payload_of_each_frame_it_decodes() -> None:
    codec = RawCodec()
    a, b = b'{"t":"delete","oid":"o","id":"s"}', b' {"t":"ping","n":1} '
    codec.receive_data(a + TERMINATOR + b[:5])
    assert codec.next_message() == decode_frame(a) and codec.raw == a
    assert codec.next_message() is None
    codec.receive_data(b[5:] + TERMINATOR)
    assert codec.next_message() == decode_frame(b) and codec.raw == b
