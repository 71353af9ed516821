"""The codec of the wire protocol: messages to frames and frames to messages, and :class:`Codec`, which
cuts a byte stream into frames (h11-style, sans-IO). Reached through pgboard/protocol.py, which
re-exports every name here; this module knows the messages only through the registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pgboard import wire_fields
from pgboard.protocol_base import (
    _ID_RE,
    MAX_FRAME,
    MESSAGE_TYPES,
    TERMINATOR,
    LocalProtocolError,
    Message,
    ProtocolError,
    Sequenced,
)


def encode(msg: Message, *, check: bool = True) -> bytes:
    """One message as one frame (payload + terminator).

    The message is checked by the same rules the peer decodes it by, so what we send is never
    refused as malformed: a field out of its range or a frame over MAX_FRAME raises LocalProtocolError.
    ``check=False`` skips the field rules (never the frame size) for a message made only of parts
    that were checked already: the server's echo of a decoded operation, stamped with its sequence
    number and author id, and the objects of a board built from such echoes.
    """
    cls = MESSAGE_TYPES.get(getattr(type(msg), "TYPE", None) or "")
    if cls is None or not isinstance(msg, cls):
        raise LocalProtocolError(f"not a protocol message: {msg!r:.200}")
    body: dict[str, Any] = {"t": msg.TYPE}
    body.update(msg.to_wire())
    if check:
        try:
            cls.from_wire(body)
        except wire_fields.Invalid as exc:
            raise LocalProtocolError(f"{msg.TYPE}: {exc}") from None
    return frame_body(msg.TYPE, body)


def frame_body(kind: str, body: dict[str, Any]) -> bytes:
    try:
        text = _ENCODER.encode(body)
    except (TypeError, ValueError) as exc:
        raise LocalProtocolError(f"{kind}: not JSON: {exc}") from None
    payload = text.encode("ascii")
    if len(payload) > MAX_FRAME:
        raise LocalProtocolError(f"frame of {len(payload)} bytes exceeds MAX_FRAME ({MAX_FRAME})")
    return payload + TERMINATOR


def payload_of(frame: bytes) -> str:
    """The payload of a frame :func:`encode` made, as text (what a log keeps): the terminator off."""
    return frame[: -len(TERMINATOR)].decode("ascii")


def frame_of(payload: str) -> bytes:
    """A payload :func:`payload_of` gave (or a log kept) as a frame to send: the terminator on."""
    return payload.encode("ascii") + TERMINATOR


def decode_frame(payload: bytes) -> Message:
    """One frame's payload (no terminator) as a typed message; raises only ProtocolError."""
    payload = payload.strip(b" \t\r\n")
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError("bad_frame", "a frame must be ASCII JSON (escape other characters)")
    try:
        data = _DECODER.decode(text)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_frame", "a frame must be one JSON object") from None
    if type(data) is not dict:
        raise ProtocolError("bad_frame", "a frame must be one JSON object")
    kind = data.get("t")
    cls = MESSAGE_TYPES.get(kind) if type(kind) is str else None
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {str(kind)[:40]!r}")
    try:
        return cls.from_wire(data)  # type: ignore[no-any-return]
    except wire_fields.Invalid as exc:
        oid = data.get("oid") if issubclass(cls, Sequenced) else None  # named, so its sender can drop it
        oid = oid if type(oid) is str and _ID_RE.match(oid) else ""
        raise ProtocolError("bad_field", f"{kind}: {exc}", oid=oid) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# made once: json.dumps and json.loads build a new encoder or decoder on every call given options
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


class Codec:
    """Frames a byte stream into messages, h11-style.

    Feed bytes with :meth:`receive_data` (``b""`` when the peer closed), then pull messages with
    :meth:`next_message` or iterate :meth:`messages`. A bad frame raises :class:`ProtocolError` once
    and the stream goes on with the next frame. A frame over ``max_frame`` is fatal however it was cut
    into chunks: it is noticed as soon as that many bytes arrive without a terminator, so the buffer
    never holds more than about ``max_frame`` bytes of one frame, and after it input is discarded.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self.max_frame = max_frame
        self._buf = bytearray()
        self._searched = 0  # bytes of _buf already known to hold no terminator
        self._closed = False
        self._broken: ProtocolError | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def broken(self) -> bool:
        """A fatal error was found: the stream can no longer be trusted and input is discarded."""
        return self._broken is not None

    @property
    def pending(self) -> int:
        """Bytes received but not yet framed."""
        return len(self._buf)

    def receive_data(self, data: bytes) -> None:
        if self._closed:
            raise LocalProtocolError("receive_data after the peer closed")
        if not data:
            self._closed = True
            return
        if self._broken is not None:
            return  # nothing after a fatal error can be framed; do not keep it
        self._buf += data
        self._find_end()

    def _find_end(self) -> int:
        """Where the first terminator starts, or -1; breaks the stream if a frame grows too large."""
        # the search restarts one byte early: the first half of a terminator may have arrived alone
        end = self._buf.find(TERMINATOR, max(0, self._searched - 1))
        self._searched = end if end >= 0 else len(self._buf)
        # without a terminator yet, the last byte may be the first half of one: allow it
        if self._searched > (self.max_frame if end >= 0 else self.max_frame + 1):
            self._buf.clear()
            self._searched = 0
            self._broken = ProtocolError(
                "frame_too_large", f"a frame exceeds MAX_FRAME ({self.max_frame} bytes)", fatal=True
            )
            return -1
        return end

    def next_message(self) -> Message | None:
        """The next complete message, or None when more bytes are needed."""
        if self._broken is not None:
            raise self._broken
        end = self._find_end()
        if self._broken is not None:
            raise self._broken
        if end < 0:
            if self._closed and self._buf.strip(b" \t\r\n"):
                self._buf.clear()
                self._searched = 0
                raise ProtocolError("truncated", "the connection closed inside a frame")
            return None
        payload = bytes(self._buf[:end])
        del self._buf[: end + len(TERMINATOR)]
        self._searched = 0
        return decode_frame(payload)

    def messages(self) -> Iterator[Message]:
        """Every complete message now buffered (stops at the first error, which it raises)."""
        while (msg := self.next_message()) is not None:
            yield msg

    @staticmethod
    def send(msg: Message) -> bytes:
        return encode(msg)
