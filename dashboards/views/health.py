"""Pipeline health: how new the published data is, the last Dagster runs, the latest result of every asset check,
and the records ingestion refused (from `dashboards.health_reads`)."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl
import streamlit as st

from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable
from dashboards import health_reads, session

TITLE = "Pipeline health"
ROLE = "analyst"
GROUP = "Operations"
URL = "pipeline-health"
ICON = ":material/monitor_heart:"


def render() -> None:
    session.guard(ROLE, TITLE)
    st.title(TITLE)
    _freshness()
    home = health_reads.dagster_home()
    if not health_reads.has_runs(home):
        st.info("No Dagster runs to show: " + ("DAGSTER_HOME is not set (`make dashboards` sets it to the one the "
                                               "pipeline records its runs in)." if home is None else
                                               f"nothing has run in DAGSTER_HOME ({home}) yet."))
        return
    instance = _instance(str(home))
    _runs(instance)
    _checks(instance)
    _rejected(instance)


@st.cache_resource(show_spinner=False)
def _instance(home: str):
    """One instance per DAGSTER_HOME for the server process: opening one costs ~0.5 s, and every read queries
    its storage afresh, so a new run shows on the next rerun."""
    return health_reads.open_instance(Path(home))


def _table(rows: list[dict], key: str, file_name: str) -> None:
    frame = pl.DataFrame(rows, infer_schema_length=None)
    st.dataframe(frame, hide_index=True, key=key)
    st.download_button("CSV", frame.write_csv(), file_name=file_name, mime="text/csv", key=f"{key}_csv")


def _freshness() -> None:
    st.subheader("Published data")
    try:
        with SnapshotReader(session.settings()).connect() as con:
            meta = health_reads.snapshot_meta(con)
            rows = health_reads.freshness(con)
    except SnapshotUnavailable as exc:
        st.warning(f"{exc}.")
        return
    when = f"{meta['published_at']:%Y-%m-%d %H:%M:%S} UTC" if meta["published_at"] else "unknown"
    st.caption(f"Snapshot {meta['version']}, published {when}. Newest data per table (the column that dates it) "
               "and its age now.")
    dated = [r for r in rows if r["age_days"] is not None]
    if dated:
        st.altair_chart(alt.Chart(pl.DataFrame(dated).to_pandas()).mark_bar().encode(
            x=alt.X("age_days:Q", title="Age of the newest row (days)"), y=alt.Y("table:N", sort="-x", title=None),
            tooltip=["table", "column", "newest", "age_days", "rows"]), width="stretch")
    _table(rows, "health.freshness", "freshness.csv")


def _runs(instance) -> None:
    st.subheader("Last runs")
    runs = health_reads.runs(instance)
    if not runs:
        st.info("No runs recorded yet.")
        return
    last = runs[0]
    a, b, c = st.columns(3)
    a.metric("Last run", last["status"])
    b.metric("Job", last["job"])
    c.metric("Finished", f"{last['ended']:%Y-%m-%d %H:%M} UTC" if last["ended"] else "not yet")
    failed = [r for r in runs if r["status"] == "FAILURE"]
    if failed:
        st.error(f"{len(failed)} of the last {len(runs)} runs failed; newest failure: "
                 f"{failed[0]['failed_steps'] or failed[0]['run_id']}")
    _table(runs, "health.runs", "runs.csv")


def _checks(instance) -> None:
    st.subheader("Asset checks")
    checks = health_reads.check_results(instance)
    if not checks:
        st.info("No asset check has been evaluated in the recent runs.")
        return
    failing = [c for c in checks if not c["passed"]]
    a, b = st.columns(2)
    a.metric("Checks passing", f"{len(checks) - len(failing)} / {len(checks)}")
    b.metric("Failing", len(failing))
    if failing:
        st.error("Failing: " + "; ".join(f"{c['asset']} · {c['check']}" for c in failing[:5])
                 + (" ..." if len(failing) > 5 else ""))
    _table(checks, "health.checks", "asset_checks.csv")


def _rejected(instance) -> None:
    st.subheader("Rejected by ingestion")
    found = health_reads.rejected(instance)
    if not found["runs"]:
        st.info("No ingestion run recorded yet.")
        return
    total = found["total_rows"]
    st.metric("Rejected records kept (raw.rejected_records)", "?" if total is None else f"{total:,}")
    st.caption(f"Per ingestion run, from the run's metadata (the last {len(found['runs'])} runs). The records "
               "themselves stay in the warehouse, with their payloads, for replay by hand.")
    if found["reasons"]:
        _table([{"reason": k, "rows": v} for k, v in found["reasons"].items()], "health.reasons",
               "rejected_reasons.csv")
    _table([{**r, "reasons": "; ".join(f"{k}: {v}" for k, v in r["reasons"].items()) or None} for r in found["runs"]],
           "health.rejected_runs", "rejected_by_run.csv")
