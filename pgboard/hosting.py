"""Host mode: run a board server inside the client's process, the embedded default for one machine.

The server listens on every interface so others on the network can join; the client joins it over
loopback like any other client. The board lives in the default SQLite file, so a board hosted today is
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

HOST_INTERFACE = "0.0.0.0"
# an address in a reserved documentation range (RFC 5737): a UDP socket "connected" to it only asks the
# kernel which local address the default route uses; no packet is sent and nothing waits on the network
# (a lookup of the machine's own name could wait seconds on DNS, in a frame)
ROUTE_PROBE = ("192.0.2.1", 9)


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
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise
        log.info("port %d is taken: hosting on a free port", port)
        server = BoardServer(host=interface, port=0, db_path=str(path))
        server.start()
    log.info("hosting on %s:%d with the board in %s", *server.address[:2], path)
    return server


def lan_addresses() -> list[str]:
    """The IPv4 address others on the network would join this machine at (the one the default route
    uses), as a list for the status bar; ``["127.0.0.1"]`` when the machine has no route out (only this
    machine can join)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(ROUTE_PROBE)
            address = str(probe.getsockname()[0])
    except OSError:
        return ["127.0.0.1"]
    return [address] if not ipaddress.ip_address(address).is_loopback else ["127.0.0.1"]


def join_command(address: str, port: int) -> str:
    """The line a friend types to join this board (what Ctrl+C copies while hosting)."""
    return f"pgboard --connect {address}:{port}"


def invitation(addresses: list[str], port: int) -> str:
    """The status bar's field while hosting: where others join (every address), and how to copy it."""
    others = f" (also {', '.join(addresses[1:])})" if len(addresses) > 1 else ""
    return f"Hosting, others join: {join_command(addresses[0], port)}{others} · Ctrl+C copies"
