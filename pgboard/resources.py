"""Where pgboard's own files are: icons, fonts, word lists and their licences, shipped as package data
in ``pgboard/assets/`` and found through :mod:`importlib.resources`, so an installed wheel finds them as
the checkout does (a path beside the source tree is not in a wheel).

Every module that reads an asset asks :func:`asset_path`; a new kind of asset goes under
``pgboard/assets/`` (pyproject's package-data takes the whole folder).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

ASSETS = "assets"  # the folder inside the pgboard package


def asset_path(relative: str) -> Path:
    """The file ``relative`` (e.g. ``"icons/pencil.png"``, ``"fonts/x.ttf"``) under the package's assets.

    A file system path (the package is installed as files, by pip and pipx alike, never run from a
    zip); whether the file exists is for the caller to check and say."""
    return Path(str(files("pgboard").joinpath(ASSETS, *relative.split("/"))))
