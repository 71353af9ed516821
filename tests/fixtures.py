"""The fixtures most test files share, defined once: ``screen`` (a pygame display under the dummy
driver) and ``server`` (a real board server on 127.0.0.1, port 0, in memory). conftest.py makes them
every test's; a test file that needs other options starts its own with ``support.running_server``."""

from __future__ import annotations

from collections.abc import Iterator

import pygame
import pytest
from pgboard_server.server import BoardServer
from support import running_server

SIZE = (1280, 800)  # the window the App tests draw in


@pytest.fixture
def screen() -> Iterator[pygame.Surface]:
    pygame.init()
    yield pygame.display.set_mode(SIZE)
    pygame.quit()


@pytest.fixture
def server() -> Iterator[BoardServer]:
    with running_server() as srv:
        yield srv
