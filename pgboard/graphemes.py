"""What one character is, for every text field and the board's text tool: a user-perceived character,
Unicode's extended grapheme cluster (UAX #29), found by the ``regex`` package's ``\\X``.

The standard library has no grapheme segmentation; ``regex`` (well kept, current Unicode) does. Caret
moves, Backspace and Delete, selections and cuts all stop only at these boundaries, so a family emoji
joined by zero-width joiners, a thumb with its skin tone, a flag (two regional indicators), a letter
with combining accents, a Hangul syllable typed as jamo or a Devanagari conjunct is one step, erased
whole. Work is O(len(text)) a call; a field holds at most a few thousand characters.
"""

from __future__ import annotations

import regex

_CLUSTER = regex.compile(r"\X", regex.DOTALL)


def boundaries(text: str) -> list[int]:
    """Every index of ``text`` a caret may stand at, 0 and len(text) included, in order."""
    return [0, *(m.end() for m in _CLUSTER.finditer(text))]


def before(text: str, index: int) -> int:
    """Where the character ending at (or holding) ``index`` starts: Backspace, Left. 0 at the start."""
    start = 0
    for m in _CLUSTER.finditer(text):
        if m.end() >= index:
            return start if m.end() == index or m.start() == index else m.start()
        start = m.end()
    return start


def after(text: str, index: int) -> int:
    """Where the character starting at (or holding) ``index`` ends: Delete, Right. len at the end."""
    for m in _CLUSTER.finditer(text):
        if m.end() > index:
            return m.end()
    return len(text)


def snap(text: str, index: int) -> int:
    """The boundary at or before ``index`` (an index from elsewhere, such as a word search or a
    click, never left inside a character)."""
    best = 0
    for end in boundaries(text):
        if end > index:
            break
        best = end
    return best


def count(text: str) -> int:
    """How many user-perceived characters ``text`` holds."""
    return sum(1 for _ in _CLUSTER.finditer(text))


def cut(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` code points that ends on a boundary."""
    return text if len(text) <= limit else text[: snap(text, limit)]
