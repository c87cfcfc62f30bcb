"""Pipeline health for the team: how new each published table's data is, which snapshot the readers see, the
last Dagster runs, the latest result of every asset check (dbt tests and Great Expectations suites, both asset
checks in Dagster), and the records ingestion refused.

Two sources, both read-only:

- the published snapshot (`analyticbot.snapshot`): per table the newest value of the column that says how new its
  data is, and the snapshot's own version row (`meta.snapshot` on DuckDB, `meta.publications` on PostgreSQL);
- the Dagster instance of ``DAGSTER_HOME`` (what `make` exports; the pipeline records its runs there): runs, check
  evaluations, and the metadata of the ``raw/rejected_records`` materialisations.

Rejected records live in ``raw.rejected_records`` in the live warehouse, which readers never open, and the snapshot
publishes only ``marts``/``ml``. The ingestion asset already reports each run's rejections and their reasons, and the
table's total, as materialisation metadata, so this page reads them from the Dagster instance: the counts and
reasons per run, never the rejected payloads (those stay in the warehouse for replay by hand).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from analyticbot.snapshot import PUBLISHED_SCHEMAS, ReadConnection

# The column that dates each table's newest data. A table not listed here (a new mart) is dated by the newest of
# its date and timestamp columns, except those that point into the future by design (end of a paid period,
# forecast dates), which would make a stale table look fresh.
CLOCKS = {
    "marts.dim_channels": "last_post_at",
    "marts.fct_channel_daily": "date",
    "marts.fct_posts": "posted_at",
    "marts.fct_post_decay": "observed_date",
    "marts.fct_payments": "occurred_at",
    "marts.fct_subscription_periods": "paid_at",
    "marts.fct_revenue_daily": "revenue_date",
    "marts.fct_mrr_monthly": "month",
    "marts.fct_saas_kpis_monthly": "month",
    "marts.fct_cohort_retention": "month",
    "marts.fct_user_activity_daily": "activity_date",
    "marts.fct_cancellation_requests": "requested_at",
    "marts.fct_payment_failures": "failed_at",
    "ml.churn_scores": "scored_at",
    "ml.channel_forecasts": "history_end",
}
FUTURE_COLUMNS = ("period_end", "period_start", "effective_at", "withdrawn_at")
TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITHOUT TIME ZONE", "TIMESTAMP WITH TIME ZONE")
REJECTED_ASSET = ("raw", "rejected_records")
RUN_LIMIT = 20
CHECK_RUNS = 10  # newest runs searched for check results: a full build evaluates every check in one


# -- the snapshot ----------------------------------------------------------------------------------------------
def snapshot_meta(con: ReadConnection) -> dict:
    """The snapshot's version, when it was published, and the rows of every table it holds."""
    rows = []
    if _has_table(con, "meta", "snapshot"):
        rows = con.query("SELECT version, published_at, tables FROM meta.snapshot").to_dicts()
    elif _has_table(con, "meta", "publications"):
        rows = con.query("SELECT version, published_at, tables FROM meta.publications WHERE version = ?",
                         [con.version]).to_dicts()
    if not rows:
        return {"version": con.version, "published_at": None, "tables": {}}
    row = rows[0]
    return {"version": row["version"], "published_at": row["published_at"], "tables": json.loads(row["tables"])}


def _has_table(con: ReadConnection, schema: str, table: str) -> bool:
    found = con.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? "
                      "AND table_name = ?", [schema, table])
    return bool(found["n"][0])


def time_columns(con: ReadConnection) -> dict[str, list[str]]:
    """Date and timestamp columns of every published table, in column order."""
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    rows = con.query(f"SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
                     f"WHERE table_schema IN ({placeholders}) ORDER BY table_schema, table_name, ordinal_position",
                     list(PUBLISHED_SCHEMAS)).to_dicts()
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(f"{r['table_schema']}.{r['table_name']}", [])
        if str(r["data_type"]).upper() in TIME_TYPES:
            out[f"{r['table_schema']}.{r['table_name']}"].append(r["column_name"])
    return out


def freshness(con: ReadConnection, now: datetime | None = None) -> list[dict]:
    """Per published table: its rows, the column that dates it, the newest value there, and its age in days
    against `now` (UTC; default the clock)."""
    now = now or datetime.now(timezone.utc).replace(tzinfo=None)
    counts = snapshot_meta(con)["tables"]
    out = []
    for table, columns in time_columns(con).items():
        clock = CLOCKS.get(table)
        if clock not in columns:
            clock = None
        candidates = [clock] if clock else [c for c in columns if c not in FUTURE_COLUMNS]
        newest = None
        if candidates:
            # Column names come from information_schema, never from input; quoted like the ml tables' writer does.
            found = con.query("SELECT " + ", ".join(f'max("{c}") AS "{c}"' for c in candidates)
                              + f" FROM {table}").to_dicts()[0]
            values = [_as_datetime(v) for v in found.values() if v is not None]
            newest = max(values) if values else None
        out.append({"table": table, "rows": counts.get(table), "column": clock or ("/".join(candidates) or None),
                    "newest": newest,
                    "age_days": None if newest is None else round((now - newest).total_seconds() / 86_400, 1)})
    return out


