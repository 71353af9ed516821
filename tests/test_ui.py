"""The UI manager headless: layout, tool bar, palette, width, chat, status, overlays, dialogs.

Events go through pygame's real queue (posted), and assertions are on what a user would see: the
strings drawn, the pixels, and whether an event was consumed (the tool must not see it then).
"""

from __future__ import annotations

from pathlib import Path

import pygame
import pytest
from uikit import BOARD_FILL, click, colors_in, draw, feed, key, make_ui, move, type_text, wheel

from pgboard.shortcuts import HELP_ROWS
from pgboard.tooltable import TOOL_BUTTONS
from pgboard.widgets import theme
from pgboard.widgets.overlays import TOAST_SECONDS
from pgboard.widgets.toolbar import HINT_DELAY

PREVIEW = Path("/tmp/ui_preview.png")


@pytest.fixture
def ui(tmp_path: Path):
    return make_ui(tmp_path)


# -- layout


@pytest.mark.parametrize("size", [(1280, 800), (1024, 640), (800, 600), (640, 480), (1920, 1080)])
def test_layout_places_every_region_without_overlap(tmp_path: Path, size: tuple[int, int]) -> None:
    ui = make_ui(tmp_path, size)
    window = pygame.Rect(0, 0, *size)
    regions = [ui.toolbar.rect, ui.board_rect, ui.panel_rect, ui.status.rect]
    for r in regions:
        assert window.contains(r) and r.w > 0 and r.h > 0
    for i, a in enumerate(regions):
        for b in regions[i + 1 :]:
            assert not a.colliderect(b), (a, b)
    assert ui.toolbar.rect.top == 0 and ui.status.rect.bottom == size[1]
    assert ui.panel_rect.right == size[0] and ui.board_rect.left == 0
    assert ui.user_list.rect.bottom <= ui.chat.rect.top  # user list above chat
    # every tool bar item fits on the tool bar
    for hint_rect, *_ in ui.toolbar.hints():
        assert ui.toolbar.rect.contains(hint_rect), hint_rect


def test_resize_event_relayouts(ui) -> None:
    feed(ui, pygame.event.Event(pygame.VIDEORESIZE, size=(900, 700), w=900, h=700))
    assert ui.status.rect.bottom == 700 and ui.panel_rect.right == 900


def test_tab_hides_every_panel_and_brings_them_back(ui) -> None:
    before, _ = draw(ui)
    assert key(ui, pygame.K_TAB) is True
    assert not ui.panels_visible
    assert ui.board_rect == pygame.Rect(0, 0, 1280, 800)
    hidden, texts = draw(ui)
    assert colors_in(hidden, pygame.Rect(0, 0, 1280, 48)) == {BOARD_FILL}  # no tool bar
    assert colors_in(hidden, pygame.Rect(1000, 100, 280, 700)) == {BOARD_FILL}  # no chat or status
    assert "Chat" not in texts
    # clicks where the panels were now belong to the board
    assert click(ui, ui.toolbar.tool_rects["line"].center) is False
    assert ui.calls == []
    key(ui, pygame.K_TAB)
    assert ui.panels_visible and ui.board_rect == pygame.Rect(0, 48, 980, 726)
    again, _ = draw(ui)
    assert pygame.image.tobytes(again, "RGB") == pygame.image.tobytes(before, "RGB")


# -- tool bar


def test_clicking_a_tool_picks_it_and_marks_it(ui) -> None:
    line = ui.toolbar.tool_rects["line"]
    pencil = ui.toolbar.tool_rects["pencil"]
    surface, _ = draw(ui)
    assert theme.ACCENT_SOFT in colors_in(surface, pencil)  # the first tool starts active
    assert click(ui, line.center) is True
    assert ui.calls == [("tool", "line")]
    surface, _ = draw(ui)
    assert theme.ACCENT_SOFT in colors_in(surface, line)
    assert theme.ACCENT_SOFT not in colors_in(surface, pencil)
    ui.set_tool("eraser")  # a shortcut key, through the app
    surface, _ = draw(ui)
    assert theme.ACCENT_SOFT in colors_in(surface, ui.toolbar.tool_rects["eraser"])
    assert theme.ACCENT_SOFT not in colors_in(surface, line)


