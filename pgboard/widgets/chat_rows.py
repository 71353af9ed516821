"""The chat panel's rows (pgboard/widgets/chat.py): an entry wrapped into rows of text (measured, not
rendered; a header too wide for a row wraps over rows of its own, so a long name is never cut) and one
row rendered to a surface. Functions of the panel, kept apart so chat.py stays a readable size."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pygame

from . import chat as C
from . import theme

if TYPE_CHECKING:
    from .chat import ChatPanel, _Entry


def wrap(self: ChatPanel, e: _Entry) -> list[str]:
    """The entry's rows as text: measured, not rendered; at most FOLD_ROWS (MAX_EXPANDED_ROWS
    once unfolded), the last one ending in the mark when the line goes on."""
    if e.rows is not None:
        return e.rows
    f, size, w = self.fonts, self.size, self._wrap_w
    lead = C.NOTICE_BAR_W + 6 if e.kind == "notice" else 0
    stamp_w = f.width(e.stamp, theme.FONT_SMALL) if e.stamp else 0
    prefix_w = f.width(e.prefix, size, bold=e.kind != "notice", italic=e.italic)
    first_w = w - lead - stamp_w - prefix_w
    alone = first_w < C.MIN_FIRST_W  # a long name: the text starts on the next row
    rest_w = w - lead - C.INDENT
    most = C.MAX_EXPANDED_ROWS if e.expanded else C.FOLD_ROWS
    first = rest_w if alone else first_w
    heads = wrap_head(self, e, w - lead - stamp_w, rest_w, prefix_w)
    lines = f.wrap(e.body, size, first, rest_w, italic=e.italic, max_lines=most + 1)
    if alone and not heads:
        lines.insert(0, "")
    e.mark = ""
    if len(lines) > most:  # the line goes on: its last row shown ends in the mark
        del lines[most:]
        e.mark = C.CUT_MARK if e.expanded else C.FOLD_MARK
        room = (rest_w if len(lines) > 1 or alone else first_w) - f.width(e.mark, size, italic=e.italic)
        last = lines[-1]
        lines[-1] = last[: f._fit(last, size, max(1, room), e.italic)] if last else last
    e.head = len(heads)
    e.rows = heads + lines
    return e.rows


def wrap_head(self: ChatPanel, e: _Entry, first_w: int, rest_w: int, prefix_w: int) -> list[str]:
    """The header ("[private] NICK → you: ") over rows of its own when it is wider than the row,
    so a long name is read whole (it was cut: "[private] Maximilian_Longnam…"); [] when it fits."""
    if prefix_w <= first_w or not e.prefix:
        return []
    f, size = self.fonts, self.size
    # wrap() measures regular type and the header is bold: narrow the rows by the ratio of the two
    plain = f.width(e.prefix, size, italic=e.italic)
    scale = plain / max(1, prefix_w)
    fit = lambda width: max(C.MIN_FIRST_W, int(width * scale) - 2)  # noqa: E731
    return f.wrap(e.prefix.rstrip(), size, fit(first_w), fit(rest_w), italic=e.italic, max_lines=C.FOLD_ROWS)


def render_row(self: ChatPanel, e: _Entry, i: int) -> pygame.Surface:
    f, size, w = self.fonts, self.size, self._wrap_w
    rows = wrap(self, e)
    line = rows[i]
    lead = C.NOTICE_BAR_W + 6 if e.kind == "notice" else 0
    asc, height = f.metrics(size)
    surf = pygame.Surface((w, height), pygame.SRCALPHA)
    x = lead
    if e.kind == "notice":
        pygame.draw.rect(surf, theme.NOTICE_BAR, (0, 0, C.NOTICE_BAR_W, height + C.ROW_GAP))
    if i < e.head:  # a row of a header too wide for one
        if i == 0 and e.stamp:
            surf.blit(
                f.render(e.stamp, theme.FONT_SMALL, theme.TEXT_FAINT),
                (x, asc - f.metrics(theme.FONT_SMALL)[0]),
            )
            x += f.width(e.stamp, theme.FONT_SMALL)
        elif i:
            x += C.INDENT
        surf.blit(f.render(line, size, e.prefix_color, bold=True, italic=e.italic), (x, 0))
        line = ""
    elif i == 0:
        if e.stamp:
            st = f.render(e.stamp, theme.FONT_SMALL, theme.TEXT_FAINT)
            surf.blit(st, (x, asc - f.metrics(theme.FONT_SMALL)[0]))
            x += f.width(e.stamp, theme.FONT_SMALL)
        if e.prefix:
            prefix = f.render(e.prefix, size, e.prefix_color, bold=True, italic=e.italic)
            surf.blit(prefix, (x, 0))
            x += f.width(e.prefix, size, bold=e.kind != "notice", italic=e.italic)
    else:
        x += C.INDENT
    if line:
        body = f.render(line, size, e.body_color, italic=e.italic, cache=False)
        surf.blit(body, (x, 0))
        x += body.get_width()
    if e.mark and i == len(rows) - 1:
        color = theme.ACCENT if e.mark == C.FOLD_MARK else theme.TEXT_FAINT
        surf.blit(f.render(e.mark, size, color, italic=e.italic), (x, 0))
    if e.dim:
        surf.set_alpha(C.HISTORY_ALPHA)
    return surf
