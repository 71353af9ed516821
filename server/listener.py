"""The server's listening socket: IPv4 as before, or one dual-stack socket for ``::`` (IPv6 and IPv4 on
the same port, what host mode uses so friends on either protocol can join).

A dual-stack socket reports an IPv4 peer as an IPv4-mapped IPv6 address (``::ffff:192.0.2.7``); the
listener's ``accept`` gives it back as the IPv4 address it is, so a peer's limits, bans and logs read
the same whichever socket it came through.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any

ANY_V6 = ("::", "")  # hosts meaning "every interface, both protocols"


class DualStackListener(socket.socket):
    """An AF_INET6 listening socket whose accept() unmaps IPv4-mapped peers."""

    def accept(self) -> tuple[socket.socket, Any]:
        conn, addr = super().accept()
        return conn, unmapped(addr)


def unmapped(addr: Any) -> Any:
    """(host, port) of an accepted peer, an IPv4-mapped IPv6 host as its IPv4 address."""
    if isinstance(addr, tuple) and len(addr) == 4:
        try:
            mapped = ipaddress.IPv6Address(addr[0].split("%", 1)[0]).ipv4_mapped
        except ValueError:
            mapped = None
        return (str(mapped), addr[1]) if mapped is not None else (addr[0], addr[1])
    return addr


def listen(host: str, port: int, backlog: int) -> socket.socket:
    """A socket listening on (host, port): dual-stack for ``::`` where the system has it (else IPv6 only),
    an IPv6 socket for another IPv6 literal, IPv4 otherwise (a name is resolved as before)."""
    wants_v6 = host in ANY_V6 or _is_v6(host)
    if not wants_v6:
        return socket.create_server((host, port), backlog=backlog)
    sock = DualStackListener(socket.AF_INET6, socket.SOCK_STREAM)
    try:
        if os.name == "posix":  # as socket.create_server: a restart binds again at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if host in ANY_V6 and socket.has_dualstack_ipv6():
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind((host or "::", port))
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _is_v6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host.split("%", 1)[0]), ipaddress.IPv6Address)
    except ValueError:
        return False
