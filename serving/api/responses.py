"""Answers computed once per published snapshot, and the validators that let a client skip the body.

A channel's numbers change only when a new snapshot is published, so an answer is keyed by (snapshot version,
what was asked) and computed once: the first request after a publish reads the snapshot, the others get the
stored JSON bytes. Concurrent first requests for the same key wait for one computation instead of all reading
the snapshot ("single flight"). Entries of older versions are dropped as soon as a newer version is asked for.

The `ETag` is a hash of the same key, so a client's `If-None-Match` is answered with 304 before anything is
read. Ownership is checked before either, by the route.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from typing import Awaitable, Callable

MAX_ENTRIES = 20_000  # ~ 2 KB to 30 KB each; bounded so a scan of many channels cannot grow memory without end


def etag_for(version: str, key: str) -> str:
    digest = hashlib.blake2b(f"{version}\x00{key}".encode(), digest_size=12).hexdigest()
    return f'"{version}-{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in candidates


class AnswerCache:
    """(version, key) -> value, computed once; `get` awaits an in-flight computation of the same key."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self.version: str | None = None
        self._done: OrderedDict[str, object] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Future] = {}  # by version too: never hand a waiter of the
        # new version the answer of a read that started on the old one
        self.hits = 0
        self.misses = 0

    def _switch(self, version: str) -> None:
        if version != self.version:
            # Only a newer version is ever asked for after a swap (the pointer only moves forward); requests
            # still holding the old version compute without storing (see `get`).
            self.version = version
            self._done.clear()

    async def get(self, version: str, key: str, compute: Callable[[], Awaitable[object]]) -> object:
        if self.version is None or version > self.version:
            self._switch(version)
        if version != self.version:  # a request that started before a swap: answer it, store nothing
            return await compute()
        if key in self._done:
            self.hits += 1
            self._done.move_to_end(key)
            return self._done[key]
        pending = self._pending.get((version, key))
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[(version, key)] = future
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it; no "never retrieved" warning when there are none
            raise
        finally:
            self._pending.pop((version, key), None)
        future.set_result(value)
        if version == self.version:
            self._done[key] = value
            if len(self._done) > self.max_entries:
                self._done.popitem(last=False)
        return value
