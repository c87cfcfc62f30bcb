"""The operational store on both engines, migrated (twice: migrations are idempotent)."""

from __future__ import annotations

import pytest

from analyticbot.appstore.db import migrate
from analyticbot.settings import get_settings


@pytest.fixture(params=["sqlite", "postgres"])
def settings(request, data_dir, monkeypatch):
    if request.param == "postgres":
        monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", request.getfixturevalue("pg_url"))
    s = get_settings()
    migrate(s)
    migrate(s)  # idempotent
    return s
