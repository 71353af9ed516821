"""The client's friend book (pgboard/friends.py), a pure state machine: what the chat says for each
``friends`` and ``friend`` message, and whom the People menu offers to add or remove."""

from __future__ import annotations

from pgboard.friends import FriendBook
from pgboard.protocol_friends import FriendInfo, Friends, FriendUpdate

BOB = FriendInfo("bob", True, True, "attic")
CAROL = FriendInfo("Carol", True, False, "")
DAVE = FriendInfo("dave")  # has not added me back


def test_the_first_list_says_who_is_online_and_a_reconnects_list_only_what_changed() -> None:
    book = FriendBook()
    assert book.apply(Friends((BOB, CAROL, DAVE))) == ["Friends online: bob (attic)"]
    assert book.is_friend("CAROL") and book.is_friend("dave") and not book.is_friend("erin")
    again = Friends((FriendInfo("bob", True, True, "cellar"), FriendInfo("Carol", True, True, "lobby"), DAVE))
    assert book.apply(again) == ["bob moved to cellar", "Carol is online in lobby"]
    assert book.apply(again) == []  # nothing changed: nothing said


def test_updates_say_what_changed_and_nothing_twice() -> None:
    book = FriendBook()
    book.apply(Friends((DAVE,)))
    assert book.apply(FriendUpdate("dave", True, True, "attic")) == ["dave is online in attic"]
    assert book.apply(FriendUpdate("dave", True, True, "cellar")) == ["dave moved to cellar"]
    assert book.apply(FriendUpdate("dave", True, False, "")) == ["dave went offline"]
    assert book.apply(FriendUpdate("dave", True, False, "")) == []
    assert book.apply(FriendUpdate("dave", False)) == [
        "dave removed you from their friends: you no longer see where they are"
    ]
    assert book.apply(FriendUpdate("dave", gone=True)) == ["dave is no longer on your friend list"]
    assert not book.is_friend("dave")


def test_the_answer_to_friends_lists_everyone() -> None:
    book = FriendBook()
    assert book.apply(Friends((), asked=True))[0].startswith("No friends yet")
    lines = book.apply(Friends((BOB, CAROL, DAVE), asked=True))
    assert lines[0] == "Friends (3):"
    assert lines[1:] == [
        "  bob: online in attic",
        "  Carol: offline",
        "  dave: has not added you yet (you see where they are once they do)",
    ]
