"""Host mode: run a board server inside the client's process, the embedded default for one machine.

The server listens on every interface, IPv6 and IPv4 on one dual-stack socket (``::``; IPv4 alone on a
machine without IPv6), so others on the network can join; the client joins it over loopback like any
other client. The board lives in the default SQLite file, so a board hosted today is
still there tomorrow.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import os
import socket
from pathlib import Path

from pgboard_server.server import BoardServer
from pgboard_server.store import default_db_path

from pgboard.protocol import DEFAULT_PORT

log = logging.getLogger(__name__)

HOST_INTERFACE = "::"  # both protocols (server/listener.py)
IPV4_INTERFACE = "0.0.0.0"  # where the system has no IPv6 at all
# an address in a reserved documentation range (RFC 5737): a UDP socket "connected" to it only asks the
# kernel which local address the default route uses; no packet is sent and nothing waits on the network
# (a lookup of the machine's own name could wait seconds on DNS, in a frame)
ROUTE_PROBE = ("192.0.2.1", 9)
ROUTE_PROBE_V6 = ("2001:db8::1", 9)  # the same for IPv6, in its documentation prefix (RFC 3849)


def start_embedded_server(
    port: int = DEFAULT_PORT, db_path: str | os.PathLike[str] | None = None, interface: str = HOST_INTERFACE
) -> BoardServer:
    """Start a server in this process; if ``port`` is taken, on a free port instead."""
    path = Path(db_path) if db_path is not None else default_db_path()
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = BoardServer(host=interface, port=port, db_path=str(path))
        server.start()
    except OSError as exc:
        if interface == HOST_INTERFACE and exc.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
            log.info("no IPv6 here (%s): hosting on IPv4 only", exc)
            return start_embedded_server(port, db_path, IPV4_INTERFACE)
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        log.info("port %d is taken: hosting on a free port", port)
        server = BoardServer(host=interface, port=0, db_path=str(path))
        server.start()
    log.info("hosting on %s:%d with the board in %s", *server.address[:2], path)
    return server


def lan_addresses() -> list[str]:
    """The addresses others on the network would join this machine at (those the default routes use):
    the IPv4 one first, then the IPv6 one (a global or unique-local address: a link-local one needs its
    interface named and is left out); ``["127.0.0.1"]`` when the machine has no route out (only this
    machine can join)."""
    found = [a for a in (_routed(socket.AF_INET, ROUTE_PROBE), _routed(socket.AF_INET6, ROUTE_PROBE_V6)) if a]
    return found or ["127.0.0.1"]


def _routed(family: socket.AddressFamily, probe_to: tuple[str, int]) -> str:
    """The local address the default route of ``family`` uses, "" for none worth giving a friend."""
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect(probe_to)
            address = str(probe.getsockname()[0])
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except (OSError, ValueError):
        return ""
    return "" if ip.is_loopback or ip.is_link_local or ip.is_unspecified else str(ip)


def host_port(address: str, port: int) -> str:
    """``HOST:PORT``, an IPv6 address in brackets (``[2001:db8::5]:5151``) so its colons are not the
    port's."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def join_command(address: str, port: int) -> str:
    """The line a friend types to join this board (what Ctrl+C copies while hosting)."""
    return f"pgboard --connect {host_port(address, port)}"


def invitation(addresses: list[str], port: int) -> str:
    """The status bar's field while hosting: where others join (every address), and how to copy it."""
    others = f" (also {', '.join(host_port(a, port) for a in addresses[1:])})" if len(addresses) > 1 else ""
    return f"Hosting, others join: {join_command(addresses[0], port)}{others} · Ctrl+C copies"
