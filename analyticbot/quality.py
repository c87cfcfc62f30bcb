"""Great Expectations suites: raw counter snapshots, the payment ledger, and the payments mart (each a
blocking asset check in Dagster).

`Warehouse.ingest` already refuses bad snapshots; this suite is the independent safety net that proves the
table as stored keeps its invariants: views never negative, never decreasing for the same post, timestamps
sane (not before the post, not in the future). By default it checks the newest two days of observations
(what recent runs added, compared against each post's earlier readings); ``full=True`` checks every row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from analyticbot.warehouse import FUTURE_TOLERANCE, Warehouse

RECENT = timedelta(days=2)

# Each snapshot with the previous reading of the same post and its post's publication time. The lag runs over
# the whole history of the posts in the window, so a decrease across the window boundary is caught too.
SNAPSHOT_QUERY = """
WITH recent_posts AS (
    SELECT DISTINCT channel_id, message_id FROM raw.telegram_post_snapshots WHERE observed_at >= ?
),
posts AS (
    SELECT channel_id, message_id, min(posted_at) AS posted_at FROM raw.telegram_posts GROUP BY 1, 2
),
ordered AS (
    SELECT s.channel_id, s.message_id, s.observed_at, s.views, s.forwards, s.reactions,
           s.views - lag(s.views) OVER w AS views_change,
           s.forwards - lag(s.forwards) OVER w AS forwards_change,
           s.reactions - lag(s.reactions) OVER w AS reactions_change
    FROM raw.telegram_post_snapshots s
    JOIN recent_posts r ON r.channel_id = s.channel_id AND r.message_id = s.message_id
    WINDOW w AS (PARTITION BY s.channel_id, s.message_id ORDER BY s.observed_at)
)
SELECT o.*, p.posted_at,
       CAST(EXTRACT(EPOCH FROM (o.observed_at - p.posted_at)) AS DOUBLE PRECISION) AS age_seconds
FROM ordered o LEFT JOIN posts p ON p.channel_id = o.channel_id AND p.message_id = o.message_id
WHERE o.observed_at >= ?
"""


@dataclass
class SuiteResult:
    success: bool
    rows_checked: int
    failures: dict[str, int]  # "expectation(column)" -> unexpected rows

    def describe(self) -> str:
        if self.success:
            return f"{self.rows_checked} rows pass every expectation"
        return "; ".join(f"{k}: {v} rows" for k, v in self.failures.items())


def snapshot_suite(now: datetime):
    import great_expectations as gx

    e = gx.expectations
    suite = gx.ExpectationSuite(name="raw_telegram_post_snapshots")
    for col in ("channel_id", "message_id", "observed_at"):
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=col))
    for col in ("views", "forwards", "reactions"):
        suite.add_expectation(e.ExpectColumnValuesToBeBetween(column=col, min_value=0))
        suite.add_expectation(e.ExpectColumnValuesToBeBetween(column=f"{col}_change", min_value=0))
    suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column="posted_at"))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="age_seconds", min_value=0))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(
        column="observed_at", max_value=now + FUTURE_TOLERANCE, min_value=datetime(2013, 8, 1)))
    return suite


def validate_snapshots(wh: Warehouse, now: datetime | None = None, full: bool = False) -> SuiteResult:
    now = now or datetime.utcnow()
    if full:
        since = datetime(1970, 1, 1)
    else:
        latest = wh.query_pl("SELECT max(observed_at) AS m FROM raw.telegram_post_snapshots")["m"][0]
        since = (latest - RECENT) if latest is not None else datetime(1970, 1, 1)
    return _validate(wh.query_pl(SNAPSHOT_QUERY, [since, since]).to_pandas(), lambda: snapshot_suite(now))


# -- payments ---------------------------------------------------------------------------------------------------
CURRENCIES = ["USD", "UZS", "EUR"]
GATEWAYS = ["stripe", "payme", "click"]

# Every movement with the charge it belongs to: what that charge took, and what its refunds gave back.
PAYMENTS_QUERY = """
WITH refunded AS (
    SELECT charge_id, sum(amount) AS refunded FROM marts.fct_payments
    WHERE movement_type = 'refund' GROUP BY charge_id
),
charged AS (
    SELECT charge_id, max(amount) AS charged FROM marts.fct_payments
    WHERE movement_type = 'charge' GROUP BY charge_id
)
SELECT p.payment_id, p.movement_type, p.gateway, p.currency,
       CAST(p.amount AS DOUBLE PRECISION) AS amount, CAST(p.amount_usd AS DOUBLE PRECISION) AS amount_usd,
       CAST(coalesce(c.charged, 0) AS DOUBLE PRECISION) AS charge_amount,
       CAST(coalesce(r.refunded, 0) AS DOUBLE PRECISION) AS refunded_of_charge
