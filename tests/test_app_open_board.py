"""Opening a board file in the real App (dummy video driver, a real server): Ctrl+O, a file of the
export folder or a typed path, then add to the board or replace it; ONE Ctrl+Z either way."""

from __future__ import annotations

import pygame
from support import RawClient
from test_app import board_point, drag, ev, joined, key, make_app, run_until

from pgboard import boardfile
from pgboard.protocol import Add, BoardObject

FILE_OBJECTS = [BoardObject(f"f{i}", "line", ((10 * i, 10), (10 * i + 5, 40)), "#112233") for i in range(9)]


def draw_squares(app, count: int) -> None:
    app.frame([key(pygame.K_s, unicode="s")])
    for i in range(count):
        f = 0.1 + 0.05 * i
        app.frame(drag([board_point(app, f, 0.2), board_point(app, f + 0.03, 0.25)]))
    run_until(app, lambda: not app.conn.pending_ops and len(app.board.objects) >= count)


def shapes(objects) -> list[tuple[str, tuple]]:
    return sorted((o.kind, o.points) for o in objects)


def test_ctrl_o_add_then_one_ctrl_z_takes_back_everything_added(screen, server, tmp_path):
    boardfile.save(tmp_path / "nine.pgboard", FILE_OBJECTS)
    app = joined(make_app(screen, tmp_path), server)
    draw_squares(app, 3)
    before = dict(app.board.objects)
    app.frame([key(pygame.K_o, mod=pygame.KMOD_LCTRL)])
    app.frame([key(pygame.K_1, unicode="1")])  # the file
    assert [row[0] for row in app.ui.picklist.items] == ["Add to the board", "Replace the whole board"]
    app.frame([key(pygame.K_1, unicode="1")])  # add
    run_until(app, lambda: len(app.board.objects) == 3 + 9 and not app.conn.pending_ops)
    app.frame([key(pygame.K_z, mod=pygame.KMOD_LCTRL)])  # ONE undo
    run_until(app, lambda: len(app.board.objects) == 3)
    assert app.board.objects == before
    room = server.rooms.get("r")
    run_until(app, lambda: len(room.board.objects) == 3)
    app.frame([key(pygame.K_y, mod=pygame.KMOD_LCTRL)])  # ONE redo brings all nine back
    run_until(app, lambda: len(app.board.objects) == 12)


def test_replace_as_operator_leaves_exactly_the_files_objects(screen, server, tmp_path):
    boardfile.save(tmp_path / "nine.pgboard", FILE_OBJECTS)
    app = joined(make_app(screen, tmp_path), server)  # first in the room: its operator
    bob = RawClient(server.address)
    bob.join("bob", room="r")
    bob.send(Add("b1", BoardObject(bob.obj_id("bobs"), "circle", ((300, 300), (320, 320)))))
    bob.recv_until(Add)
    draw_squares(app, 2)
    run_until(app, lambda: len(app.board.objects) == 3)
    app.frame([key(pygame.K_o, mod=pygame.KMOD_LCTRL)])
    app.frame([key(pygame.K_1, unicode="1")])
    assert app.ui.picklist.items[1][0] == "Replace the whole board"
    assert "everyone's work" in app.ui.picklist.items[1][1]
    app.frame([key(pygame.K_2, unicode="2")])  # replace
    room = server.rooms.get("r")
    run_until(app, lambda: len(app.board.objects) == 9 and not app.conn.pending_ops)
    assert shapes(room.board.objects.values()) == shapes(FILE_OBJECTS)
    assert shapes(app.board.objects.values()) == shapes(FILE_OBJECTS)
    app.frame([key(pygame.K_z, mod=pygame.KMOD_LCTRL)])  # one undo: the board as it was
    run_until(app, lambda: len(room.board.objects) == 3 and len(app.board.objects) == 3)
    assert bob.obj_id("bobs") in room.board.objects
    bob.close()


def test_a_typed_path_outside_the_export_folder_opens_with_home_expanded(
    screen, server, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    (home / "boards").mkdir(parents=True)
    boardfile.save(home / "boards" / "mine.pgboard", FILE_OBJECTS)
    monkeypatch.setenv("HOME", str(home))
    export = tmp_path / "export"
    export.mkdir()
    app = joined(make_app(screen, export), server)
    app.frame([key(pygame.K_o, mod=pygame.KMOD_LCTRL)])
    assert app.ui.picklist.open, "with no file in the export folder, the path field is still offered"
    app.frame([ev(pygame.TEXTINPUT, text="~/boards/missing.pgboard"), key(pygame.K_RETURN)])
    assert not app.ui.picklist.open
    assert "missing.pgboard" in app.ui.toast_line.text and "No such file" in app.ui.toast_line.text
    app.frame([key(pygame.K_o, mod=pygame.KMOD_LCTRL)])
    app.frame([ev(pygame.TEXTINPUT, text="~/boards/mine.pgboard"), key(pygame.K_RETURN)])
    assert app.ui.picklist.items[0][0] == "Add to the board"
    app.frame([key(pygame.K_RETURN)])
    run_until(app, lambda: len(app.board.objects) == 9)
