"""Settings: a JSON file that survives a round trip and never stops the client when it is bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgboard import settings
from pgboard.settings import Settings


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "settings.json"
    mine = Settings(
        host="board.example", port=6000, nick="李雷", room="画室", color="#123456", width=8, tls=True
    )
    mine.trusted[settings.server_key("Board.Example", 6000)] = "AB:" * 31 + "AB"
    assert settings.save(mine, path)
    assert settings.load(path) == mine
    assert json.loads(path.read_text(encoding="utf-8"))["nick"] == "李雷"


def test_missing_file_gives_defaults(tmp_path: Path) -> None:
    assert settings.load(tmp_path / "none.json") == Settings()


@pytest.mark.parametrize(
    "content",
    ["not json", "[1, 2]", '{"port": "x", "nick": 5}', '{"port": 70000}', '{"tls": 1, "trusted": [1]}'],
)
def test_bad_content_gives_defaults_field_by_field(tmp_path: Path, content: str) -> None:
    path = tmp_path / "settings.json"
    path.write_text(content, encoding="utf-8")
    loaded = settings.load(path)
    assert loaded.port == settings.DEFAULT_PORT and loaded.nick == ""
    assert loaded.tls is False and loaded.trusted == {}


def test_partial_file_keeps_what_is_good(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text('{"nick": "zoë", "port": 7000, "unknown": 1}', encoding="utf-8")
    assert settings.load(path) == Settings(nick="zoë", port=7000)


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(settings.sys, "platform", "linux")
    assert settings.default_path() == tmp_path / "pgboard" / "settings.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert settings.default_path() == Path.home() / ".config" / "pgboard" / "settings.json"


def test_unwritable_place_reports_false(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert settings.save(Settings(), blocker / "settings.json") is False
