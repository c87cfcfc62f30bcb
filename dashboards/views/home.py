"""The first page after login: who is logged in, which published snapshot the pages read, and the business at a
glance (MRR, customers and ARPA, MRR over the last year: totals, which every role may read).

It also starts reading ahead what the Revenue and Cohorts pages open with (`revenue_reads.warm`), and its chart
is the browser's first: loading the chart library (~1 s in a browser's first chart of a session) happens here,
on the page the team lands on, not on the page they open next.
"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from analyticbot.snapshot import SnapshotReader
from dashboards import revenue_reads, session
from dashboards.views.revenue import month_label, usd

TITLE = "Home"
ROLE = "viewer"
GROUP = "Overview"
URL = "home"
ICON = ":material/home:"
MONTHS_SHOWN = 12


def render() -> None:
    principal = session.guard(ROLE, TITLE)
    st.title("AnalyticBot")
    st.markdown(f"Logged in as **{principal.username}**, role **{principal.role}**.")
    reader = SnapshotReader(session.settings())
    version = reader.current_version()
    if version is None:
        st.warning("No published snapshot yet: run `make demo` (or the pipeline) and the pages fill in.")
        return
    st.caption(f"Published snapshot {version}.")
    revenue_reads.warm(reader, version)
    _business(revenue_reads.kpis(reader, version))


def _signed_usd(value: float) -> str:
    """"+$1.00" / "-$1.00": Streamlit colours a metric's delta by its leading sign."""
    return ("-" if value < 0 else "+") + usd(abs(value))


def _business(kpi: pl.DataFrame) -> None:
    if kpi.is_empty():
        st.info("No revenue in this snapshot yet.")
        return
    now = kpi.row(-1, named=True)
    before = kpi.row(-2, named=True) if kpi.height > 1 else None
    a, b, c = st.columns(3)
    a.metric(f"MRR, {month_label(now['month'])}", usd(now["mrr_usd"]),
             delta=None if before is None else _signed_usd(float(now["mrr_usd"]) - float(before["mrr_usd"])))
    b.metric("Customers", f"{now['customers']:,}",
             delta=None if before is None else f"{now['customers'] - before['customers']:+,}")
    c.metric("ARPA", usd(now["arpa_usd"]))
    recent = kpi.tail(MONTHS_SHOWN).select("month", pl.col("mrr_usd").cast(pl.Float64))
    chart = alt.Chart(recent).mark_area(line=True, opacity=0.3).encode(
        x=alt.X("month:T", title=None, timeUnit="yearmonth"), y=alt.Y("mrr_usd:Q", title="MRR (USD)"),
        tooltip=[alt.Tooltip("month:T", format="%Y-%m"), alt.Tooltip("mrr_usd:Q", format="$,.2f")])
    st.altair_chart(chart, width="stretch")
    st.caption("All customers, at each month's end; the Revenue page has the movements, filters and ratios.")