def test_every_tool_shows_an_icon_and_its_key(ui) -> None:
    surface, texts = draw(ui)
    for name, letter, *_ in TOOL_BUTTONS:
        assert letter in texts
        inner = ui.toolbar.tool_rects[name].inflate(-12, -12)
        assert any(sum(c) < 250 for c in colors_in(surface, inner)), f"{name}: no icon drawn"
    icons = {
        name: pygame.image.tobytes(surface.subsurface(r.inflate(-12, -12)), "RGB")
        for name, r in ui.toolbar.tool_rects.items()
        if name != "pencil"
    }
    assert len(set(icons.values())) == len(icons)  # all different


def test_tooltip_shows_after_the_pointer_rests(ui) -> None:
    eraser = ui.toolbar.tool_rects["eraser"]
    assert move(ui, eraser.center) is False  # motion is never taken from a tool
    ui.update(100.0)
    ui.update(100.0 + HINT_DELAY / 2)
    _, texts = draw(ui)
    assert "Eraser  (E)" not in texts
    ui.update(100.0 + HINT_DELAY + 0.01)
    surface, texts = draw(ui)
    assert "Eraser  (E)" in texts
    assert any("delete" in t for t in texts)
    assert theme.TOOLTIP_BG in colors_in(surface, pygame.Rect(eraser.x - 40, eraser.bottom, 200, 60))
    move(ui, (400, 400))  # off the tool bar: gone
    ui.update(200.0)
    _, texts = draw(ui)
    assert "Eraser  (E)" not in texts


def test_undo_redo_buttons_report_actions(ui) -> None:
    click(ui, ui.toolbar.action_rects["undo"].center)
    click(ui, ui.toolbar.action_rects["redo"].center)
    assert ui.calls == [("action", "undo"), ("action", "redo")]


def test_erase_all_asks_first_and_the_dialog_takes_every_event(ui) -> None:
    clear = ui.toolbar.action_rects["clear"].center
    click(ui, clear)
    assert ui.dialog.open and ui.calls == []
    _, texts = draw(ui)
    assert "Erase everything you drew?" in texts
    assert any("Enter/Y: yes, Esc/N: no" in t for t in texts)
    # while it is open nothing reaches the tool bar or the board
    assert click(ui, ui.toolbar.tool_rects["line"].center) is True
    assert click(ui, (300, 300)) is True
    assert key(ui, pygame.K_p) is True
    assert ui.calls == []
    key(ui, pygame.K_n)
    assert not ui.dialog.open and ui.calls == []
    click(ui, clear)
    key(ui, pygame.K_ESCAPE)
    assert ui.calls == []
    click(ui, clear)
    key(ui, pygame.K_y)
    assert ui.calls == [("action", "clear")]
    click(ui, clear)
    draw(ui)
    click(ui, ui.dialog.yes_rect.center)
    assert ui.calls == [("action", "clear")] * 2


# -- palette and width


def test_palette_click_picks_and_marks_the_colour(ui) -> None:
    red = ui.palette.swatch_rects[2]
    assert click(ui, red.center) is True
    assert ui.calls == [("color", "#e03131")]
    surface, texts = draw(ui)
    ring = red.inflate(8, 8)
    assert theme.ACCENT in colors_in(surface, ring)
    assert theme.ACCENT not in colors_in(surface, ui.palette.swatch_rects[0].inflate(8, 8))
    assert [str(n) for n in range(1, 10)] == [t for t in texts if t.isdigit() and len(t) == 1][:9]
    ui.set_color("#000000")  # key 1, through the app
    surface, _ = draw(ui)
    assert theme.ACCENT in colors_in(surface, ui.palette.swatch_rects[0].inflate(8, 8))


