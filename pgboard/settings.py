"""What the client remembers between runs: the connect screen's fields and the last colour and width.

A small JSON file under the user's config directory ($XDG_CONFIG_HOME/pgboard/settings.json, else
~/.config/pgboard/settings.json; %APPDATA%\\pgboard\\settings.json on Windows). Every function takes
the path as an argument so tests use a temporary file. A missing or damaged file gives the defaults
(logged, never fatal); saving writes a temporary file and renames it, so a crash cannot leave half a file.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pgboard.protocol import DEFAULT_PORT
from pgboard.sizes import DEFAULT_WIDTH

log = logging.getLogger(__name__)

APP_DIR = "pgboard"
FILE_NAME = "settings.json"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_ROOM = "lobby"
MAX_FIELD = 200  # characters kept of any remembered string


@dataclass
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    nick: str = ""
    room: str = DEFAULT_ROOM
    color: str = "#000000"
    width: int = DEFAULT_WIDTH
    client: str = ""  # the secret that makes this client the same author across restarts
    account: str = ""  # "login" when the user logs in with an account ("" a guest); never a password
    tls: bool = False  # connect over TLS
    trusted: dict[str, str] = dataclasses.field(default_factory=dict)  # "host:port" -> SHA-256 pinned
    ignored: dict[str, str] = dataclasses.field(default_factory=dict)  # author id -> nick (/ignore NICK)
    cursors: bool = True  # the others' pointers and names shown on the board (N hides them: 30 students)


MAX_TRUSTED = 100  # servers whose certificate fingerprint is remembered (and ignored people kept)


def server_key(host: str, port: int) -> str:
    """How a server is named in ``Settings.trusted``."""
    return f"{host.strip().lower()}:{port}"


def default_path() -> Path:
    """Where the settings live for this user."""
    if sys.platform == "win32" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    elif os.environ.get("XDG_CONFIG_HOME"):
        base = Path(os.environ["XDG_CONFIG_HOME"])
    else:
        base = Path.home() / ".config"
    return base / APP_DIR / FILE_NAME


def _coerce(data: Any) -> Settings:
    out = Settings()
    if not isinstance(data, dict):
        return out
    for f in dataclasses.fields(Settings):
        value = data.get(f.name)
        default = getattr(out, f.name)
        if isinstance(default, bool):
            if type(value) is bool:
                setattr(out, f.name, value)
        elif isinstance(default, dict):
            if isinstance(value, dict):
                pairs = [(k, v) for k, v in value.items() if isinstance(v, str) and len(k) <= MAX_FIELD]
                setattr(out, f.name, {k: v[:MAX_FIELD] for k, v in pairs[-MAX_TRUSTED:]})
        elif isinstance(default, int) and type(value) is int:
            setattr(out, f.name, value)
        elif isinstance(default, str) and isinstance(value, str):
            setattr(out, f.name, value[:MAX_FIELD])
    if not 0 < out.port < 65536:
        out.port = DEFAULT_PORT
    return out


def load(path: Path | None = None) -> Settings:
    """The saved settings, or the defaults when there are none (or they cannot be read)."""
    path = default_path() if path is None else Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except OSError as exc:
        log.warning("cannot read settings %s: %s", path, exc)
        return Settings()
    try:
        return _coerce(json.loads(text))
    except ValueError as exc:
        log.warning("settings %s are not valid JSON (%s); using defaults", path, exc)
        return Settings()


def save(settings: Settings, path: Path | None = None) -> bool:
    """Write ``settings``; returns False (and logs) when the file cannot be written."""
    path = default_path() if path is None else Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".settings-", suffix=".json", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(dataclasses.asdict(settings), out, ensure_ascii=False, indent=2)
            out.write("\n")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot save settings to %s: %s", path, exc)
        return False
    return True


class SettingsFile:
    """The one owner of the settings: what was loaded, and where, if at all, it is written.

    Every write of the client's settings goes through :meth:`save` (the UI, the connect screen, the
    app's identity and trusted certificates). ``writable=False`` reads the file and never writes it,
    nor anything beside it (pgboard/identity.py makes no lock file then)."""

    def __init__(
        self, path: Path | None = None, *, writable: bool = True, settings: Settings | None = None
    ) -> None:
        self.path = default_path() if path is None else Path(path)
        self.writable = writable
        self.settings = settings if settings is not None else load(self.path)

    def save(self) -> bool:
        """Write the settings (False when they cannot be written, or must not be)."""
        return save(self.settings, self.path) if self.writable else False
