"""What the revenue and cohort pages read from the published snapshot: the revenue marts, never recomputed.

- `kpis`: `marts.fct_saas_kpis_monthly` as it is (MRR, movements, customers, ARPA, churn rates, NRR/GRR, LTV).
- `movements`: MRR, its movements and customers by month. Without a segment filter these are the KPI mart's
  own columns; with one (gateway, plan, currency) they are sums of `marts.fct_mrr_monthly` over the customers of
  the segment. Neither MRR mart has those dimensions, so a customer-month is put in the segment of the customer's
  latest paid period (`marts.fct_subscription_periods`) that started before the month's end: the plan, gateway
  and currency their MRR was bought with (a churned customer's last one). Every customer-month is in exactly one
  segment, so segments add up to the total; one with MRR but no paid period yet is "unknown".
- `cohorts`: `marts.fct_cohort_retention` as it is.

Ratios (ARPA, churn, NRR, GRR, LTV) are the KPI mart's, for all customers: the marts define them (LTV with its
trailing-churn fallback) only for the whole business, and this module does not redefine them per segment.

Every read runs on one snapshot version, and is cached per (snapshot location, version, arguments): a snapshot
never changes, and a new publish is a new version, so nothing is ever stale.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from threading import Lock
from typing import Any, Callable

import polars as pl

from analyticbot.snapshot import SnapshotReader

UNKNOWN = "unknown"  # the segment of a customer-month with no paid period (or a plan outside the catalogue)
DIMENSIONS = ("gateway", "plan_code", "currency")
MOVEMENTS = ("new_usd", "expansion_usd", "reactivation_usd", "contraction_usd", "churn_usd", "fx_usd")
# How each movement moves MRR in the waterfall (contraction and churn are stored positive).
MOVEMENT_SIGN = {"new_usd": 1, "expansion_usd": 1, "reactivation_usd": 1, "contraction_usd": -1, "churn_usd": -1,
                 "fx_usd": 1}
MOVEMENT_LABEL = {"new_usd": "New", "expansion_usd": "Expansion", "reactivation_usd": "Reactivation",
                  "contraction_usd": "Contraction", "churn_usd": "Churn", "fx_usd": "FX"}
MOVEMENT_COLUMNS = ("month", "mrr_start_usd", "mrr_usd", *MOVEMENTS, "customers_start", "customers",
                    "new_customers", "reactivated_customers", "churned_customers")
KPI_COLUMNS = ("month", "mrr_usd", "customers", "arpa_usd", "customer_churn_rate", "gross_mrr_churn_rate",
               "net_mrr_churn_rate", "nrr", "grr", "trailing_churn_rate", "ltv_usd", "ltv_basis")
COHORT_COLUMNS = ("cohort_month", "months_since_first", "month", "customers", "retained_customers", "mrr_usd",
                  "customer_retention_rate", "mrr_retention_rate")


@dataclass(frozen=True)
class Segment:
    """Which customers: empty tuples mean all of them (no filter on that dimension)."""
    gateways: tuple[str, ...] = ()
    plans: tuple[str, ...] = ()
    currencies: tuple[str, ...] = ()

    @property
    def is_everyone(self) -> bool:
        return not (self.gateways or self.plans or self.currencies)

    def describe(self) -> str:
        parts = [f"{name} {', '.join(values)}" for name, values in
                 (("gateway", self.gateways), ("plan", self.plans), ("currency", self.currencies)) if values]
        return "; ".join(parts) or "all customers"


@dataclass(frozen=True)
class Options:
    """What the filters offer: the reporting months and the segment values present in the snapshot."""
    months: tuple[date, ...]
    gateways: tuple[str, ...]
    plans: tuple[str, ...]
    currencies: tuple[str, ...]
    cohort_months: tuple[date, ...]


# -- the cache -------------------------------------------------------------------------------------------------
_CACHE: OrderedDict[tuple, Any] = OrderedDict()
_CACHE_SIZE = 256  # a few hundred small frames (a month per row) at most, whatever the filters clicked
_LOCK = Lock()  # Streamlit runs each browser tab's script in a thread of its own


def _cached(reader: SnapshotReader, version: str, name: str, args: tuple, load: Callable[[], Any]) -> Any:
    key = (str(reader.settings.published_dir), reader.settings.warehouse_url, version, name, args)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    value = load()
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


def _query(reader: SnapshotReader, version: str, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
    with reader.connect(version) as con:
        return con.query(sql, params)


# -- the segment of each customer-month ------------------------------------------------------------------------
# The latest paid period that started before the month's end (the next month's first instant); ties (two lines of
# one invoice) go to the larger period id, so the choice is the same on every run and engine.
_SEGMENTED = f"""
    WITH periods AS (
        SELECT m.month, m.customer_id, p.gateway, p.plan_code, p.currency,
               row_number() OVER (PARTITION BY m.customer_id, m.month
                                  ORDER BY p.period_start DESC, p.period_id DESC) AS recency
        FROM marts.fct_mrr_monthly AS m
        JOIN marts.fct_subscription_periods AS p
          ON p.customer_id = m.customer_id AND p.period_start < m.month + INTERVAL '1 month'
    ),
    segmented AS (
        SELECT m.*,
               coalesce(p.gateway, '{UNKNOWN}') AS gateway,
               coalesce(p.plan_code, '{UNKNOWN}') AS plan_code,
               coalesce(p.currency, '{UNKNOWN}') AS currency
        FROM marts.fct_mrr_monthly AS m
        LEFT JOIN periods AS p ON p.customer_id = m.customer_id AND p.month = m.month AND p.recency = 1
    )
