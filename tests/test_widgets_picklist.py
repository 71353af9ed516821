"""The pick list (Ctrl+O's board files): what it shows, and every way to pick or leave it."""

from __future__ import annotations

import pygame
from uikit import click, draw, key, make_ui, move

ROWS = [("lesson.pgboard", "saved today"), ("design.pgboard", "saved yesterday"), ("game.pgboard", "")]


def open_list(tmp_path):
    ui = make_ui(tmp_path)
    picked: list[int] = []
    ui.pick("Open a board file", ROWS, picked.append)
    return ui, picked


def test_it_shows_every_row_numbered_and_takes_all_input_while_open(tmp_path):
    ui, picked = open_list(tmp_path)
    _, texts = draw(ui)
    assert {"Open a board file", "lesson.pgboard", "design.pgboard", "game.pgboard", "1", "2", "3"} <= set(
        texts
    )
    assert key(ui, pygame.K_p, unicode="p"), "a tool shortcut does not reach the board behind it"
    assert ui.modal_open and not picked


def test_arrows_and_enter_pick_the_highlighted_row(tmp_path):
    ui, picked = open_list(tmp_path)
    key(ui, pygame.K_DOWN)
    key(ui, pygame.K_DOWN)
    key(ui, pygame.K_DOWN)  # stops at the last row
    key(ui, pygame.K_UP)
    key(ui, pygame.K_RETURN)
    assert picked == [1] and not ui.modal_open


def test_a_digit_or_a_click_picks_that_row_and_esc_picks_nothing(tmp_path):
    ui, picked = open_list(tmp_path)
    key(ui, pygame.K_3, unicode="3")
    assert picked == [2]
    ui.pick("Open a board file", ROWS, picked.append)
    draw(ui)  # lays the rows out where the mouse can find them
    row = ui.picklist.row_rects[0]
    move(ui, row.center)
    click(ui, row.center)
    assert picked == [2, 0]
    ui.pick("Open a board file", ROWS, picked.append)
    key(ui, pygame.K_ESCAPE)
    assert picked == [2, 0] and not ui.modal_open


def test_nothing_to_pick_opens_nothing(tmp_path):
    ui = make_ui(tmp_path)
    ui.pick("Open a board file", [], lambda i: None)
    assert not ui.modal_open
