"""Great Expectations suite on the raw counter snapshots (a blocking asset check in Dagster).

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
            return f"{self.rows_checked} snapshots pass every expectation"
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
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    now = now or datetime.utcnow()
    if full:
        since = datetime(1970, 1, 1)
    else:
        latest = wh.query_pl("SELECT max(observed_at) AS m FROM raw.telegram_post_snapshots")["m"][0]
        since = (latest - RECENT) if latest is not None else datetime(1970, 1, 1)
    frame = wh.query_pl(SNAPSHOT_QUERY, [since, since]).to_pandas()
    if frame.empty:
        return SuiteResult(True, 0, {})

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch_definition = (context.data_sources.add_pandas("warehouse")
                        .add_dataframe_asset("raw_telegram_post_snapshots")
                        .add_batch_definition_whole_dataframe("window"))
    suite = context.suites.add(snapshot_suite(now))
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failures = {}
    for r in result.results:
        if not r.success:
            cfg = r.expectation_config
            failures[f"{cfg.type}({cfg.kwargs.get('column')})"] = int(r.result.get("unexpected_count") or 0)
    return SuiteResult(bool(result.success), len(frame), failures)