def test_palette_colours_are_the_nine_of_the_design() -> None:
    names = [n for n, _ in theme.PALETTE]
    assert names == ["black", "blue", "red", "green", "orange", "yellow", "cyan", "purple", "white"]
    assert theme.PALETTE[0][1] == "#000000" and theme.PALETTE[8][1] == "#ffffff"
    assert all(c == c.lower() and len(c) == 7 for _, c in theme.PALETTE)


def test_custom_colour_picker_sliders_and_hex_field(ui) -> None:
    click(ui, ui.palette.custom_rect.center)
    picker = ui.palette.picker
    assert picker.open and ui.modal_open
    surface, texts = draw(ui)
    assert "Done" in texts
    assert colors_in(surface, picker.rect) - {BOARD_FILL}
    ui.calls.clear()
    hue = picker._sliders[0]
    target = (hue.x + hue.w // 3, hue.centery)  # a third of the way: green
    feed(
        ui,
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(hue.x + 2, hue.centery), button=1),
        pygame.event.Event(pygame.MOUSEMOTION, pos=target, rel=(0, 0), buttons=(1, 0, 0)),
        pygame.event.Event(pygame.MOUSEBUTTONUP, pos=target, button=1),
    )
    assert len(ui.calls) == 1 and ui.calls[0][0] == "color"
    r, g, b = theme.hex_to_rgb(ui.calls[0][1])
    assert g > r and g > b
    # the hex field: click it, replace the text, Enter
    click(ui, picker.hex_field.rect.center)
    assert ui.is_typing
    key(ui, pygame.K_END)
    for _ in range(7):
        key(ui, pygame.K_BACKSPACE)
    type_text(ui, "#123456")
    key(ui, pygame.K_RETURN)
    assert ui.calls[-1] == ("color", "#123456")
    assert not picker.open and ui.palette.active == "#123456" and ui.palette.custom == "#123456"
    click(ui, ui.palette.custom_rect.center)
    assert key(ui, pygame.K_ESCAPE) is True and not picker.open


def test_width_control_steps_and_presets(ui) -> None:
    ui.set_width(4)
    click(ui, ui.width_control.plus_rect.center)
    click(ui, ui.width_control.plus_rect.center)
    click(ui, ui.width_control.minus_rect.center)
    click(ui, ui.width_control.preset_rects[-1].center)
    assert ui.calls == [("width", 5), ("width", 8), ("width", 5), ("width", 26)]
    _, texts = draw(ui)
    assert "26" in texts
    ui.set_width(1)
    click(ui, ui.width_control.minus_rect.center)
    assert ui.calls[-1] == ("width", 1)  # no thinner than 1


# -- chat


def test_chat_typing_unicode_and_enter_sends_exactly_that(ui) -> None:
    assert not ui.is_typing
    assert key(ui, pygame.K_RETURN) is True  # Enter focuses the chat
    assert ui.is_typing
    assert all(type_text(ui, "中文", " ", "Ø", " 😀"))
    assert key(ui, pygame.K_p) is True  # a letter key while typing is the chat's, not a shortcut
    _, texts = draw(ui)
    assert "中文 Ø 😀" in texts
    key(ui, pygame.K_RETURN)
    assert ui.calls == [("send", "中文 Ø 😀")]
    _, texts = draw(ui)
    assert "中文 Ø 😀" not in texts  # the box is empty again
    assert not ui.is_typing  # sending went back to drawing (issue 13, point 10)
    assert key(ui, pygame.K_p) is False  # shortcuts are the app's again


