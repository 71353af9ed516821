"""How the store keeps an echo: its frame's JSON with every list of points packed.

Live echoes go out with points as JSON lists (every client reads them); the log keeps them packed
(``wire_fields.pack_points``: 4 bytes a point before base64, about half the list's size), and a
restart decodes them into shared coordinates as the live server had them (a list decodes into a fresh
int per coordinate above 256: 1.7x the memory). An ``ops`` catch-up sends a stored echo as it is to a
joiner that asked for packed points and as lists to one that did not (:func:`as_lists`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from pgboard import wire_fields
from pgboard.protocol import BOARD_H, BOARD_W, MAX_POINTS, Message, frame_of

_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
_PACKED_MARK = '"points":"'  # in a stored payload: some points are packed


def _pack_obj(obj: dict[str, Any]) -> dict[str, Any]:
    points = obj.get("points")
    if isinstance(points, (tuple, list)):
        obj["points"] = wire_fields.pack_points(points)
    return obj


def stored(echo: Message) -> str:
    """The payload the log keeps for ``echo`` (a decoded, checked operation): its points packed."""
    body: dict[str, Any] = {"t": echo.TYPE}
    body.update(echo.to_wire())
    _pack_obj(body)  # extend
    if isinstance(body.get("obj"), dict):  # add
        _pack_obj(body["obj"])
    if isinstance(body.get("put"), list):  # clear, undo, redo
        body["put"] = [_pack_obj(o) for o in body["put"]]
    return _ENCODER.encode(body)


def as_lists(payload: str) -> bytes:
    """A stored echo as a frame whose points are JSON lists (for a joiner that did not ask packed).
    Only the packed strings are rewritten, not the whole frame decoded and encoded again: an ``ops``
    catch-up of 1,000 operations took ~55 ms that way (the reconnect bench), most of it the rest of
    each frame."""
    if _PACKED_MARK not in payload:
        return frame_of(payload)
    try:
        return frame_of(_PACKED_POINTS.sub(_as_list, payload))
    except (ValueError, wire_fields.Invalid):  # a damaged row (the list form fitted when it was sent)
        return frame_of(payload)


_PACKED_POINTS = re.compile(r'"points":"([A-Za-z0-9+/=]*)"')


def _as_list(match: re.Match[str]) -> str:
    points = wire_fields.unpack_points(match.group(1), BOARD_W, BOARD_H, MAX_POINTS)
    return '"points":' + _ENCODER.encode(points)
