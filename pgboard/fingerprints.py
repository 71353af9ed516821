"""Certificate fingerprints as people compare them (``AB:CD:...``, SHA-256): pure, shared by the
client (pinning a self-signed server, pgboard/tls.py) and the server (printing its own,
server/tls.py), so that the server imports no client module."""

from __future__ import annotations

import hashlib


def fingerprint(der: bytes) -> str:
    """A certificate's SHA-256 fingerprint as ``AB:CD:...`` (as ``openssl x509 -fingerprint -sha256``)."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def normal_fingerprint(text: str) -> str:
    """A fingerprint typed or pasted in any usual form (``sha256:ab cd``, ``ABCD...``), normalised;
    ValueError when it is not 32 bytes of hex."""
    raw = text.strip()
    if raw.lower().startswith(("sha256:", "sha256=", "sha256 ")):
        raw = raw[7:]
    digits = "".join(c for c in raw if c not in ": \t").upper()
    if len(digits) != 64 or any(c not in "0123456789ABCDEF" for c in digits):
        raise ValueError(f"not a SHA-256 fingerprint: {text!r}")
    return ":".join(digits[i : i + 2] for i in range(0, 64, 2))
