"""Copy the payment ledger into the warehouse, and keep the FX table current.

The ledger is append-only, so the warehouse copy grows by `ledger_id`. The reader starts a window below the
warehouse's newest id: on PostgreSQL two webhooks can take ids 10 and 11 and commit 11 first, and a strict
"> cursor" would skip 10 forever. `Warehouse.append_payment_events` drops what is already there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import PaymentEvent
from analyticbot.payments.fx import csv_rates, demo_rates
from analyticbot.settings import Settings
from analyticbot.warehouse import PAYMENT_EVENTS, Warehouse, arrow_from_rows

REORDER_WINDOW = 10_000  # ledger ids re-read below the cursor
CHUNK = 50_000  # rows per read from the operational store and per warehouse transaction
_COLUMNS = [getattr(PaymentEvent, name) for name in PAYMENT_EVENTS.names]


@dataclass
class LedgerLoad:
    read: int = 0
    appended: int = 0
    cursor_before: int = 0
    cursor_after: int = 0


def load_ledger(settings: Settings, wh: Warehouse) -> LedgerLoad:
    """Append new ledger rows to `raw.payment_events`, chunk by chunk (each chunk its own transaction, so an
    interrupted load resumes where it stopped)."""
    report = LedgerLoad(cursor_before=wh.max_ledger_id())
    store = AppStore(settings)
    try:
        after = max(report.cursor_before - REORDER_WINDOW, 0)
        while True:
            with store.engine.connect() as con:
                rows = con.execute(select(*_COLUMNS).where(PaymentEvent.ledger_id > after)
                                   .order_by(PaymentEvent.ledger_id).limit(CHUNK)).all()
            if not rows:
                break
            table = arrow_from_rows(rows, PAYMENT_EVENTS)
            report.read += len(rows)
            report.appended += wh.append_payment_events(table)
            after = rows[-1][0]
    finally:
        store.dispose()
    report.cursor_after = wh.max_ledger_id()
    return report


def fx_range(wh: Warehouse, today: date) -> tuple[date, date]:
    """Days the FX table must cover: from a week before the first payment (or 30 days back) to today."""
    first = wh.query_pl("SELECT min(occurred_at) AS m FROM raw.payment_events")["m"][0]
    start = (first.date() if isinstance(first, datetime) else today) - timedelta(days=30)
    return start, max(today, start)


def load_fx(settings: Settings, wh: Warehouse, today: date) -> dict[str, int]:
    """Demo rates for the whole range, then a real source's rates over them where one is configured."""
    start, end = fx_range(wh, today)
    written = {"demo": wh.upsert_fx_rates(demo_rates(start, end))}
    if settings.fx_rates_csv is not None:
        written["csv"] = wh.upsert_fx_rates(csv_rates(settings.fx_rates_csv))
    return written