def test_chat_editing_keys_and_history(ui) -> None:
    ui.focus_chat()
    type_text(ui, "helo")
    key(ui, pygame.K_LEFT)
    type_text(ui, "l")
    key(ui, pygame.K_HOME)
    type_text(ui, ">")
    key(ui, pygame.K_END)
    type_text(ui, "!!")
    key(ui, pygame.K_BACKSPACE)
    assert ui.chat.input.text == ">hello!"
    key(ui, pygame.K_RETURN)
    key(ui, pygame.K_RETURN)  # sending went back to drawing: Enter opens the chat again
    type_text(ui, "second")
    key(ui, pygame.K_RETURN)
    key(ui, pygame.K_RETURN)
    key(ui, pygame.K_UP)
    assert ui.chat.input.text == "second"
    key(ui, pygame.K_UP)
    assert ui.chat.input.text == ">hello!"
    key(ui, pygame.K_DOWN)
    key(ui, pygame.K_DOWN)
    assert ui.chat.input.text == ""
    assert ui.calls == [("send", ">hello!"), ("send", "second")]


def test_ime_composition_is_shown_then_committed(ui) -> None:
    ui.focus_chat()
    feed(ui, pygame.event.Event(pygame.TEXTEDITING, text="にほん", start=0, length=3))
    _, texts = draw(ui)
    assert "にほん" in texts and ui.chat.input.text == ""
    key(ui, pygame.K_BACKSPACE)  # the input method's key while composing: the text is untouched
    type_text(ui, "日本")
    assert ui.chat.input.text == "日本" and ui.chat.input.composition == ""


def test_clicking_the_board_leaves_the_chat_and_reaches_the_tool(ui) -> None:
    click(ui, ui.chat.input.rect.center)
    assert ui.is_typing
    assert click(ui, ui.board_rect.center) is False
    assert not ui.is_typing


def test_chat_scrollback_with_wheel_and_page_keys(ui) -> None:
    for i in range(120):
        ui.add_chat("bob", f"line {i}", user="u2")
    surface, texts = draw(ui)
    assert "bob: line 119" in texts and "bob: line 0" not in texts
    bottom_view = pygame.image.tobytes(surface.subsurface(ui.chat.log_rect), "RGB")
    move(ui, ui.chat.log_rect.center)
    assert wheel(ui, 2) is True
    surface, texts = draw(ui)
    assert "bob: line 119" not in texts and "bob: line 113" in texts
    assert pygame.image.tobytes(surface.subsurface(ui.chat.log_rect), "RGB") != bottom_view
    assert "Jump to latest ↓" in texts
    for _ in range(50):
        key(ui, pygame.K_PAGEUP)
    _, texts = draw(ui)
    assert "bob: line 0" in texts  # the very top
    ui.add_chat("bob", "new one", user="u2")  # a reader who scrolled up is not yanked down
    _, texts2 = draw(ui)
    assert texts2 == texts
    click(ui, ui.chat.pill_rect.center)
    _, texts = draw(ui)
    assert "bob: new one" in texts
    wheel(ui, 5)
    move(ui, ui.board_rect.center)
    assert wheel(ui, -5) is False  # over the board the wheel is the app's (zoom)


def test_chat_styles_notice_action_private_history(ui) -> None:
    ui.set_users([("u1", "alice"), ("u2", "bob")], "u1")
    ui.add_notice("bob joined")
    ui.add_chat("bob", "waves", "me", user="u2")
    ui.add_chat("bob", "psst", "private", user="u2", to="alice")
    ui.add_chat("alice", "hi", "private", user="u1", to="bob")
    ui.add_chat("bob", "earlier", user="u2", history=True)
    rows = ui.chat.visible_rows()
    assert rows[-5:] == [
        "bob joined",
        "* bob waves",
        "[private] bob → you: psst",
        "[private] you → bob: hi",
        "bob: earlier",
    ]
    surface, _ = draw(ui)
    log = ui.chat.log_rect
    row_h = ui.chat.row_h
    bottom = log.bottom - theme.PAD // 2
    notice_row = pygame.Rect(log.x, bottom - 5 * row_h, log.w, row_h)
    assert theme.NOTICE_BAR in colors_in(surface, notice_row)  # the notice's bar
    private_row = pygame.Rect(log.x, bottom - 3 * row_h, log.w, row_h)
    assert any(
        abs(c[0] - theme.PRIVATE_TEXT[0]) < 20 and abs(c[2] - theme.PRIVATE_TEXT[2]) < 20 and c[1] < 100
        for c in colors_in(surface, private_row)
    )