def _as_datetime(value) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


# -- the Dagster instance ----------------------------------------------------------------------------------------
def dagster_home() -> Path | None:
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) if home else None


def has_runs(home: Path | None) -> bool:
    """Whether `home` is a Dagster instance something has run in. Opening one where nothing has would create
    its storage, and this page only reads."""
    return home is not None and (home / "dagster.yaml").exists() and (home / "history").exists()


def open_instance(home: Path):
    """The Dagster instance of `home` (check `has_runs` first)."""
    import dagster as dg

    return dg.DagsterInstance.from_config(str(home))


def _ts(moment: float | datetime | None) -> datetime | None:
    """Dagster's epoch seconds (or an aware datetime) as naive UTC, like every time in the warehouse."""
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    return datetime.fromtimestamp(moment, timezone.utc).replace(tzinfo=None)


def runs(instance, limit: int = RUN_LIMIT) -> list[dict]:
    """The newest runs with their status, timing and, for a failed run, which steps failed and why.
    (`get_run_records` is `get_runs` with the start and end times.)"""
    from dagster import DagsterEventType

    out = []
    for record in instance.get_run_records(limit=limit):
        run = record.dagster_run
        started, ended = _ts(record.start_time), _ts(record.end_time)
        failures = []
        if run.status.value == "FAILURE":
            failures = [f"{r.event_log_entry.step_key}: {_root_error(r.event_log_entry)}" for r in
                        instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_FAILURE).records]
        out.append({"run_id": run.run_id, "job": run.job_name, "status": run.status.value,
                    "created": _ts(record.create_timestamp), "started": started, "ended": ended,
                    "seconds": round((ended - started).total_seconds(), 1) if started and ended else None,
                    "failed_steps": "; ".join(failures) or None})
    return out


def _root_error(entry) -> str:
    """The error a step failed with: Dagster wraps the op's own exception ("Error occurred while executing
    op ...") and keeps it as the cause, which is what tells somebody what went wrong."""
    error = entry.dagster_event.step_failure_data.error if entry.dagster_event else None
    if error is None:
        return entry.message
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _kind(metadata: dict[str, Any]) -> str:
    """dbt test, Great Expectations suite, or another check (the models' gates), from what each one records."""
    if str(_value(metadata.get("unique_id")) or "").startswith("test."):
        return "dbt test"
    if "rows_checked" in metadata and "failures" in metadata:
        return "Great Expectations"
    return "check"


def _detail(evaluation) -> str | None:
    if evaluation.description:
        return evaluation.description
    metadata = evaluation.metadata or {}
    failed = _value(metadata.get("dagster_dbt/failed_row_count"))
    return None if failed is None else f"{failed} failing rows"


def check_results(instance, run_ids: list[str] | None = None) -> list[dict]:
    """The newest evaluation of every asset check found in the newest `CHECK_RUNS` runs (or in `run_ids`):
    asset, check, passed, severity, what it says, when and in which run. Failures first."""
    from dagster import DagsterEventType

    run_ids = run_ids if run_ids is not None else [r.run_id for r in instance.get_runs(limit=CHECK_RUNS)]
    seen: dict[tuple[str, str], dict] = {}
    for run_id in run_ids:  # newest first: the first evaluation of a check met is its newest
        for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION,
                                                   ascending=False).records:
            ev = record.event_log_entry.dagster_event.event_specific_data
            key = (ev.asset_key.to_user_string(), ev.check_name)
            if key in seen:
                continue
            seen[key] = {"asset": key[0], "check": key[1], "kind": _kind(ev.metadata or {}),
                         "passed": bool(ev.passed), "severity": ev.severity.value if ev.severity is not None else None,
                         "detail": _detail(ev), "at": _ts(record.event_log_entry.timestamp), "run_id": run_id}
    return sorted(seen.values(), key=lambda r: (r["passed"], r["asset"], r["check"]))


def rejected(instance, limit: int = RUN_LIMIT) -> dict:
    """Records ingestion refused: the table's total as of the newest ingestion, and per ingestion run how many it
    refused and why (`reasons`: reason -> rows), plus those reasons summed over the runs listed."""
    from dagster import AssetKey

    records = instance.fetch_materializations(AssetKey(list(REJECTED_ASSET)), limit=limit).records
    per_run, totals = [], {}
    for record in records:
        meta = record.asset_materialization.metadata if record.asset_materialization else {}
        reasons = _value(meta.get("reasons")) or {}
        for reason, n in reasons.items():
            totals[reason] = totals.get(reason, 0) + int(n)
        per_run.append({"at": _ts(record.timestamp), "run_id": record.run_id,
                        "rejected": _value(meta.get("rejected_this_run")), "reasons": reasons})
    newest = records[0].asset_materialization.metadata if records and records[0].asset_materialization else {}
    return {"total_rows": _value(newest.get("dagster/row_count")), "runs": per_run,
            "reasons": dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))}


def _value(metadata_value):
    return None if metadata_value is None else getattr(metadata_value, "value", metadata_value)
