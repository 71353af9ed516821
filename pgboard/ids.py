"""Object ids scoped to their author's device, so nobody can take ids another client will use.

An ``add``'s object id must begin with the adder's *id prefix* and ``:`` (docs/PROTOCOL.md,
"Objects"). The prefix is the device id, the first 16 hex digits of SHA-256 of the client secret sent
in ``join``: for a guest that is also its author id (welcome's ``user``); an account's machines each
have their own, so two machines of one account never make the same id. A ``join`` without a secret
gets the author id the server made up for it (welcome's ``user``) as its prefix. A hostile guest knows
the victim's prefix but not its secret, so it can use up only its own ids. A client knows its prefix
before any server answers (it knows its secret), so what it draws before the first ``welcome`` already
carries the right ids. Shared by the client and the server; pure Python.
"""

from __future__ import annotations

import hashlib

DEVICE_ID_HEX = 16  # hex digits of SHA-256(client secret): 64 bits, no guessing another's secret
SEPARATOR = ":"  # between the prefix and the client's own part of an object id


def device_id(secret: str) -> str:
    """The id prefix (and, for a guest, the author id) of a client secret."""
    return hashlib.sha256(secret.encode()).hexdigest()[:DEVICE_ID_HEX]


def scoped(prefix: str, local: str) -> str:
    """An object id in ``prefix``'s scope: ``prefix:local``."""
    return f"{prefix}{SEPARATOR}{local}"


def owned_by(oid: str, prefix: str) -> bool:
    """True if ``oid`` is in ``prefix``'s scope (the prefix, the separator, at least one more character)."""
    return len(oid) > len(prefix) + 1 and oid.startswith(prefix) and oid[len(prefix)] == SEPARATOR
