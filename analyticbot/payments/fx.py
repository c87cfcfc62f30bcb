"""Daily FX rates into the reporting currency (USD).

The revenue models convert UZS (Payme, Click) and EUR at the rate of a day, so the warehouse needs one rate per
day and currency. `demo_rates` is a deterministic stand-in with a realistic level and drift (the sum loses a few
percent a year against the dollar); `csv_rates` reads a real source's export (``rate_date,currency,usd_per_unit``)
and replaces the demo rates for the days it covers."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from analyticbot.warehouse import FX_RATES

CURRENCIES = ("USD", "UZS", "EUR")
# Anchors: about 12,000 UZS and 0.93 EUR per USD at the start of 2025.
_ANCHOR = date(2025, 1, 1)
_UZS_PER_USD_AT_ANCHOR = 12_900.0
_UZS_DRIFT_PER_YEAR = 0.035
_EUR_USD_AT_ANCHOR = 1.04


class FxFormatError(ValueError):
    pass


def demo_rates(start: date, end: date) -> pa.Table:
    """One row per day in [start, end] and currency: USD at 1, UZS drifting down with a weekly wobble, EUR
    swinging slowly. Pure arithmetic on the day number, so any range gives the same rate for the same day."""
    rows: dict[str, list] = {"rate_date": [], "currency": [], "usd_per_unit": [], "source": []}
    day = start
    while day <= end:
        t = (day - _ANCHOR).days
        uzs_per_usd = _UZS_PER_USD_AT_ANCHOR * (1 + _UZS_DRIFT_PER_YEAR) ** (t / 365.25) \
            * (1 + 0.004 * math.sin(t / 7.3))
        eur = _EUR_USD_AT_ANCHOR + 0.06 * math.sin(t / 90.0)
        for currency, rate in (("USD", 1.0), ("UZS", 1.0 / uzs_per_usd), ("EUR", eur)):
            rows["rate_date"].append(day)
            rows["currency"].append(currency)
            rows["usd_per_unit"].append(round(rate, 12))
            rows["source"].append("demo")
        day += timedelta(days=1)
    return pa.Table.from_pydict(rows, schema=FX_RATES)


def csv_rates(path: Path) -> pa.Table:
    """Rates from a CSV with a header ``rate_date,currency,usd_per_unit``; errors name the file and the problem."""
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types={
            "rate_date": pa.date32(), "currency": pa.string(), "usd_per_unit": pa.float64()}))
    except (pa.ArrowInvalid, FileNotFoundError) as exc:
        raise FxFormatError(f"{path}: {exc}") from None
    missing = {"rate_date", "currency", "usd_per_unit"} - set(table.column_names)
    if missing:
        raise FxFormatError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    bad = [c for c in table["currency"].to_pylist() if c not in CURRENCIES]
    if bad:
        raise FxFormatError(f"{path}: unknown currency {bad[0]!r}; expected one of {', '.join(CURRENCIES)}")
    rates = table["usd_per_unit"].to_pylist()
    if any(r is None or not r > 0 for r in rates):
        raise FxFormatError(f"{path}: usd_per_unit must be a positive number on every row")
    table = table.select(["rate_date", "currency", "usd_per_unit"])
    return table.append_column("source", pa.array([f"csv:{path.name}"] * table.num_rows, pa.string()))
