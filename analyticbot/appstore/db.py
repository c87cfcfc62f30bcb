"""Engine, sessions and migrations for the operational store."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from analyticbot.settings import Settings, get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def sqlalchemy_url(url: str) -> str:
    # psycopg 3 is the one PostgreSQL driver the project installs.
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    url = sqlalchemy_url(settings.app_db_url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_con, _record):  # foreign keys are off by default in SQLite
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # bot, webhooks and Dagster read/write concurrently
            cur.close()
    return engine


def alembic_config(settings: Settings | None = None) -> Config:
    settings = settings or get_settings()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(settings.app_db_url).replace("%", "%%"))
    return cfg


def migrate(settings: Settings | None = None) -> None:
    """Bring the operational store to the newest schema (idempotent)."""
    settings = settings or get_settings()
    engine = make_engine(settings)
    try:
        with engine.begin() as connection:
            cfg = alembic_config(settings)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
    finally:
        engine.dispose()


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction: committed on success, rolled back on any error."""
    engine = make_engine(settings)
    factory = sessionmaker(engine, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
        engine.dispose()
