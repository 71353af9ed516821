"""The connect screen inside the window: typing, focus moves, submit, join errors, remembered values."""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from uikit import click, draw, key, make_ui, type_text

from pgboard import settings
from pgboard.settings import Settings


@pytest.fixture
def ui(tmp_path: Path):
    return make_ui(tmp_path, settings=Settings(nick=""), show_connect=True)


def test_connect_screen_takes_unicode_and_tab_moves_focus(ui, tmp_path: Path) -> None:
    screen = ui.connect_screen
    assert ui.is_typing and screen.focused is screen.nick  # no saved nick: start there
    assert all(type_text(ui, "李", "雷"))
    assert key(ui, pygame.K_TAB) is True
    assert screen.focused is screen.room
    for _ in range(5):
        key(ui, pygame.K_BACKSPACE)
    type_text(ui, "画室")
    key(ui, pygame.K_TAB, pygame.KMOD_LSHIFT)
    assert screen.focused is screen.nick
    _, texts = draw(ui)
    assert {"李雷", "画室", "Connect", "Host a board", "Nickname", "Room", "Server", "Port"} <= set(texts)
    key(ui, pygame.K_RETURN)
    assert ui.calls == [("connect", "127.0.0.1", 5151, "李雷", "画室")]
    saved = settings.load(tmp_path / "settings.json")
    assert (saved.nick, saved.room, saved.port) == ("李雷", "画室", 5151)
    _, texts = draw(ui)
    assert "Connecting to 127.0.0.1:5151 …" in texts