def test_chat_accepts_protocol_messages(ui) -> None:
    from pgboard.protocol import Chat, Notice

    ui.add_chat_message(Chat(kind="say", user="u2", nick="bob", text="from the wire"))
    ui.add_chat_message(Notice(text="Server restarting"))
    assert ui.chat.visible_rows()[-2:] == ["bob: from the wire", "Server restarting"]


def test_long_lines_wrap_fold_and_unfold_and_each_row_fits(ui) -> None:
    from pgboard.widgets.chat import FOLD_MARK, FOLD_ROWS

    text = "word " * 60 + "中文" * 40
    ui.add_chat("bob", text, user="u2")
    entry = ui.chat.entries[-1]
    _, texts = draw(ui)
    texts = [t for t in texts if t.startswith(("bob", "word", "中"))]
    assert len(entry.rows) == FOLD_ROWS and texts[-1].endswith(FOLD_MARK)  # folded: the mark ends it
    assert ui.chat.visible_rows()[-1].endswith(FOLD_MARK)
    last_row = pygame.Rect(
        ui.chat.log_rect.x,
        ui.chat.log_rect.bottom - theme.PAD // 2 - ui.chat.row_h,
        ui.chat.log_rect.w,
        ui.chat.row_h,
    )
    assert theme.ACCENT in colors_in(draw(ui)[0], last_row)  # "show all" in the accent colour
    click(ui, last_row.center)  # a click unfolds it
    assert len(entry.rows) > FOLD_ROWS and not entry.mark
    draw(ui)
    surfaces = [ui.chat._surface(entry, i) for i in range(len(entry.rows))]
    assert all(surf.get_width() <= ui.chat.log_rect.w for surf in surfaces)
    joined = "".join(ui.chat._row_text(entry, i) for i in range(len(entry.rows))).replace(" ", "")
    assert joined == ("bob:" + text).replace(" ", "")
    click(ui, last_row.center)  # and folds back
    assert len(entry.rows) == FOLD_ROWS


# -- user list and status bar


def test_user_list_shows_everyone_with_their_colour_and_you(ui) -> None:
    ui.set_users([("u2", "bob"), ("u1", "alice"), ("u3", "李雷")], "u1")
    surface, texts = draw(ui)
    assert {"alice", "(you)", "bob", "李雷", "3"} <= set(texts)
    assert ui.user_list.rows()[0] == ("u1", "alice (you)")  # you first
    list_colors = colors_in(surface, ui.user_list.rect)
    for uid in ("u1", "u2", "u3"):
        assert theme.user_color(uid) in list_colors
    assert theme.user_color("u2") == theme.user_color("u2") != theme.user_color("u3")


def test_status_bar_shows_state_room_nick_latency_and_progress(ui) -> None:
    ui.set_status("Reconnecting", "lobby", "alice", 23.4, (500, 1000), detail="retrying in 3 s")
    surface, texts = draw(ui)
    for want in ("Reconnecting · retrying in 3 s", "Room: lobby", "You: alice", "23 ms", "Loading board 50%"):
        assert want in texts
    bar = ui.status.rect
    assert theme.ACCENT in colors_in(surface, bar)  # the progress bar
    assert theme.STATE_WAIT in colors_in(surface, pygame.Rect(bar.x, bar.y, 24, bar.h))
    ui.set_status("Connected", "lobby", "alice", 12)
    surface, texts = draw(ui)
    assert not any(t.startswith("Loading board") for t in texts)
    assert theme.STATE_OK in colors_in(surface, pygame.Rect(bar.x, bar.y, 24, bar.h))


