"""Shared by the bot tests that read the session's demo snapshot (digests, reports)."""

from __future__ import annotations

import pytest

from analyticbot.snapshot import SnapshotReader


@pytest.fixture(scope="module")
def con(demo_warehouse):
    with SnapshotReader(demo_warehouse.settings).connect() as c:
        yield c
