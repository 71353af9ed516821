"""The connect screen's look at a server's open rooms before joining: a short connection of its own
that sends a `rooms` request (the server answers one before any `join`, docs/PROTOCOL.md "Listing
rooms"), reads the answer and closes.

It runs in a daemon thread (a connect can wait on the network; the client never blocks in a frame)
and says it is done by a byte on a socket pair the sleeping frame loop selects on
(:meth:`RoomProbe.fileno`, pgboard/frameloop.py ``wake_sockets``): the loop wakes when the answer
is there, not on a timer; the screen takes :attr:`RoomProbe.result` in that frame. Plain
connections only: a TLS server's certificate is trusted by the user's explicit click on Connect,
never by a background look, so over TLS the list is not asked.
"""

from __future__ import annotations

import socket
import threading
import time

from pgboard.protocol import MAX_FRAME, Codec, Error, ProtocolError, Rooms

PROBE_TIMEOUT = 4.0  # seconds for the whole look (connect, greeting, answer): a dead host says so soon
LOCAL_NAMES = {"": "127.0.0.1", "localhost": "127.0.0.1"}  # as pgboard/net.py: no resolver for these


class RoomProbe:
    """One look at ``host:port``; ``result`` is None while it runs, then a `Rooms` answer or the
    reason there is none (a short sentence)."""

    def __init__(self, host: str, port: int, timeout: float = PROBE_TIMEOUT) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.result: Rooms | str | None = None
        # the thread writes one byte to _done when it has a result and closes its end; the screen
        # closes _wake (close()) once it took the result
        self._wake, self._done = socket.socketpair()
        self._wake.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="pgboard-room-probe", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self.result is not None

    def fileno(self) -> int:
        """Readable once the result is there (-1 after close)."""
        return self._wake.fileno()

    def close(self) -> None:
        self._wake.close()

    def _run(self) -> None:
        try:
            result: Rooms | str = self._ask()
        except (OSError, ProtocolError) as exc:
            result = _why(exc, f"{self.host}:{self.port}")
        except Exception as exc:  # a thread must not die silently: the screen would wait for ever
            result = f"no list of rooms ({exc})"
        self.result = result
        try:
            self._done.send(b"!")  # wakes the sleeping frame loop
        except OSError:
            pass  # the screen stopped listening: nothing to wake
        finally:
            self._done.close()

    def _ask(self) -> Rooms | str:
        deadline = time.monotonic() + self.timeout
        host = LOCAL_NAMES.get(self.host.lower(), self.host)
        with socket.create_connection((host, self.port), timeout=self.timeout) as sock:
            sock.sendall(Codec.send(Rooms()))
            codec = Codec(MAX_FRAME)
            while True:
                for msg in codec.messages():
                    if isinstance(msg, Rooms):
                        return msg
                    if isinstance(msg, Error):
                        return f"the server did not list its rooms: {msg.detail or msg.code}"
                left = deadline - time.monotonic()
                if left <= 0:
                    return "the server did not list its rooms in time"
                sock.settimeout(left)
                data = sock.recv(65536)
                if not data:
                    return "the server closed the connection without a list of rooms"
                codec.receive_data(data)


def _why(exc: Exception, where: str) -> str:
    """What a failed look says, for people."""
    if isinstance(exc, ConnectionRefusedError):
        return f"Nothing answers at {where}: is the server running?"
    if isinstance(exc, socket.timeout):
        return f"{where} did not answer in time"
    if isinstance(exc, socket.gaierror):
        return f"Cannot find the server {where.rpartition(':')[0]}"
    if isinstance(exc, ProtocolError):
        return f"{where} does not speak pgboard's protocol"
    return f"Cannot reach {where}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