"""


def _segment_where(segment: Segment) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, values in zip(DIMENSIONS, (segment.gateways, segment.plans, segment.currencies)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def _between(first: date | None, last: date | None, column: str = "month") -> tuple[str, list[Any]]:
    clauses, params = [], []
    if first is not None:
        clauses.append(f"{column} >= ?")
        params.append(first)
    if last is not None:
        clauses.append(f"{column} <= ?")
        params.append(last)
    return " AND ".join(clauses), params


# -- reads -----------------------------------------------------------------------------------------------------
def options(reader: SnapshotReader, version: str) -> Options:
    def load() -> Options:
        with reader.connect(version) as con:  # one connection: opening the snapshot costs more than these
            months = con.query("SELECT month FROM marts.fct_saas_kpis_monthly ORDER BY month")
            # one scan of the segmented months for the three dimensions' values together
            values = con.query(_SEGMENTED + "SELECT DISTINCT gateway, plan_code, currency FROM segmented")
            cohorts = con.query("SELECT DISTINCT cohort_month FROM marts.fct_cohort_retention ORDER BY cohort_month")

        def of(dimension: str) -> tuple[str, ...]:
            return tuple(sorted(set(values[dimension].to_list())))

        return Options(tuple(months["month"].to_list()), of("gateway"), of("plan_code"), of("currency"),
                       tuple(cohorts["cohort_month"].to_list()))

    return _cached(reader, version, "options", (), load)


def kpis(reader: SnapshotReader, version: str, first: date | None = None, last: date | None = None) -> pl.DataFrame:
    """`fct_saas_kpis_monthly` for the months from `first` to `last` (inclusive), oldest first."""
    def load() -> pl.DataFrame:
        where, params = _between(first, last)
        return _query(reader, version, f"SELECT {', '.join(KPI_COLUMNS)} FROM marts.fct_saas_kpis_monthly"
                                       f"{' WHERE ' + where if where else ''} ORDER BY month", params)

    return _cached(reader, version, "kpis", (first, last), load)


def movements(reader: SnapshotReader, version: str, segment: Segment = Segment(), first: date | None = None,
              last: date | None = None) -> pl.DataFrame:
    """MRR at each month's start and end, its movements and customer counts, by month (`MOVEMENT_COLUMNS`)."""
    def load() -> pl.DataFrame:
        where, params = _between(first, last, "k.month")
        if segment.is_everyone:
            return _query(reader, version, f"SELECT {', '.join(MOVEMENT_COLUMNS)} FROM marts.fct_saas_kpis_monthly "
                                           f"AS k{' WHERE ' + where if where else ''} ORDER BY month", params)
        seg_where, seg_params = _segment_where(segment)
        # Sums of the customer mart, as fct_saas_kpis_monthly sums it, with the calendar's months kept (a month
        # without a customer of the segment is a row of zeros, as in the mart).
        return _query(reader, version, _SEGMENTED + f"""
            , picked AS (SELECT * FROM segmented{seg_where})
            SELECT k.month,
                   coalesce(sum(p.mrr_start_usd), 0) AS mrr_start_usd,
                   coalesce(sum(p.mrr_end_usd), 0) AS mrr_usd,
                   {', '.join(f'coalesce(sum(p.{m}), 0) AS {m}' for m in MOVEMENTS)},
                   count(CASE WHEN p.mrr_start_usd > 0 THEN 1 END) AS customers_start,
                   count(CASE WHEN p.mrr_end_usd > 0 THEN 1 END) AS customers,
                   count(CASE WHEN p.new_usd > 0 THEN 1 END) AS new_customers,
                   count(CASE WHEN p.reactivation_usd > 0 THEN 1 END) AS reactivated_customers,
                   count(CASE WHEN p.churn_usd > 0 THEN 1 END) AS churned_customers
            FROM marts.fct_saas_kpis_monthly AS k
            LEFT JOIN picked AS p ON p.month = k.month
            {'WHERE ' + where if where else ''}
            GROUP BY k.month ORDER BY k.month""", seg_params + params)

    return _cached(reader, version, "movements", (segment, first, last), load)


