"""Cluster messages (pgboard-server --redis): where a room's owner process is, and which other
processes of the cluster a client may reconnect to. Server -> client only; pure, like protocol.py.

A room has one owner process at a time (server/cluster/). A server that does not own the room a client
joins answers ``redirect`` (the owner's address) and closes; the client connects there at once and
joins again (``since`` as after any drop), so no board traffic ever crosses processes twice. Before
that, and before a welcome, every cluster process sends ``peers``: where to reconnect when this
process goes away.
"""

from __future__ import annotations

from pgboard import wire_fields
from pgboard.protocol import Message, message

MAX_HOST = 255  # characters of a host name (DNS's limit) in a redirect or peers entry
MAX_PEERS = 16  # addresses a peers message lists (a client keeps at most these to fall back to)
MAX_REDIRECTS = 5  # redirects in a row without a welcome that a client follows at once; then it backs off

_host = wire_fields.text(MAX_HOST)
_port = wire_fields.int_in(1, 65535)


@message("redirect")
class Redirect(Message):
    """Server -> client: this process does not own the room; its owner listens at host:port."""

    host: str = wire_fields.spec(_host)
    port: int = wire_fields.spec(_port)


@message("peers")
class Peers(Message):
    """Server -> client: other processes of the cluster, as "host:port", to reconnect to when this
    one is gone (the room moves to whichever process a client reaches first)."""

    addresses: tuple[str, ...] = wire_fields.spec(
        wire_fields.tuple_of(wire_fields.text(MAX_HOST + 6), MAX_PEERS)
    )


def split_address(text: str) -> tuple[str, int] | None:
    """("host", port) of a peers entry, or None if it is not one."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host.strip("[]"), int(port)


