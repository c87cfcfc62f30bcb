"""The Mini App API over the session's demo snapshot (`demo_warehouse`), in-process (`TestClient`) or as a real
uvicorn server."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient

from tests.serving.signing import BOT_TOKEN


@pytest.fixture(scope="session")
def api_settings(demo_warehouse):
    # ttl 0: a test that publishes a new snapshot sees it on the next request
    return dataclasses.replace(demo_warehouse.settings, bot_token=BOT_TOKEN, api_version_ttl=0.0)


@pytest.fixture(scope="session")
def owners(api_settings) -> dict[int, list[int]]:
    """owner user id -> their channel ids, from the published snapshot."""
    from analyticbot.snapshot import SnapshotReader

    rows = SnapshotReader(api_settings).query(
        "SELECT owner_user_id, channel_id FROM marts.dim_channels ORDER BY owner_user_id, channel_id").rows()
    out: dict[int, list[int]] = {}
    for owner, channel in rows:
        out.setdefault(owner, []).append(channel)
    return out


@pytest.fixture
def client(api_settings):
    from serving.api.app import create_app

    with TestClient(create_app(api_settings)) as c:
        yield c
