"""The operational store on both engines, migrated."""

from __future__ import annotations

import pytest

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.settings import get_settings


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, data_dir, monkeypatch):
    if request.param == "postgres":
        monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", request.getfixturevalue("pg_url"))
    s = get_settings()
    migrate(s)
    return s


@pytest.fixture
def store(settings):
    s = AppStore(settings)
    yield s
    s.dispose()
