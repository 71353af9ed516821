"""Idle connections without a thread: a joined member's reader thread that heard nothing for
READER_IDLE hands its socket to the server's one watch thread (an epoll set) and ends; the watch starts
a new reader thread when input arrives (or the connection is shut down, which is how a close reaches a
parked reader). A CPython thread blocked in poll() costs about 16 KiB of RSS by itself (measured:
500 threads, whatever ``threading.stack_size``), so an idle connection that kept one could not cost
less; a member who only watches others draw sends nothing and is parked too.

Only where there is epoll (Linux), for plain TCP (TLS keeps its reader) and for members (a stranger
keeps its thread until its JOIN_TIMEOUT). Everything else about the connection stays in its Session:
the codec's buffer, the send queue (written by whoever queues, as before), the heartbeat's clocks.
"""

from __future__ import annotations

import logging
import select
import socket
import threading
from typing import TYPE_CHECKING

from pgboard_server import lockorder

if TYPE_CHECKING:
    from pgboard_server.session import Session

log = logging.getLogger(__name__)


class IdleWatch:
    """The parked connections of a server and the thread that wakes them."""

    def __init__(self) -> None:
        self._epoll = select.epoll() if hasattr(select, "epoll") else None
        self._lock = lockorder.leaf("idle watch")
        self._parked: dict[int, Session] = {}  # fd -> session
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None
        if self._epoll is not None:
            self._epoll.register(self._wake_r.fileno(), select.EPOLLIN)

    def start(self) -> None:
        if self._epoll is not None:
            self._thread = threading.Thread(target=self._run, name="pgboard-idle-watch", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._wake_w.send(b"x")
            self._thread.join()
        for sock in (self._wake_r, self._wake_w):
            sock.close()
        if self._epoll is not None:
            self._epoll.close()

    @property
    def count(self) -> int:
        return len(self._parked)

    def park(self, session: Session) -> bool:
        """Take ``session``'s socket if it may be parked (its reader thread then ends)."""
        if self._thread is None or session.tls is not None:
            return False
        with session._state:  # a close either comes before (not parked) or resumes it (close())
            if session._closing or session.room is None:
                return False
            fd = session.sock.fileno()
            with self._lock:
                self._parked[fd] = session
                self._epoll.register(fd, select.EPOLLIN)  # type: ignore[union-attr]
            session.parked = True
            session.reader = None  # it ends now (resume() gives it a new one)
        return True

    def resume(self, session: Session) -> None:
        """Give ``session`` a reader thread again, if it is parked (on input, or at its close)."""
        with session._state:
            if not session.parked:
                return
            session.parked = False
            with self._lock:
                fd = session.sock.fileno()
                self._parked.pop(fd, None)
                try:
                    self._epoll.unregister(fd)  # type: ignore[union-attr]
                except (OSError, ValueError):
                    pass
        session.reader = threading.Thread(
            target=session._read_loop, name=f"pgboard-read-{session.number}", daemon=True
        )
        session.reader.start()

    def _run(self) -> None:
        assert self._epoll is not None
        wake = self._wake_r.fileno()
        while True:
            events = self._epoll.poll()
            for fd, _ in events:
                if fd == wake:
                    return
                with self._lock:
                    session = self._parked.get(fd)
                if session is not None:
                    try:
                        self.resume(session)
                    except Exception:
                        log.exception("%r: could not resume its reader", session)
