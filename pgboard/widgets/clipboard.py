"""Copy and paste for the text fields: the system clipboard (pygame-ce's ``pygame.scrap.put_text`` /
``get_text``, SDL's clipboard), and an in-process one when the system's cannot be used (no video
system yet, a driver without a clipboard): a copy in one field still pastes in another.
"""

from __future__ import annotations

import logging

import pygame
import pygame.scrap

log = logging.getLogger(__name__)


class Clipboard:
    """Text copied and pasted by every field of a window (they share :data:`CLIPBOARD`)."""

    def __init__(self) -> None:
        self.local = ""  # the last text copied here: what a paste gets when the system's cannot be read
        self.system = True  # False once the system's refused a copy; a later copy tries it again

    def put(self, text: str) -> None:
        self.local = text
        try:
            pygame.scrap.put_text(text)
            self.system = True
        except pygame.error as exc:
            if self.system:
                log.info("no system clipboard (%s): copies stay inside pgboard", exc)
            self.system = False

    def get(self) -> str:
        if self.system:
            try:
                text = pygame.scrap.get_text()
                if text or pygame.display.get_init():  # no video system: SDL answers "" for any
                    return text
            except pygame.error:
                pass
        return self.local


CLIPBOARD = Clipboard()  # one a process, as the system's is one a desktop