def test_values_are_remembered_from_last_time(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    settings.save(Settings(host="10.0.0.7", port=6001, nick="zoë", room="art"), path)
    ui = make_ui(tmp_path, settings=settings.load(path), show_connect=True)
    _, texts = draw(ui)
    assert {"10.0.0.7", "6001", "zoë", "art"} <= set(texts)
    click(ui, ui.connect_screen.connect_rect.center)
    assert ui.calls == [("connect", "10.0.0.7", 6001, "zoë", "art")]


def test_click_moves_focus_and_host_button_reports(ui) -> None:
    screen = ui.connect_screen
    click(ui, screen.room.rect.center)
    assert screen.focused is screen.room
    click(ui, screen.nick.rect.center)
    type_text(ui, "bob")
    click(ui, screen.host_rect.center)
    assert ui.calls == [("host", "bob", "lobby")]


def test_taken_name_shows_the_suggestion_and_one_click_uses_it(ui) -> None:
    ui.connect_screen.nick.set_text("alice")
    ui.show_join_error("taken", "", "alice2")
    assert ui.connect_visible
    _, texts = draw(ui)
    assert "The nickname “alice” is already taken in this room." in " ".join(texts)
    assert "Use “alice2”" in texts
    click(ui, ui.connect_screen.use_rect.center)
    assert ui.calls == [("connect", "127.0.0.1", 5151, "alice2", "lobby")]
    assert ui.connect_screen.nick.text == "alice2"


@pytest.mark.parametrize(
    ("reason", "detail", "shown"),
    [
        (
            "unreachable",
            "connection refused",
            "Cannot reach 127.0.0.1:5151. Is the server running? connection refused",
        ),
        ("invalid", "", "That name is not allowed"),
        ("room_full", "", "This room is full. Try another room."),
    ],
)
def test_join_errors_are_shown(ui, reason: str, detail: str, shown: str) -> None:
    ui.connect_screen.nick.set_text("alice")
    ui.show_join_error(reason, detail)
    _, texts = draw(ui)
    assert shown in " ".join(texts)


def test_bad_fields_are_caught_before_connecting(ui) -> None:
    screen = ui.connect_screen
    screen.port.set_text("99999")
    screen.nick.set_text("bob")
    click(ui, screen.connect_rect.center)
    assert ui.calls == [] and screen.focused is screen.port
    _, texts = draw(ui)
    assert "The port is a number from 1 to 65535." in texts
    screen.port.set_text("5151")
    screen.nick.set_text("-bad name!")
    key(ui, pygame.K_RETURN)
    assert ui.calls == [] and screen.focused is screen.nick
    _, texts = draw(ui)
    assert any(t.startswith("That name is not allowed") for t in texts)


def test_connect_screen_takes_every_key_and_show_board_gives_them_back(ui) -> None:
    assert key(ui, pygame.K_TAB) is True and ui.panels_visible  # Tab moves focus, panels stay
    assert key(ui, pygame.K_F1) is True and not ui.overlay.open
    ui.show_board()
    assert not ui.is_typing
    assert key(ui, pygame.K_p) is False


def test_enter_on_an_empty_nickname_says_so(ui) -> None:
    assert ui.connect_screen.nick.text == ""
    key(ui, pygame.K_RETURN)
    assert ui.calls == []
    _, texts = draw(ui)
    assert "Please choose a nickname." in texts


def test_fill_shows_a_join_started_elsewhere(ui) -> None:
    ui.connect_screen.fill("192.168.1.9", 7000, "Алиса", "класс")
    ui.show_join_error("unreachable")
    _, texts = draw(ui)
    assert {"192.168.1.9", "7000", "Алиса", "класс"} <= set(texts)
    assert "Cannot reach 192.168.1.9:7000. Is the server running?" in texts


def test_buttons_light_up_under_the_pointer(ui) -> None:
    from uikit import colors_in, move

    from pgboard.widgets import theme

    button = ui.connect_screen.connect_rect
    surface, _ = draw(ui)
    assert theme.ACCENT_HOVER not in colors_in(surface, button)
    move(ui, button.center)
    surface, _ = draw(ui)
    assert theme.ACCENT_HOVER in colors_in(surface, button)


def test_the_port_field_takes_digits_only(ui) -> None:
    click(ui, ui.connect_screen.port.rect.center)
    key(ui, pygame.K_END)
    for _ in range(5):
        key(ui, pygame.K_BACKSPACE)
    type_text(ui, "6a0-0", "1")
    assert ui.connect_screen.port.text == "6001"


# -- accounts and passwords


def test_log_in_shows_a_masked_password_and_never_saves_it(ui, tmp_path: Path) -> None:
    screen = ui.connect_screen
    _, texts = draw(ui)
    assert {"Guest", "Log in", "Sign up", "Room password"} <= set(texts) and "Password" not in texts
    click(ui, screen.mode_rects["login"].center)
    click(ui, screen.nick.rect.center)
    type_text(ui, "zoë")
    assert key(ui, pygame.K_TAB) and screen.focused is screen.password
    type_text(ui, "hunter22")
    click(ui, screen.room_password.rect.center)
    type_text(ui, "club pass")
    _, texts = draw(ui)
    assert "Password" in texts and "••••••••" in texts and "•••••••••" in texts
    assert not any("hunter22" in t or "club pass" in t for t in texts)
    key(ui, pygame.K_RETURN)
    auth = {"account": ("login", "hunter22", ""), "room_password": "club pass"}
    assert ui.calls == [("connect", "127.0.0.1", 5151, "zoë", "lobby", auth)]
    saved = (tmp_path / "settings.json").read_text(encoding="utf-8")
    assert "hunter22" not in saved and "club pass" not in saved
    assert settings.load(tmp_path / "settings.json").account == "login"  # remembered: log in next time
    again = make_ui(tmp_path, settings=settings.load(tmp_path / "settings.json"), show_connect=True)
    assert again.connect_screen.mode == "login" and again.connect_screen.password.text == ""


def test_sign_up_and_the_next_time_logs_in(ui, tmp_path: Path) -> None:
    screen = ui.connect_screen
    screen.nick.set_text("zoë")
    click(ui, screen.mode_rects["signup"].center)
    _, texts = draw(ui)
    assert "Sign up and connect" in texts
    click(ui, screen.connect_rect.center)
    assert ui.calls == [] and screen.focused is screen.password  # no password yet
    _, texts = draw(ui)
    assert "Please type your password." in texts
    type_text(ui, "s3cret!")
    click(ui, screen.connect_rect.center)
    assert ui.calls == [
        ("connect", "127.0.0.1", 5151, "zoë", "lobby", {"account": ("signup", "s3cret!", "")})
    ]
    assert settings.load(tmp_path / "settings.json").account == "login"


def test_change_password_on_the_way_in(ui) -> None:
    screen = ui.connect_screen
    screen.nick.set_text("zoë")
    click(ui, screen.mode_rects["login"].center)
    click(ui, screen.password.rect.center)
    type_text(ui, "old pass")
    _, texts = draw(ui)
    assert "Change password" in texts and "New password" not in texts
    click(ui, screen.change_rect.center)
    assert screen.focused is screen.new_password
    key(ui, pygame.K_RETURN)
    _, texts = draw(ui)
    assert ui.calls == [] and "Please type the new password." in texts
    type_text(ui, "new pass")
    key(ui, pygame.K_RETURN)
    assert ui.calls == [
        ("connect", "127.0.0.1", 5151, "zoë", "lobby", {"account": ("passwd", "old pass", "new pass")})
    ]
    click(ui, screen.mode_rects["guest"].center)  # a guest has no password fields at all
    assert screen.password not in screen.fields and screen.new_password not in screen.fields


@pytest.mark.parametrize(
    ("reason", "detail", "retry", "shown", "focus"),
    [
        ("registered", "", 0, "“zoë” is a registered name: log in to use it, or choose another.", "nick"),
        ("bad_login", "wrong nickname or password", 0, "Wrong nickname or password.", "password"),
        ("too_many_attempts", "try again in 42 s", 42, "Too many failed attempts: try again in 42 s.", None),
        ("bad_password", "wrong password for this room", 0, "This room needs its password", "room_password"),
        ("weak_password", "at least 6 characters", 0, "That password is too short. at least 6", "password"),
        ("no_accounts", "", 0, "This server has no accounts: connect as a guest.", None),
    ],
)
def test_account_and_room_password_errors_are_shown(ui, reason, detail, retry, shown, focus) -> None:
    screen = ui.connect_screen
    screen.nick.set_text("zoë")
    screen.set_mode("login")
    ui.show_join_error(reason, detail, retry=retry)
    _, texts = draw(ui)
    assert shown in " ".join(texts)
    if focus is not None:
        assert screen.focused is getattr(screen, focus)
