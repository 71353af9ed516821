"""Every text field as a user types in it, in the real App under the dummy driver: one character is one
grapheme cluster everywhere (chat, the connect screen, the board's text tool), selection and the
clipboard, a limit that is shown, and Enter in the chat going back to drawing (issue 12 point 5, issue 13
point 10)."""

from __future__ import annotations

import pygame
import pygame.scrap
import pytest
from support import RawClient
from test_app import board_point, ev, joined, key, make_app, run_until

from pgboard import graphemes
from pgboard.app import App
from pgboard.protocol import Chat
from pgboard.widgets.clipboard import Clipboard
from pgboard.widgets.text import FontSet
from pgboard.widgets.textfield import TextField

CTRL, SHIFT = pygame.KMOD_LCTRL, pygame.KMOD_LSHIFT
# One user-perceived character each, of several code points.
CLUSTERS = {
    "family (ZWJ)": "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466",
    "technologist with skin tone": "\U0001f469\U0001f3fd\u200d\U0001f4bb",
    "thumb with skin tone": "\U0001f44d\U0001f3ff",
    "flag": "\U0001f1eb\U0001f1f7",
    "combining accents": "e\u0301\u0323",
    "Hangul jamo": "\u1100\u1161\u11a8",
    "Devanagari conjunct": "\u0915\u094d\u0937\u093f",
}
CASES = list(CLUSTERS.items())
IDS = list(CLUSTERS)


def text(s: str) -> pygame.event.Event:
    return ev(pygame.TEXTINPUT, text=s)


def click(pos: tuple[int, int]) -> list[pygame.event.Event]:
    return [ev(pygame.MOUSEBUTTONDOWN, pos=pos, button=1), ev(pygame.MOUSEBUTTONUP, pos=pos, button=1)]


def chatting(app: App) -> None:
    app.frame([key(pygame.K_RETURN, unicode="\r")])
    assert app.ui.chat.focused


def on_connect_screen(app: App, field: TextField) -> None:
    assert app.ui.connect_visible
    app.frame(click(field.rect.center))
    assert field.focused


def test_the_rule_finds_one_character_in_each_cluster() -> None:
    for cluster in CLUSTERS.values():
        assert graphemes.count(cluster) == 1 and len(cluster) > 1
        assert graphemes.boundaries("a" + cluster + "b") == [0, 1, 1 + len(cluster), 2 + len(cluster)]


# -- one character, everywhere


@pytest.mark.parametrize(("name", "cluster"), CASES, ids=IDS)
def test_backspace_and_arrows_in_the_chat_take_a_whole_character(screen, server, tmp_path, name, cluster):
    app = joined(make_app(screen, tmp_path), server)
    chatting(app)
    field = app.ui.chat.input
    app.frame([text("a" + cluster + "b")])
    app.frame([key(pygame.K_LEFT), key(pygame.K_LEFT), text("|")])  # one step past b, one past the cluster
    assert field.text == "a|" + cluster + "b"
    app.frame([key(pygame.K_END), key(pygame.K_BACKSPACE), key(pygame.K_BACKSPACE)])
    assert field.text == "a|", name
    app.frame([key(pygame.K_RETURN)])
    app.shutdown()


@pytest.mark.parametrize(("name", "cluster"), CASES, ids=IDS)
def test_delete_and_arrows_in_a_connect_screen_field_take_a_whole_character(screen, tmp_path, name, cluster):
    app = make_app(screen, tmp_path)
    field = app.ui.connect_screen.room
    on_connect_screen(app, field)
    app.frame([key(pygame.K_a, mod=CTRL), text(cluster + cluster + "z")])
    app.frame([key(pygame.K_HOME), key(pygame.K_RIGHT), key(pygame.K_DELETE)])
    assert field.text == cluster + "z", name
    app.frame([key(pygame.K_HOME), key(pygame.K_DELETE)])
    assert field.text == "z"


@pytest.mark.parametrize(("name", "cluster"), CASES, ids=IDS)
def test_the_text_tool_erases_a_whole_character(screen, server, tmp_path, name, cluster):
    app = joined(make_app(screen, tmp_path), server)
    app.frame([key(pygame.K_t, unicode="t"), *click(board_point(app, 0.4, 0.4))])
    app.frame([text("x" + cluster + "y")])
    app.frame([key(pygame.K_LEFT), key(pygame.K_BACKSPACE)])
    assert app.tool.text == "xy", name
    app.frame([text(cluster), key(pygame.K_LEFT), key(pygame.K_DELETE)])
    assert app.tool.text == "xy"
    app.shutdown()


# -- selection and the clipboard


def test_shift_arrows_select_and_typing_replaces_the_selection(screen, tmp_path):
    app = make_app(screen, tmp_path)
    field = app.ui.connect_screen.host
    on_connect_screen(app, field)
    flag = CLUSTERS["flag"]
    app.frame([key(pygame.K_a, mod=CTRL), text(f"board.example{flag}org")])
    app.frame([key(pygame.K_LEFT, mod=SHIFT)] * 4)  # "org" and the flag: four characters
    assert field.selected == flag + "org"
    app.frame([text(".")])
    assert field.text == "board.example." and field.selection is None
    app.frame([key(pygame.K_HOME, mod=SHIFT)])  # from the end back to the start
    assert field.selected == "board.example."
    app.frame([key(pygame.K_END, mod=SHIFT)])
    assert field.selection is None
    app.frame([key(pygame.K_HOME), key(pygame.K_END, mod=SHIFT), key(pygame.K_BACKSPACE)])
    assert field.text == ""


