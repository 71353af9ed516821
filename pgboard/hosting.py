"""Host mode: run a board server inside the client's process, the embedded default for one machine.

The server listens on every interface so others on the network can join; the client joins it over
loopback like any other client. The board lives in the default SQLite file, so a board hosted today is
still there tomorrow.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from pgboard_server.server import BoardServer
from pgboard_server.store import default_db_path

from pgboard.protocol import DEFAULT_PORT

log = logging.getLogger(__name__)

HOST_INTERFACE = "0.0.0.0"


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
