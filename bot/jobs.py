"""Slots for the bot's heavy work (marking a video, building a report): at most `size` of a kind at once, the rest
wait their turn after the owner has been told it is under way.

On two cores, several such jobs at the same time would slow every other reply of the bot. A slot is an
`asyncio.Semaphore`, and an asyncio primitive belongs to the loop it waits on, so there is one per running loop
(tests and the benchmarks run several loops in one process).
"""

from __future__ import annotations

import asyncio
import weakref

_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]]" = \
    weakref.WeakKeyDictionary()


def slot(kind: str, size: int) -> asyncio.Semaphore:
    """The running loop's semaphore for `kind` (created with `size` places the first time it is asked for)."""
    by_kind = _slots.setdefault(asyncio.get_running_loop(), {})
    if kind not in by_kind:
        by_kind[kind] = asyncio.Semaphore(size)
    return by_kind[kind]
