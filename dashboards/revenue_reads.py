"""What the revenue and cohort pages read from the published snapshot: the revenue marts, never recomputed (a
segment's sums and ratios are taken from them at read time).

- `movements`: MRR, its movements and customers by month. Without a segment filter these are the KPI mart's
  own columns; with one (gateway, plan, currency) they are sums of `marts.fct_mrr_monthly` over the customers of
  the segment. Neither MRR mart has those dimensions, so a customer-month is put in the segment of the customer's
  latest paid period (`marts.fct_subscription_periods`) that started before the month's end: the plan, gateway
  and currency their MRR was bought with (a churned customer's last one). Every customer-month is in exactly one
  segment, so segments add up to the total; one with MRR but no paid period yet is "unknown".
- `kpis`: the ratios (ARPA, churn rates, NRR, GRR, LTV with its trailing-churn fallback). For all customers,
  `marts.fct_saas_kpis_monthly` as it is; for a segment, `ratios` applies the mart's formulas to the segment's
  `movements` (segments chosen several at once have to be summed before any ratio is taken, so no mart could
  hold them ready). The formulas are written twice, in SQL and here: a test holds `ratios` of all customers
  equal to the mart, month by month.
- `cohorts`: `marts.fct_cohort_retention` as it is.

Every read runs on one snapshot version, and is cached per (snapshot location, version, arguments): a snapshot
never changes, and a new publish is a new version, so nothing is ever stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import date
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
_LOCK = threading.Lock()  # Streamlit runs each browser tab's script in a thread of its own


_LOADING: dict[tuple, Future] = {}  # reads under way: a second asker waits for the first instead of reading again


def _snapshot_key(reader: SnapshotReader, version: str) -> tuple:
    """Which snapshot: its location (published files or a PostgreSQL warehouse) and version."""
    return str(reader.settings.published_dir), reader.settings.warehouse_url, version


def _cached(reader: SnapshotReader, version: str, name: str, args: tuple, load: Callable[[], Any]) -> Any:
    key = (*_snapshot_key(reader, version), name, args)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        loading = _LOADING.get(key)
        if loading is None:
            loading = _LOADING[key] = Future()
            mine = True
        else:
            mine = False
    if not mine:  # the read-ahead (or another tab) is reading it now
        return loading.result()
    try:
        value = load()
    except BaseException as exc:
        with _LOCK:
            del _LOADING[key]
        loading.set_exception(exc)
        raise
    with _LOCK:
        _CACHE[key] = value
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        del _LOADING[key]
    loading.set_result(value)
    return value


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()
        _WARMED.clear()


_WARMED: set[tuple] = set()  # (snapshot location, version) already being read ahead


def warm(reader: SnapshotReader, version: str) -> None:
    """Read what the Revenue and Cohorts pages open with (the filter options' scan is most of it) into the cache,
    once per snapshot version, in a thread of its own: the Home page starts it, so the first visit to Revenue after
    a login, a new server or a new publish does not wait for these reads."""
    key = _snapshot_key(reader, version)
    with _LOCK:
        if key in _WARMED:
            return
        _WARMED.add(key)

    def read_ahead() -> None:
        try:
            options(reader, version)
            kpis(reader, version)
            movements(reader, version)
            cohorts(reader, version)
        except Exception:  # noqa: BLE001 - only a head start: the page reads (and reports) it again if needed
            with _LOCK:
                _WARMED.discard(key)

    _in_thread(read_ahead)


def _in_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="revenue-read-ahead", daemon=True).start()


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


def kpis(reader: SnapshotReader, version: str, first: date | None = None, last: date | None = None,
         segment: Segment = Segment()) -> pl.DataFrame:
    """`KPI_COLUMNS` for the months from `first` to `last` (inclusive), oldest first: `fct_saas_kpis_monthly` for
    all customers, the same ratios of the segment's movements otherwise."""
    def load() -> pl.DataFrame:
        if not segment.is_everyone:
            # from the first month: the trailing churn rate of the period's first months looks back 5 months
            every = ratios(movements(reader, version, segment, None, last))
            return every.filter(pl.col("month") >= first) if first is not None else every
        where, params = _between(first, last)
        return _query(reader, version, f"SELECT {', '.join(KPI_COLUMNS)} FROM marts.fct_saas_kpis_monthly"
                                       f"{' WHERE ' + where if where else ''} ORDER BY month", params)

    return _cached(reader, version, "kpis", (first, last, segment), load)


TRAILING_MONTHS = 6  # fct_saas_kpis_monthly: the churn rate averaged over the month and the 5 before it
LIFETIME_CAP_MONTHS = 36  # its LTV when no churn rate is known


def ratios(frame: pl.DataFrame) -> pl.DataFrame:
    """`KPI_COLUMNS` of a `movements` frame (every month from the first, oldest first), by the formulas of
    `fct_saas_kpis_monthly` (docs/payments.md): rates against the month's start, NULL for a zero denominator,
    LTV = ARPA / customer churn, else / the trailing 6-month churn, else ARPA x 36."""
    def f(column: str) -> pl.Expr:
        return pl.col(column).cast(pl.Float64)

    def per(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
        return pl.when(denominator != 0).then(numerator / denominator)

    start = f("mrr_start_usd")
    out = frame.sort("month").with_columns(
        arpa_usd=per(f("mrr_usd"), f("customers")),
        customer_churn_rate=per(f("churned_customers"), f("customers_start")),
        gross_mrr_churn_rate=per(f("churn_usd") + f("contraction_usd"), start),
        net_mrr_churn_rate=per(f("churn_usd") + f("contraction_usd") - f("expansion_usd"), start),
        nrr=per(start + f("expansion_usd") - f("contraction_usd") - f("churn_usd") + f("fx_usd"), start),
        grr=per(start - f("contraction_usd") - f("churn_usd"), start))
    out = out.with_columns(  # a mean of the months that have a rate, as SQL's avg skips NULLs
        trailing_churn_rate=pl.col("customer_churn_rate").rolling_mean(TRAILING_MONTHS, min_samples=1).round(12))
    monthly, trailing = pl.col("customer_churn_rate"), pl.col("trailing_churn_rate")
    out = out.with_columns(
        ltv_usd=pl.when(monthly > 0).then(pl.col("arpa_usd") / monthly)
        .when(trailing > 0).then(pl.col("arpa_usd") / trailing)
        .otherwise(pl.col("arpa_usd") * LIFETIME_CAP_MONTHS),
        ltv_basis=pl.when(monthly > 0).then(pl.lit("monthly_churn"))
        .when(trailing > 0).then(pl.lit("trailing_6m_churn")).otherwise(pl.lit("lifetime_cap_36m")))
    return out.select(KPI_COLUMNS)


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