FROM marts.fct_payments p
LEFT JOIN charged c ON c.charge_id = p.charge_id
LEFT JOIN refunded r ON r.charge_id = p.charge_id
"""


def payments_suite():
    import great_expectations as gx

    e = gx.expectations
    suite = gx.ExpectationSuite(name="marts_fct_payments")
    suite.add_expectation(e.ExpectColumnValuesToBeUnique(column="payment_id"))
    for col in ("payment_id", "movement_type", "currency", "amount", "amount_usd"):
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=col))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="amount", min_value=0, strict_min=True))
    suite.add_expectation(e.ExpectColumnValuesToBeBetween(column="amount_usd", min_value=0))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="currency", value_set=CURRENCIES))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="gateway", value_set=GATEWAYS))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="movement_type",
                                                        value_set=["charge", "refund", "dispute"]))
    # Refunds never exceed their charge (a refund of an unknown charge has charge_amount 0 and fails too).
    suite.add_expectation(e.ExpectColumnPairValuesAToBeGreaterThanB(
        column_A="charge_amount", column_B="refunded_of_charge", or_equal=True))
    return suite


def ledger_suite():
    import great_expectations as gx

    e = gx.expectations
    suite = gx.ExpectationSuite(name="raw_payment_events")
    suite.add_expectation(e.ExpectColumnValuesToBeUnique(column="event_key"))  # no event kept twice
    suite.add_expectation(e.ExpectColumnValuesToBeUnique(column="ledger_id"))
    for col in ("event_key", "event_type", "occurred_at", "payload"):
        suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=col))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="gateway", value_set=GATEWAYS))
    suite.add_expectation(e.ExpectColumnValuesToBeInSet(column="source",
                                                        value_set=["webhook", "pull", "reconcile"]))
    return suite


def validate_payments(wh: Warehouse) -> SuiteResult:
    return _validate(wh.query_pl(PAYMENTS_QUERY).to_pandas(), payments_suite)


def validate_ledger(wh: Warehouse) -> SuiteResult:
    # Every row, but not the payloads' text: uniqueness and sets are what this suite checks.
    frame = wh.query_pl("SELECT ledger_id, event_key, event_type, gateway, source, occurred_at, "
                        "payload IS NOT NULL AS payload FROM raw.payment_events").to_pandas()
    frame["payload"] = frame["payload"].where(frame["payload"], None)
    return _validate(frame, ledger_suite)


def _validate(frame, make_suite) -> SuiteResult:
    """Validate `frame` against the suite `make_suite()` builds (GE wants its context before any suite)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    if frame.empty:
        return SuiteResult(True, 0, {})
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    suite = context.suites.add(make_suite())
    batch_definition = (context.data_sources.add_pandas("warehouse")
                        .add_dataframe_asset(suite.name)
                        .add_batch_definition_whole_dataframe("window"))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failures = {}
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            column = cfg.kwargs.get("column") or f"{cfg.kwargs.get('column_A')},{cfg.kwargs.get('column_B')}"
            failures[f"{cfg.type}({column})"] = int(r.result.get("unexpected_count") or 0)
    return SuiteResult(bool(result.success), len(frame), failures)
