"""The operational store on both engines, migrated."""

from __future__ import annotations

import sys

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


@pytest.fixture(autouse=True)
def _restore_main_module():
    """Streamlit's script runner installs the page script as `sys.modules["__main__"]` and leaves it there. A
    later test in the same process that spawns workers (Dagster's multiprocess executor) would then make every
    child re-run that AppTest script as its main module and die; put the real one back after each test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main
