"""The echo of a drawing operation built from the bytes the client sent, not encoded again.

An ``extend``, ``move`` or ``delete`` echo is the operation as received with ``seq``, ``author`` (and
``device``) added: the board changes nothing else (pgboard/board.py ``Board.apply``). So its frame is
the received payload with those fields spliced in before the closing brace (:func:`splice`), and
its stored form (server/logform.py ``stored``) is written directly (:func:`stored`), where encoding
the echo twice (``to_wire`` and json, once for the wire and once for the log) cost about 15% of the
server's interpreter time at N=10, maximum rate (py-spy, the reader threads).

The splice is taken only when it provably decodes to the same message the encoder would have written:
the received payload decoded (the reader validated it) to exactly its required fields, with no
escapes and no other key. The fields of these operations are identifiers, integers, booleans and
lists of integer pairs, none of which holds a quote; so a payload with exactly the quotes of its
required keys and string values has no other key (an unknown one, a repeated one, or a ``seq`` of the
client's own, which the server's must never lose to). Anything else is encoded as before.

:class:`RawCodec` is the protocol's Codec that keeps the payload of the last frame it decoded
(``raw``): the server's reader is where frames are split.
"""

from __future__ import annotations

from pgboard import wire_fields
from pgboard.protocol import MAX_FRAME, Codec, Delete, Extend, Message, Move, frame_of, payload_of

# quotes of a well-formed payload: 2 for each key and for each string value (t, oid, id)
_QUOTES: dict[type, int] = {Extend: 2 * 4 + 6, Delete: 2 * 3 + 6, Move: 2 * 5 + 6}
_LIVE = b'"live"'  # move's one optional field: two more quotes when sent


def splice(raw: bytes, echo: Message) -> bytes | None:
    """The echo's frame made of ``raw`` (the payload its operation was decoded from), or None when
    that is not provably the same message (then encode the echo)."""
    want = _QUOTES.get(type(echo))
    if want is None or b"\\" in raw:
        return None
    quotes = raw.count(b'"')
    if quotes != want and not (type(echo) is Move and quotes == want + 2 and _LIVE in raw):
        return None
    body = raw.rstrip(b" \t\r\n")
    if not body.endswith(b"}"):
        return None
    device = echo.device  # type: ignore[attr-defined]
    tail = f',"seq":{echo.seq},"author":"{echo.author}"'  # type: ignore[attr-defined]
    if device:
        tail += f',"device":"{device}"'
    payload = body[:-1] + tail.encode("ascii") + b"}"
    if len(payload.strip(b" \t\r\n")) > MAX_FRAME:
        return None  # the encoder would refuse it as well: let it say so
    return frame_of(payload.decode("ascii"))


def stored(echo: Message, frame: bytes) -> str | None:
    """What the log keeps for ``echo`` (server/logform.py ``stored``: points packed), written
    directly for the operations :func:`splice` handles; ``frame`` is its spliced frame."""
    if type(echo) is Extend:
        tail = f',"device":"{echo.device}"}}' if echo.device else "}"
        return (
            f'{{"t":"extend","oid":"{echo.oid}","id":"{echo.id}","points":"'
            f'{wire_fields.pack_points(echo.points)}","seq":{echo.seq},"author":"{echo.author}"{tail}'
        )
    if type(echo) in (Move, Delete):
        return payload_of(frame).strip(" \t\r\n")  # no points to pack
    return None


class RawCodec(Codec):
    """A Codec that keeps the payload of the frame :meth:`next_message` decoded last (``raw``)."""

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        super().__init__(max_frame)
        self.raw = b""

    def next_message(self) -> Message | None:
        end = self._find_end()  # where Codec.next_message will cut: the search resumes there, O(1)
        self.raw = bytes(self._buf[:end]) if end >= 0 and self._broken is None else b""
        return super().next_message()