def waterfall(frame: pl.DataFrame) -> pl.DataFrame:
    """The MRR bridge over the months of a `movements` frame: MRR at the first month's start, each movement
    summed over the months, MRR at the last month's end. Exact: a month's end MRR is the next month's start MRR
    and each month's movements add up to its change (the mart's identity)."""
    if frame.is_empty():
        return pl.DataFrame({"step": [], "amount_usd": [], "running_usd": []},
                            schema={"step": pl.String, "amount_usd": pl.Float64, "running_usd": pl.Float64})
    start = float(frame["mrr_start_usd"][0])
    steps, amounts = ["Start MRR"], [start]
    for column in MOVEMENTS:
        steps.append(MOVEMENT_LABEL[column])
        amounts.append(MOVEMENT_SIGN[column] * float(frame[column].sum()))
    steps.append("End MRR")
    amounts.append(float(frame["mrr_usd"][-1]))
    running = [start]
    for amount in amounts[1:-1]:
        running.append(round(running[-1] + amount, 2))
    running.append(amounts[-1])
    return pl.DataFrame({"step": steps, "amount_usd": [round(a, 2) for a in amounts], "running_usd": running})


def cohorts(reader: SnapshotReader, version: str, first: date | None = None,
            last: date | None = None) -> pl.DataFrame:
    """`fct_cohort_retention` for the cohorts of months `first` to `last`, by cohort and age."""
    def load() -> pl.DataFrame:
        where, params = _between(first, last, "cohort_month")
        return _query(reader, version, f"SELECT {', '.join(COHORT_COLUMNS)} FROM marts.fct_cohort_retention"
                                       f"{' WHERE ' + where if where else ''} "
                                       "ORDER BY cohort_month, months_since_first", params)

    return _cached(reader, version, "cohorts", (first, last), load)


def cohort_sizes(frame: pl.DataFrame) -> pl.DataFrame:
    """Customers per cohort (the mart repeats the size on each of the cohort's rows)."""
    return (frame.filter(pl.col("months_since_first") == 0).select("cohort_month", "customers")
            .sort("cohort_month"))


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """A frame as the CSV a download button offers (decimals as they are stored, dates ISO)."""
    return frame.write_csv().encode()