def test_copy_and_paste_go_through_the_system_clipboard(screen, tmp_path):
    app = make_app(screen, tmp_path)
    room, nick = app.ui.connect_screen.room, app.ui.connect_screen.nick
    on_connect_screen(app, room)
    app.frame([key(pygame.K_a, mod=CTRL), text("画室 " + CLUSTERS["family (ZWJ)"])])
    app.frame([key(pygame.K_a, mod=CTRL), key(pygame.K_c, mod=CTRL)])
    assert pygame.scrap.get_text() == "画室 " + CLUSTERS["family (ZWJ)"]  # another program can paste it
    app.frame([key(pygame.K_x, mod=CTRL)])
    assert room.text == ""
    pygame.scrap.put_text("zoë")  # copied in another program
    on_connect_screen(app, nick)
    app.frame([key(pygame.K_a, mod=CTRL), key(pygame.K_v, mod=CTRL)])
    assert nick.text == "zoë"


def test_a_password_is_never_copied(screen, tmp_path):
    app = make_app(screen, tmp_path)
    screen_ = app.ui.connect_screen
    screen_.set_mode("login")
    pygame.scrap.put_text("before")
    on_connect_screen(app, screen_.password)
    app.frame([text("s3cret"), key(pygame.K_a, mod=CTRL), key(pygame.K_c, mod=CTRL)])
    app.frame([key(pygame.K_x, mod=CTRL)])
    assert pygame.scrap.get_text() == "before" and screen_.password.text == "s3cret"


def test_without_a_system_clipboard_fields_share_one_in_the_process() -> None:
    pygame.init()
    fonts = FontSet()
    pygame.display.quit()  # no video system: SDL's clipboard refuses text
    board = Clipboard()
    one, two = TextField(fonts, clipboard=board), TextField(fonts, clipboard=board)
    one.focus()
    one.handle_event(text("copied 👍🏽"))
    for k in (pygame.K_a, pygame.K_c):
        one.handle_event(key(k, mod=CTRL))
    two.focus()
    two.handle_event(key(pygame.K_v, mod=CTRL))
    assert two.text == "copied 👍🏽" and not board.system
    pygame.quit()


# -- the limit


def test_typing_past_the_port_fields_limit_is_refused_and_shown(screen, tmp_path):
    app = make_app(screen, tmp_path)
    port = app.ui.connect_screen.port
    on_connect_screen(app, port)
    app.frame([key(pygame.K_a, mod=CTRL), text("5151")])
    pygame.scrap.put_text("47314")
    app.frame([key(pygame.K_v, mod=CTRL)])  # pasted after 5151: does not fit, so none of it goes in
    assert port.text == "5151" and port.refused
    app.ui.fonts.trace = []
    app.draw()
    assert "max 5" in app.ui.fonts.trace  # the narrow port field's way to say "At most 5 characters"
    app.frame([text(d) for d in "47314"])  # typed one key at a time: the 4 fits, the 7 does not ...
    assert port.text == "51514"
    app.ui.fonts.trace = []
    app.draw()
    assert "max 5" in app.ui.fonts.trace  # ... and the field says so, not silently (narrow: short)
    app.frame([key(pygame.K_a, mod=CTRL), key(pygame.K_v, mod=CTRL)])  # over the selection it fits
    assert port.text == "47314" and not port.refused
    app.ui.fonts.trace = []
    app.draw()
    assert "max 5" not in app.ui.fonts.trace


def test_a_chat_line_past_the_limit_is_refused_whole_and_shown(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    chatting(app)
    field = app.ui.chat.input
    app.frame([text("x" * (field.max_len - 1))])
    app.frame([text(CLUSTERS["thumb with skin tone"])])  # two code points where one is left
    assert field.text == "x" * (field.max_len - 1)  # not half a thumb
    app.ui.fonts.trace = []
    app.draw()
    assert {"At most 2000 characters", "max 2000"} & set(app.ui.fonts.trace)
    app.shutdown()


# -- back to drawing


def test_sending_a_chat_line_goes_back_to_drawing(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    chatting(app)
    app.frame([text("hello"), key(pygame.K_RETURN, unicode="\r")])
    assert bob.recv_until(Chat).text == "hello"
    app.frame([key(pygame.K_r, unicode="r"), text("r")])  # the next key picks a tool
    assert app.tool_name == "rect" and app.ui.chat.input.text == ""
    chatting(app)
    app.frame([key(pygame.K_RETURN, unicode="\r")])  # Enter on an empty line: back as well
    app.frame([key(pygame.K_e, unicode="e")])
    assert app.tool_name == "eraser"
    run_until(app, lambda: True)
    bob.close()
    app.shutdown()


def test_a_huge_paste_into_the_chat_is_refused_whole_and_shown(screen, server, tmp_path):
    app = joined(make_app(screen, tmp_path), server)
    chatting(app)
    field = app.ui.chat.input
    app.frame([text("keep me")])
    pygame.scrap.put_text(CLUSTERS["thumb with skin tone"] * 500_000)  # a million code points copied
    app.frame([key(pygame.K_v, mod=CTRL)])
    assert field.text == "keep me" and field.refused  # not the first 2,000, not half a thumb
    app.ui.fonts.trace = []
    app.draw()
    assert {"At most 2000 characters", "max 2000"} & set(app.ui.fonts.trace)
    app.shutdown()
