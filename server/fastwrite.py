"""One non-blocking write to a connected socket, as fast as the platform allows: ``write_now(sock, data)``
returns the bytes written (0 when the socket's buffer is full) and never waits; and the reader's wait
for input that holds no buffer (``read_waiter``).

The fast path is libc's ``write(2)`` called through ``ctypes.PyDLL``, which does not release the
interpreter lock: the socket is non-blocking underneath (it has a timeout), so the call never waits,
and a broadcast to fifty members no longer hands the lock to another thread and waits to get it back
around each of its fifty writes (``os.write`` and ``socket.send`` release it every time). Measured at
N=10, maximum rate: +16% deliveries a second, and a lower p99 at N=50.

The portable path (``portable_write``) is chosen at import wherever that is not possible: Windows (a
socket is not a C runtime file descriptor there), a Python without ctypes, a libc that cannot be
opened. It asks the socket whether it can take bytes without waiting (a zero-timeout poll) before
``send``: ``socket.send`` on a socket with a timeout would otherwise wait up to that timeout when the
buffer is full, and the caller holds its session's lock. Both report an error as 0 bytes written: the
session's writer thread then meets the error on its own write and closes the connection.

Safe only under the session's rule (server/session.py, ``Session._flush_locked``): one thread writes to
a socket at a time, so what is written leaves in the order it was queued.
"""

from __future__ import annotations

import os
import select
import socket
from collections.abc import Callable

Write = Callable[[socket.socket, bytes], int]


def _writable(sock: socket.socket) -> bool:
    """Whether ``sock`` takes bytes now: poll where there is one (select refuses a descriptor
    numbered 1024 or more on POSIX, and a server has that many), select on Windows (no such limit)."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sock, select.POLLOUT)
        return bool(poller.poll(0))
    return bool(select.select((), (sock,), (), 0)[1])


def portable_write(sock: socket.socket, data: bytes) -> int:
    """Write what the socket takes now without waiting; 0 if it takes nothing (or fails)."""
    try:
        if not _writable(sock):
            return 0
        return sock.send(data)  # writable: the send does not wait, and may write part of data
    except (OSError, ValueError):  # ValueError: closed under us; the writer thread meets it too
        return 0


def _libc_write() -> Write | None:
    """libc's write(2) holding the interpreter lock, or None where it cannot be used."""
    if os.name != "posix":
        return None  # sockets are not file descriptors there
    try:
        import ctypes

        c_write = ctypes.PyDLL(None).write
        c_write.restype = ctypes.c_ssize_t
        c_write.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
    except (ImportError, OSError, AttributeError, TypeError):  # no ctypes, no libc, no write in it
        return None

    def libc_write(sock: socket.socket, data: bytes) -> int:
        sent: int = c_write(sock.fileno(), data, len(data))
        return max(0, sent)  # -1: EAGAIN (the buffer is full) or an error

    return libc_write


write_now: Write = _libc_write() or portable_write
FAST = write_now is not portable_write  # which one this process uses (the tests run both)


def read_waiter(sock: socket.socket) -> Callable[[int], bool]:
    """A wait of at most the given milliseconds until ``sock`` has input (or is shut down), holding no
    buffer: an idle connection's reader waited in recv() with a RECV_SIZE bytes object allocated (64
    KiB of each connection's memory); False if nothing came. Where there is no poll (Windows) it does
    not wait and says True: recv() waits there."""
    if not hasattr(select, "poll"):
        return lambda timeout: True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return lambda timeout: bool(poller.poll(timeout))
