"""Engine, sessions and migrations for the operational store."""

from __future__ import annotations

import threading
from contextlib import contextmanager, nullcontext
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
    if url.startswith("postgresql"):
        # A connection for each of the webhook server's worker threads, kept open: opening an overflow
        # connection per request cost ~100 ms at p99 under load.
        engine = create_engine(url, pool_size=10, max_overflow=10, pool_recycle=1800)
    else:
        engine = create_engine(url)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_con, _record):  # foreign keys are off by default in SQLite
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")  # bot, webhooks and Dagster read/write concurrently
            cur.execute("PRAGMA busy_timeout=10000")  # a second writer waits for the lock instead of failing
            cur.close()
    return engine


def alembic_config(settings: Settings | None = None) -> Config:
    settings = settings or get_settings()
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(settings.app_db_url).replace("%", "%%"))
    cfg.attributes["settings"] = settings  # a migration that needs more than the URL (0009: the dashboards key)
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
        # Reference data that code owns: kept in step on every migrate, in its own transaction.
        from analyticbot.payments.catalogue import sync_catalogue

        with Session(engine) as session, session.begin():
            sync_catalogue(session)
    finally:
        engine.dispose()


class AppStore:
    """A long-lived engine and session factory, for servers (webhooks) that open many short transactions."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.engine = make_engine(self.settings)
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a second one waits in its busy handler, which sleeps in steps of
        # up to 100 ms: that is what a p99 latency spike under webhook load was made of. Taking turns in-process
        # costs nothing (the file allows one writer anyway). PostgreSQL locks rows, so no lock there.
        self._turns = threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error."""
        with self._turns:
            session = self._factory()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def session_scope(settings: Settings | None = None) -> Iterator[Session]:
    """One transaction on a throw-away engine: for CLIs and assets that open the store once."""
    store = AppStore(settings)
    try:
        with store.transaction() as session:
            yield session
    finally:
        store.dispose()
