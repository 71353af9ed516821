"""TLS for the server without an ssl.SSLSocket: an ``ssl.SSLObject`` over two ``MemoryBIO``s.

The socket keeps carrying raw bytes, so the session's writes stay as they are (the non-blocking
``os.write`` fast path and the writer's ``sendall`` simply carry ciphertext), and the two threads of a
connection can use TLS at once: every call into the SSLObject is made under one lock. Whoever encrypts
also writes what it got, and only one thread writes at a time (the session's rule), so records leave in
the order they were made; records the reader's decryption produces (rare in TLS 1.3) wait in the
outgoing BIO and leave with the next write.

The handshake runs in the connection's own reader thread, bounded by ``tls_handshake_timeout``: a
client that stalls it holds only its own thread, never the accept loop.
"""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

from pgboard_server import lockorder

from pgboard.fingerprints import fingerprint

RECV = 64 * 1024  # bytes read at a time during the handshake and decrypted at a time after it
TLS_REQUIRED = "this server speaks TLS: connect with TLS (pgboard --tls)"


def server_context(cert: str | Path, key: str | Path) -> ssl.SSLContext:
    """A server context for a certificate chain and its key (PEM files); TLS 1.2 at least."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(cert), str(key))
    return context


def file_fingerprint(cert: str | Path) -> str:
    """The SHA-256 fingerprint of the first certificate of a PEM file, as clients show it."""
    first = Path(cert).read_text(encoding="ascii").split(ssl.PEM_FOOTER)[0] + ssl.PEM_FOOTER
    der = ssl.PEM_cert_to_DER_cert(first[first.index(ssl.PEM_HEADER) :])
    return fingerprint(der)


class HandshakeFailed(Exception):
    """The peer did not complete a TLS handshake in time, or sent something that is not TLS."""

    def __init__(self, detail: str, *, plain: bool = False) -> None:
        super().__init__(detail)
        self.plain = plain  # the peer seemed to speak the plain protocol (or nothing at all)


class TlsWire:
    """The TLS state of one server-side connection; thread-safe."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_side=True)
        self._lock = lockorder.leaf("tls wire")

    def handshake(self, sock: socket.socket, timeout: float) -> None:
        """Complete the handshake on ``sock`` (a blocking socket), within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        first = b""
        while True:
            with self._lock:
                try:
                    self._obj.do_handshake()
                    done = True
                except ssl.SSLWantReadError:
                    done = False
                except ssl.SSLError as exc:
                    plain = first.lstrip()[:1] in (b"{", b"")
                    raise HandshakeFailed(f"TLS handshake failed: {exc.reason or exc}", plain=plain) from None
                out = self._out.read()
            if out:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.sendall(out)
            if done:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise HandshakeFailed(f"no TLS handshake within {timeout:g} s", plain=not first)
            sock.settimeout(left)
            try:
                data = sock.recv(RECV)
            except TimeoutError:
                raise HandshakeFailed(f"no TLS handshake within {timeout:g} s", plain=not first) from None
            if not data:
                raise HandshakeFailed("the peer closed during the TLS handshake")
            first = first or data
            with self._lock:
                self._in.write(data)

    def decrypt(self, data: bytes) -> bytes:
        """Raw bytes in, plaintext out; raises ssl.SSLError on garbage. ``b""`` decrypts what is
        already buffered (the client's first frames often come with the end of its handshake)."""
        chunks: list[bytes] = []
        with self._lock:
            if data:
                self._in.write(data)
            while True:
                try:
                    chunk = self._obj.read(RECV)
                except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks)

    def encrypt(self, data: bytes) -> bytes:
        """Plaintext in, the bytes to write out (records made earlier by the reader first)."""
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[self._obj.write(view) :]
            return self._out.read()

    def goodbye(self) -> bytes:
        """The close_notify alert, so the peer can tell our end from a cut connection."""
        with self._lock:
            try:
                self._obj.unwrap()
            except ssl.SSLError:
                pass
            return self._out.read()
