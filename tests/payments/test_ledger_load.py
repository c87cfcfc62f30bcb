"""The ledger's way into the warehouse (incremental, re-runnable, safe against out-of-order commits) and the
FX table (deterministic demo rates, a real source's CSV over them, clear errors for a bad file)."""

from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa
import pytest

from analyticbot.appstore.db import AppStore
from analyticbot.payments.fx import FxFormatError, csv_rates, demo_rates
from analyticbot.payments.ledger import record_event
from analyticbot.payments.load import load_fx, load_ledger
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse


def _record(store: AppStore, keys: list[str]) -> None:
    with store.transaction() as s:
        for key in keys:
            record_event(s, gateway="payme", event_key=key, event_type="payme.created", source="webhook",
                         occurred_at=datetime(2026, 1, 1), payload={"k": key})


def test_ledger_load_is_incremental_and_rerunnable(store):
    settings = get_settings()
    _record(store, ["a", "b", "c"])
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        first = load_ledger(settings, wh)
        again = load_ledger(settings, wh)
        _record(store, ["d"])
        third = load_ledger(settings, wh)
        rows = wh.query_pl("SELECT ledger_id, event_key, payload FROM raw.payment_events ORDER BY ledger_id")
    assert (first.appended, again.appended, third.appended) == (3, 0, 1)
    assert rows["event_key"].to_list() == ["a", "b", "c", "d"]
    assert rows["payload"][0] == '{"k":"a"}'
    assert third.cursor_after == rows["ledger_id"].max()


def test_a_row_committed_late_below_the_cursor_is_still_loaded(store):
    """PostgreSQL can commit ledger id 2 after id 3; the loader re-reads a window below its cursor."""
    settings = get_settings()
    _record(store, ["a", "b", "c"])
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        load_ledger(settings, wh)
        wh.execute("DELETE FROM raw.payment_events WHERE event_key = 'b'")  # as if 'b' had not committed yet
        late = load_ledger(settings, wh)
        keys = wh.query_pl("SELECT event_key FROM raw.payment_events ORDER BY ledger_id")["event_key"].to_list()
    assert late.appended == 1 and keys == ["a", "b", "c"]


def test_demo_rates_are_a_pure_function_of_the_day():
    whole = demo_rates(date(2025, 1, 1), date(2025, 3, 1))
    part = demo_rates(date(2025, 2, 1), date(2025, 2, 3))
    assert whole.num_rows == 60 * 3
    by_key = {(r["rate_date"], r["currency"]): r["usd_per_unit"] for r in whole.to_pylist()}
    assert all(by_key[(r["rate_date"], r["currency"])] == r["usd_per_unit"] for r in part.to_pylist())
    uzs = [r["usd_per_unit"] for r in whole.to_pylist() if r["currency"] == "UZS"]
    assert all(1 / 13_500 < x < 1 / 12_000 for x in uzs)  # a realistic level
    assert {r["usd_per_unit"] for r in whole.to_pylist() if r["currency"] == "USD"} == {1.0}


def test_csv_rates_replace_demo_rates_for_their_days(store, tmp_path, monkeypatch):
    csv = tmp_path / "cbu.csv"
    csv.write_text("rate_date,currency,usd_per_unit\n2026-01-02,UZS,0.0000800\n")
    monkeypatch.setenv("ANALYTICBOT_FX_CSV", str(csv))
    settings = get_settings()
    _record(store, ["a"])
    with open_warehouse(settings) as wh:
        wh.ensure_schemas()
        load_ledger(settings, wh)
        written = load_fx(settings, wh, today=date(2026, 1, 10))
        load_fx(settings, wh, today=date(2026, 1, 10))  # re-run: same table
        rates = wh.query_pl("SELECT rate_date, usd_per_unit, source FROM raw.fx_rates_daily "
                            "WHERE currency = 'UZS' ORDER BY rate_date")
    assert written == {"demo": 3 * 40, "csv": 1}  # from 30 days before the first payment up to today
    assert rates.height == 40
    row = rates.filter(rates["rate_date"] == date(2026, 1, 2)).row(0)
    assert row[1:] == (0.00008, "csv:cbu.csv")


@pytest.mark.parametrize("content,message", [
    ("rate_date,currency\n2026-01-01,UZS\n", "missing column(s) usd_per_unit"),
    ("rate_date,currency,usd_per_unit\n2026-01-01,RUB,0.01\n", "unknown currency 'RUB'"),
    ("rate_date,currency,usd_per_unit\n2026-01-01,UZS,-1\n", "usd_per_unit must be a positive number"),
    ("rate_date,currency,usd_per_unit\nyesterday,UZS,1\n", "cbu.csv"),
])
def test_a_bad_rates_file_is_named_with_its_problem(tmp_path, content, message):
    csv = tmp_path / "cbu.csv"
    csv.write_text(content)
    with pytest.raises(FxFormatError, match=message.replace("(", r"\(").replace(")", r"\)")):
        csv_rates(csv)


def test_fx_schema_is_the_warehouse_schema():
    assert demo_rates(date(2025, 1, 1), date(2025, 1, 1)).schema == pa.schema(
        [("rate_date", pa.date32()), ("currency", pa.string()), ("usd_per_unit", pa.float64()),
         ("source", pa.string())])