# -- overlays


def test_overlay_lists_every_shortcut_and_takes_the_keys(ui) -> None:
    assert key(ui, pygame.K_F1) is True
    assert ui.overlay.open
    _, texts = draw(ui)
    for keys, action in HELP_ROWS:
        assert keys in texts and action in texts
    for must in ("P", "Tab", "F11", "Ctrl+S", "1-9", "[ and ]", "Esc"):
        assert must in texts
    assert key(ui, pygame.K_p) is True and ui.calls == []
    key(ui, pygame.K_ESCAPE)
    assert not ui.overlay.open
    assert type_text(ui, "?") == [True] and ui.overlay.open
    type_text(ui, "?")
    assert not ui.overlay.open


def test_toast_shows_then_goes(ui) -> None:
    ui.toast("Saved board.png")
    ui.update(50.0)
    surface, texts = draw(ui)
    assert "Saved board.png" in texts
    assert theme.TOOLTIP_BG in colors_in(
        surface, pygame.Rect(ui.board_rect.centerx - 20, ui.board_rect.bottom - 40, 40, 30)
    )
    ui.update(50.0 + TOAST_SECONDS + 0.1)
    _, texts = draw(ui)
    assert "Saved board.png" not in texts


def test_board_clicks_pass_and_panel_clicks_are_consumed(ui) -> None:
    board = ui.board_rect.center
    assert click(ui, board) is False
    assert click(ui, ui.status.rect.center) is True
    assert click(ui, ui.user_list.rect.center) is True
    # a stroke that started on the board keeps its button-up even over a panel
    down, up = feed(
        ui,
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=board, button=1),
        pygame.event.Event(pygame.MOUSEBUTTONUP, pos=ui.toolbar.rect.center, button=1),
    )
    assert (down, up) == (False, False)
    assert ui.calls == []


# -- the whole screen


def test_full_ui_preview_screenshot(tmp_path: Path) -> None:
    ui = make_ui(tmp_path)
    ui.set_users([("u1", "alice"), ("u2", "bob"), ("u3", "李雷"), ("u4", "Zoë")], "u1")
    ui.add_notice("Welcome to lobby. Type /help for commands.")
    ui.add_chat("bob", "hi all, let's sketch the floor plan here", user="u2")
    ui.add_chat("李雷", "你好！我来画厨房 😀", user="u3")
    ui.add_chat("alice", "sure — I'll take the living room", user="u1")
    ui.add_chat("Zoë", "waves", "me", user="u4")
    ui.add_chat("alice", "can you check the door widths?", "private", user="u1", to="bob")
    ui.set_status("Connected", "lobby", "alice", 23, 0.4)
    ui.set_tool("rect")
    ui.set_color("#1c7ed6")
    ui.set_width(8)
    surface, texts = draw(ui)
    pygame.draw.rect(surface, (224, 49, 49), (200, 200, 300, 180), 4)
    pygame.image.save(surface, str(PREVIEW))
    assert PREVIEW.exists()
    assert surface.get_at((5, 5))[:3] == theme.PANEL_BG
    assert "你好！我来画厨房 😀" in " ".join(texts)


def test_clicking_someone_starts_a_private_message(ui) -> None:
    ui.set_users([("u1", "alice"), ("u2", "bob")], "u1")
    draw(ui)
    row_h = 22
    first_row_y = ui.user_list.rect.y + 28 + theme.PAD // 2 + row_h // 2
    click(ui, (ui.user_list.rect.x + 40, first_row_y))  # yourself: nothing
    assert not ui.is_typing
    click(ui, (ui.user_list.rect.x + 40, first_row_y + row_h))
    assert ui.is_typing and ui.chat.input.text == "/msg bob "
    type_text(ui, "psst")
    key(ui, pygame.K_RETURN)
    assert ui.calls == [("send", "/msg bob psst")]


