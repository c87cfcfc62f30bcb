"""Product usage: daily counters per user, written by the bot and the Mini App API, read by the churn model.

`record_activity` is what a handler calls on each command, Mini App session or opened report: one upsert that
adds to today's counter, safe under concurrent callers (the database adds, not Python). Days are UTC days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Mapping

from sqlalchemy import insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from analyticbot.appstore.db import session_scope
from analyticbot.appstore.models import ACTIVITY_KINDS, UserActivityDaily
from analyticbot.settings import Settings
from analyticbot.warehouse import USER_ACTIVITY, Warehouse, arrow_from_rows

_UPSERT = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def _utc_day(at: datetime | None) -> date:
    at = at or datetime.now(timezone.utc)
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc)
    return at.date()


def record_activity(session: Session, user_id: int, kind: str, *, count: int = 1,
                    at: datetime | None = None) -> None:
    """Add `count` to the user's `kind` counter for the UTC day of `at` (now by default)."""
    if kind not in ACTIVITY_KINDS:
        raise ValueError(f"unknown activity kind {kind!r}; expected one of {', '.join(ACTIVITY_KINDS)}")
    if count < 0:
        raise ValueError(f"activity count must not be negative, got {count}")
    dialect = session.get_bind().dialect.name
    if dialect not in _UPSERT:  # pragma: no cover - the two supported stores
        raise NotImplementedError(f"activity counters on {dialect}")
    table = UserActivityDaily.__table__
    row = {"user_id": user_id, "activity_date": _utc_day(at), **{k: 0 for k in ACTIVITY_KINDS}, kind: count}
    stmt = _UPSERT[dialect](table).values(**row)
    stmt = stmt.on_conflict_do_update(index_elements=["user_id", "activity_date"],
                                      set_={kind: table.c[kind] + stmt.excluded[kind]})
    session.execute(stmt)


def add_activity_days(session: Session, rows: Iterable[Mapping]) -> int:
    """Bulk insert of whole days (the demo history): each row has user_id, activity_date and the three counters.
    Days must not exist yet; the demo writes each user's history once."""
    rows = list(rows)
    if rows:
        session.execute(insert(UserActivityDaily), rows)
    return len(rows)


# -- copy to the warehouse ---------------------------------------------------------------------------------
# Counters of the newest days still grow (a user is active right now), so every copy re-reads this many days
# below the newest day already copied.
RECOPY_DAYS = 2


@dataclass
class ActivityLoadReport:
    since: date | None
    rows: int


def load_activity(settings: Settings, wh: Warehouse) -> ActivityLoadReport:
    """Copy activity counters from the operational store into `raw.app_user_activity_daily`: everything on the
    first run, then the days from (newest copied day - RECOPY_DAYS) on."""
    newest = wh.max_activity_date()
    since = None if newest is None else newest - timedelta(days=RECOPY_DAYS)
    t = UserActivityDaily.__table__
    query = select(t.c.user_id, t.c.activity_date, *(t.c[k] for k in ACTIVITY_KINDS))
    if since is not None:
        query = query.where(t.c.activity_date >= since)
    with session_scope(settings) as s:
        table = arrow_from_rows(s.execute(query).all(), USER_ACTIVITY)
    return ActivityLoadReport(since=since, rows=wh.replace_activity_from(since, table))
