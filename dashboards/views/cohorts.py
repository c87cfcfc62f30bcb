"""Cohorts: retention by month of first payment, as customers or as MRR, with each cohort's size, from
`marts.fct_cohort_retention` of the published snapshot (dashboards.revenue_reads).

Viewer role, as the revenue page: aggregates over customers only.
"""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import revenue_reads as reads
from dashboards.views.revenue import month_range, open_page

TITLE = "Cohorts"
ROLE = "viewer"
GROUP = "Business"
URL = "cohorts"
ICON = ":material/grid_on:"

MEASURES = {"Customers": ("customer_retention_rate", "retained_customers"),
            "MRR": ("mrr_retention_rate", "mrr_usd")}


def render() -> None:
    opened = open_page(ROLE, TITLE)
    if opened is None:
        return
    reader, version, options = opened
    if not options.cohort_months:
        st.info("The snapshot has no cohorts yet (no charge).")
        return
    st.caption(f"Published snapshot {version}. A customer's cohort is the month of their first charge; they are "
               "retained in a month when they have MRR at its end (the newest month is month to date). MRR "
               "retention compares with the cohort's MRR at the end of its first month.")
    with st.container(border=True):
        first, last = month_range("Cohorts", options.cohort_months, "cohorts.period")
        measure = st.radio("Retention of", list(MEASURES), horizontal=True, key="cohorts.measure")
    frame = reads.cohorts(reader, version, first, last)
    sizes = reads.cohort_sizes(frame)

    a, b, c = st.columns(3)
    a.metric("Cohorts", f"{sizes.height:,}")
    b.metric("Customers in them", f"{int(sizes['customers'].sum()):,}")
    c.metric("Largest cohort", f"{int(sizes['customers'].max()):,}" if sizes.height else "–")

    st.subheader(f"Retention of {measure.lower()} by month since the first payment")
    rate, amount = MEASURES[measure]
    # the cohort's size in its label, so the heatmap reads "2025-04 (88 customers)" down the side
    data = frame.select("cohort_month", "months_since_first", "customers", pl.col(rate).alias("rate"),
                        pl.col(amount).alias("amount")).with_columns(
        pl.format("{} ({})", pl.col("cohort_month").dt.strftime("%Y-%m"), pl.col("customers")).alias("cohort"),
        pl.col(pl.Decimal).cast(pl.Float64))
    base = alt.Chart(data).encode(
        x=alt.X("months_since_first:O", title="Months since the first payment"),
        y=alt.Y("cohort:O", title="Cohort: month of first payment (customers)", sort="ascending"))
    heat = base.mark_rect().encode(
        color=alt.Color("rate:Q", title="Retained", scale=alt.Scale(scheme="blues", domain=[0, 1], clamp=True),
                        legend=alt.Legend(format="%")),
        tooltip=["cohort:O", "months_since_first:O", "customers:Q", alt.Tooltip("rate:Q", format=".1%"),
                 alt.Tooltip("amount:Q", title=amount, format=",.2f" if measure == "MRR" else ",d")])
    labels = base.mark_text(fontSize=9).encode(
        text=alt.Text("rate:Q", format=".0%"),
        color=alt.condition("datum.rate > 0.6", alt.value("white"), alt.value("black")))
    st.altair_chart((heat + labels).properties(height=max(240, 22 * sizes.height)), width="stretch")
    st.download_button("Download CSV", reads.csv_bytes(frame), file_name="cohort_retention.csv", mime="text/csv",
                       key="cohorts.csv.retention", on_click="ignore", icon=":material/download:")

    st.subheader("Cohort sizes")
    size_chart = alt.Chart(sizes.with_columns(
        pl.col("cohort_month").dt.strftime("%Y-%m").alias("cohort"))).mark_bar().encode(
        x=alt.X("cohort:O", title="Cohort"), y=alt.Y("customers:Q", title="Customers"),
        tooltip=["cohort:O", "customers:Q"])
    st.altair_chart(size_chart, width="stretch")
    st.download_button("Download CSV", reads.csv_bytes(sizes), file_name="cohort_sizes.csv", mime="text/csv",
                       key="cohorts.csv.sizes", on_click="ignore", icon=":material/download:")