def test_chat_while_panels_are_hidden_shows_as_a_toast(ui) -> None:
    ui.set_users([("u1", "alice"), ("u2", "bob")], "u1")
    ui.toggle_panels()
    ui.add_chat("bob", "look at the roof", user="u2")
    ui.update(1.0)
    _, texts = draw(ui)
    assert "bob: look at the roof" in texts
    ui.add_chat("alice", "my own line", user="u1")  # your own lines are not announced
    ui.update(1.0 + TOAST_SECONDS + 0.1)
    _, texts = draw(ui)
    assert not any("my own line" in t for t in texts)


def test_chat_draws_from_cached_rows_whatever_the_log_length(ui, monkeypatch: pytest.MonkeyPatch) -> None:
    renders: list[str] = []
    real = ui.fonts._render

    def counting(text, *args):
        renders.append(text)
        return real(text, *args)

    monkeypatch.setattr(ui.fonts, "_render", counting)
    for i in range(600):
        ui.add_chat("bob", f"message number {i}", user="u2")
    while ui.chat.waiting:  # a burst is wrapped over a few frames (WRAP_MEASURES_PER_FRAME)
        draw(ui)
    draw(ui)
    renders.clear()
    draw(ui)
    assert renders == []  # a frame re-renders nothing
    ui.add_chat("bob", "one more", user="u2")
    draw(ui)
    assert set(renders) <= {"one more"}  # only the new line, however long the log
    assert len(ui.chat.entries) == 601


def test_click_in_the_chat_box_places_the_caret(ui) -> None:
    ui.focus_chat()
    type_text(ui, "abcdef")
    box = ui.chat.input.rect
    click(ui, (box.x + 8 + ui.fonts.width("abc", theme.FONT_UI), box.centery))
    type_text(ui, "X")
    assert ui.chat.input.text == "abcXdef"


def test_long_input_scrolls_to_keep_the_caret_visible(ui) -> None:
    ui.focus_chat()
    type_text(ui, "start ", "x" * 200, " END")
    surface, _ = draw(ui)
    box = ui.chat.input.rect
    right_end = pygame.Rect(box.right - 16, box.y + 6, 12, box.h - 12)
    assert theme.ACCENT in colors_in(surface, right_end)  # the caret sits at the right end, inside the box
    key(ui, pygame.K_HOME)
    surface, _ = draw(ui)
    assert theme.ACCENT in colors_in(surface, pygame.Rect(box.x + 4, box.y + 6, 10, box.h - 12))


def test_page_keys_scroll_the_chat_even_when_the_app_owns_the_shortcuts(tmp_path: Path) -> None:
    ui = make_ui(tmp_path, keyboard_shortcuts=False)
    for i in range(80):
        ui.add_notice(f"notice {i}")
    assert key(ui, pygame.K_PAGEUP) is True
    assert "notice 79" not in ui.chat.visible_rows()
    assert key(ui, pygame.K_PAGEDOWN) is True
    assert ui.chat.visible_rows()[-1] == "notice 79"
    assert key(ui, pygame.K_TAB) is False and ui.panels_visible  # Tab is the app's then
    assert key(ui, pygame.K_RETURN) is False and not ui.is_typing


def test_a_full_log_drops_the_oldest_and_the_view_stays_full(ui) -> None:
    from pgboard.widgets.chat import MAX_ENTRIES

    for i in range(MAX_ENTRIES + 50):
        ui.add_notice(f"n{i}")
        if i == 100:
            ui.chat.scroll_by(10_000)  # a reader at the very top while the log overflows
    while ui.chat.waiting:  # a burst is wrapped over a few frames (WRAP_MEASURES_PER_FRAME)
        draw(ui)
    assert len(ui.chat.entries) == MAX_ENTRIES
    rows = ui.chat.visible_rows()
    assert len(rows) == ui.chat.visible_count and rows[0] == "n50"  # the oldest kept, no blank rows
