"""``select.select`` for any descriptor number, for the waits of the tests and the benches.

select() refuses a descriptor numbered 1024 or more ("filedescriptor out of range"), and one pytest
process opens many windows (each App keeps its fonts open), so a late test's sockets get there. This is
the same call on poll(): same arguments (descriptors or objects with ``fileno()``), same answer.
"""

from __future__ import annotations

import select as _select
import time
from typing import Any


def select(
    read: list[Any], write: list[Any], _except: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    def fd(x: Any) -> int:
        return x if isinstance(x, int) else x.fileno()

    if not read and not write:
        if timeout:
            time.sleep(timeout)  # select's own behaviour with nothing to watch
        return [], [], []
    poller = _select.poll()
    masks: dict[int, int] = {}
    for x in read:
        masks[fd(x)] = masks.get(fd(x), 0) | _select.POLLIN
    for x in write:
        masks[fd(x)] = masks.get(fd(x), 0) | _select.POLLOUT
    for n, mask in masks.items():
        poller.register(n, mask)
    events = dict(poller.poll(None if timeout is None else max(0.0, timeout) * 1000))
    gone = _select.POLLHUP | _select.POLLERR | _select.POLLNVAL
    readable = [x for x in read if events.get(fd(x), 0) & (_select.POLLIN | gone)]
    writable = [x for x in write if events.get(fd(x), 0) & (_select.POLLOUT | gone)]
    return readable, writable, []
