"""The join/leave grouping state machine (pgboard/widgets/presence.py), on a number for a clock."""

from pgboard.widgets.presence import PRESENCE_WINDOW_S, PresenceGroups


def test_close_notices_merge_while_newest_and_within_the_window() -> None:
    g = PresenceGroups()
    assert not g.add("a", "left", "quit", 0.0, still_newest=False)
    assert g.add("b", "left", "quit", 1.0, still_newest=True)
    assert g.newest is not None and g.newest.text() == "a and b left (quit)"
    for i, nick in enumerate("cdefghijkl"):
        assert g.add(nick, "left", "connection lost", 2.0 + i, still_newest=True)
    assert g.newest.text() == "a, b and 10 others left"  # mixed reasons: none shown
    assert len(g.newest.nicks) == 3, "names kept are bounded"


def test_a_new_line_after_the_window_another_line_or_the_other_verb() -> None:
    g = PresenceGroups()
    g.add("a", "joined", "", 0.0, still_newest=False)
    assert not g.add("b", "joined", "", PRESENCE_WINDOW_S + 0.5, still_newest=True)
    assert not g.add("c", "joined", "", PRESENCE_WINDOW_S + 1, still_newest=False)  # a chat line came between
    assert not g.add("c", "left", "", PRESENCE_WINDOW_S + 2, still_newest=True)
    assert g.newest is not None and g.newest.text() == "c left"


def test_people_who_left_for_another_board_read_as_left_not_left_left() -> None:
    g = PresenceGroups()
    g.add("a", "left", "left", 0.0, still_newest=False)  # the server's reason for a `leave`
    assert g.newest is not None and g.newest.text() == "a left"
    g.add("b", "left", "left", 1.0, still_newest=True)
    assert g.newest.text() == "a and b left"
