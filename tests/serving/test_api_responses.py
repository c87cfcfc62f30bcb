"""The per-snapshot answer cache and its validators, without HTTP."""

from __future__ import annotations

import asyncio

from serving.api.responses import AnswerCache, etag_for, etag_matches


def test_an_answer_is_computed_once_per_version_and_key():
    calls = []

    async def main():
        cache = AnswerCache()

        async def compute(tag):
            calls.append(tag)
            await asyncio.sleep(0.01)
            return tag

        first = await asyncio.gather(*(cache.get("v1", "k", lambda: compute("v1")) for _ in range(10)))
        again = await cache.get("v1", "k", lambda: compute("v1 again"))
        newer = await cache.get("v2", "k", lambda: compute("v2"))
        return first, again, newer

    first, again, newer = asyncio.run(main())
    assert first == ["v1"] * 10 and again == "v1" and newer == "v2"
    assert calls == ["v1", "v2"]  # ten concurrent first requests, one read


def test_a_read_still_running_on_the_old_version_never_answers_the_new_one():
    async def main():
        cache = AnswerCache()
        release = asyncio.Event()

        async def slow_old():
            await release.wait()
            return "v1 body"

        async def new():
            return "v2 body"

        old_task = asyncio.create_task(cache.get("v1", "k", slow_old))
        await asyncio.sleep(0)  # the v1 read is in flight
        new_answer = await cache.get("v2", "k", new)  # the pointer moved meanwhile
        release.set()
        return await old_task, new_answer, await cache.get("v2", "k", slow_old)

    old, new, cached = asyncio.run(main())
    assert (old, new, cached) == ("v1 body", "v2 body", "v2 body")


def test_a_failed_computation_is_not_cached_and_reaches_every_waiter():
    async def main():
        cache = AnswerCache()
        attempts = []

        async def boom():
            attempts.append(1)
            await asyncio.sleep(0.01)
            raise RuntimeError("snapshot read failed")

        results = await asyncio.gather(*(cache.get("v1", "k", boom) for _ in range(3)), return_exceptions=True)
        ok = await cache.get("v1", "k", lambda: asyncio.sleep(0, result="fine"))
        return results, ok, attempts

    results, ok, attempts = asyncio.run(main())
    assert all(isinstance(r, RuntimeError) for r in results) and ok == "fine" and len(attempts) == 1


def test_the_cache_is_bounded():
    async def main():
        cache = AnswerCache(max_entries=3)
        for i in range(5):
            await cache.get("v1", f"k{i}", lambda i=i: asyncio.sleep(0, result=i))
        return list(cache._done)

    assert asyncio.run(main()) == ["k2", "k3", "k4"]


def test_etags_name_the_version_and_match_lists_and_weak_forms():
    tag = etag_for("20261125T000000000000Z", "1:overview:30")
    assert tag.startswith('"20261125T000000000000Z-') and tag != etag_for("20261125T000000000000Z", "1:overview:7")
    assert etag_matches(tag, tag) and etag_matches(f'"x", W/{tag}', tag) and etag_matches("*", tag)
    assert not etag_matches(None, tag) and not etag_matches('"x"', tag)
