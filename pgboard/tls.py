"""TLS for the client's non-blocking pump, sans-IO: an ``ssl.SSLObject`` over two ``MemoryBIO``s.

The pump (pgboard/net.py) keeps its non-blocking socket of raw bytes: it feeds what it reads to
:meth:`ClientTls.receive` and gets plaintext back, gives plaintext to :meth:`ClientTls.send` and
writes :meth:`ClientTls.outgoing`. Nothing here touches a socket or blocks, so the handshake is spread
over frames like any other input.

Trust: by default the server's certificate must chain to the system's trust store and name the host.
A self-signed certificate is trusted by its SHA-256 fingerprint instead (``pinned``): the handshake then
skips the chain check and the fingerprint must match exactly, or :class:`FingerprintMismatch` is
raised. ``probe`` takes any certificate, to learn its fingerprint and show it to the user (trust on
first use). No pygame here.
"""

from __future__ import annotations

import ssl

from pgboard.fingerprints import fingerprint, normal_fingerprint

RECV = 64 * 1024  # bytes decrypted at a time
FIRST_BYTES = 4096  # bytes kept of what the server sent before the handshake: a plain error frame


class TlsFailure(Exception):
    """The TLS session could not be set up; ``detail`` says why in words for the status bar."""

    def __init__(self, detail: str, *, retry: bool = True) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry = retry  # a network hiccup may pass; a certificate problem will not


class Untrusted(TlsFailure):
    """The certificate does not chain to a trusted authority or does not name the host."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, retry=False)


class FingerprintMismatch(TlsFailure):
    """The certificate is not the one pinned for this server: refused, loudly."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(
            f"THE SERVER'S CERTIFICATE CHANGED: expected {expected}, got {got}. Someone may be "
            "intercepting the connection; if the server really changed its certificate, trust it again",
            retry=False,
        )
        self.expected, self.got = expected, got


class ClientTls:
    """The TLS state of one client connection to ``host``."""

    def __init__(self, host: str, *, pinned: str = "", probe: bool = False) -> None:
        if pinned or probe:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the fingerprint is checked below instead
        else:
            context = ssl.create_default_context()
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        self.pinned = normal_fingerprint(pinned) if pinned else ""
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = context.wrap_bio(self._in, self._out, server_hostname=host or None)
        self.done = False  # the handshake is complete
        self.fingerprint = ""  # the server certificate's, once the handshake is done
        self._first = b""  # the first bytes the server sent: plain text means a plain server
        self._step()

    def receive(self, data: bytes) -> bytes:
        """Raw bytes from the server (b"" at end of file) in, plaintext out. Raises TlsFailure."""
        if not self.done and len(self._first) < FIRST_BYTES:
            self._first += data[: FIRST_BYTES - len(self._first)]
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()
        if not self.done and not self._step():
            return b""
        chunks: list[bytes] = []
        while True:
            try:
                chunk = self._obj.read(RECV)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            except ssl.SSLError as exc:
                raise TlsFailure(f"TLS error: {exc.reason or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def send(self, data: bytes) -> None:
        """Encrypt plaintext (only after the handshake); the records wait in :meth:`outgoing`."""
        view = memoryview(data)
        while view:
            view = view[self._obj.write(view) :]

    def outgoing(self) -> bytes:
        """Bytes to write to the socket now."""
        return self._out.read()

    @property
    def plain_reply(self) -> bytes:
        """What the server sent first, when it was not TLS (a plain server's hello or error)."""
        return self._first if self._first.lstrip()[:1] == b"{" else b""

    def _step(self) -> bool:
        try:
            self._obj.do_handshake()
        except ssl.SSLWantReadError:
            return False
        except ssl.SSLCertVerificationError as exc:
            raise Untrusted(f"the server's certificate is not trusted: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            if self.plain_reply:
                raise TlsFailure("the server does not speak TLS: connect without TLS", retry=False) from None
            raise TlsFailure(f"TLS handshake failed: {exc.reason or exc}") from None
        der = self._obj.getpeercert(binary_form=True)
        self.fingerprint = fingerprint(der) if der else ""
        if self.pinned and self.fingerprint != self.pinned:
            raise FingerprintMismatch(self.pinned, self.fingerprint)
        self.done = True
        return True
