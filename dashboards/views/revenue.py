"""Revenue: MRR over time and its movements (new, expansion, reactivation, contraction, churn, FX), customers,
ARPA, churn rates, NRR/GRR and LTV, from the revenue marts of the published snapshot (dashboards.revenue_reads).

Viewer role: every number here is an aggregate over customers (no customer is named or listed), which is what
the lowest dashboards role exists to read; per-customer lists (churn risk) and raw exports need more.
"""

from __future__ import annotations

from datetime import date

import altair as alt
import polars as pl
import streamlit as st

from analyticbot.snapshot import SnapshotReader
from dashboards import revenue_reads as reads
from dashboards import session

TITLE = "Revenue"
ROLE = "viewer"
GROUP = "Business"
URL = "revenue"
ICON = ":material/payments:"

# Growth in blues and greens, losses in warm colours, FX grey: churn must not look like growth.
MOVEMENT_COLOURS = {"New": "#1f77b4", "Expansion": "#54a24b", "Reactivation": "#72b7b2", "Contraction": "#f58518",
                    "Churn": "#e45756", "FX": "#9d9d9d"}
SERIES_LABEL = {"customers": "Customers", "new_customers": "New", "reactivated_customers": "Reactivated",
                "churned_customers": "Churned", "customer_churn_rate": "Customer churn",
                "gross_mrr_churn_rate": "Gross MRR churn", "net_mrr_churn_rate": "Net MRR churn", "nrr": "NRR",
                "grr": "GRR", "arpa_usd": "ARPA", "ltv_usd": "LTV"}
SEGMENT_NOTE = ("Gateway, plan and currency filter every number: each customer's month counts in the segment of "
                "their latest paid period by the month's end (the revenue marts have no such columns), and a "
                "segment's ARPA, churn rates, NRR, GRR and LTV follow the KPI mart's formulas on its MRR and "
                "movements.")


# -- formatting (the tests read the same strings) --------------------------------------------------------------
def usd(value) -> str:
    return "–" if value is None else f"${float(value):,.2f}"


def pct(value) -> str:
    return "–" if value is None else f"{float(value) * 100:.1f}%"


def month_label(value: date) -> str:
    return value.strftime("%Y-%m")


def _floats(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimals as floats for the charts (Vega-Lite reads JSON numbers); the CSV keeps the mart's decimals."""
    return frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))


def _labelled(long: pl.DataFrame) -> pl.DataFrame:
    return long.with_columns(pl.col("series").replace_strict(SERIES_LABEL))


def open_page(role: str, title: str) -> tuple[SnapshotReader, str, reads.Options] | None:
    """The start of a revenue page: the guard, the title, and the current snapshot, its version and what the
    filters offer; None (having said so) before the first publish."""
    session.guard(role, title)
    st.title(title)
    reader = SnapshotReader(session.settings())
    version = reader.current_version()
    if version is None:
        st.warning("No published snapshot yet: run `make demo` (or the pipeline) and this page fills in.")
        return None
    return reader, version, reads.options(reader, version)


def month_range(label: str, months: tuple[date, ...], key: str) -> tuple[date, date]:
    """A range of months on a slider, all of them at first (a slider needs two months to move between)."""
    if len(months) < 2:
        return months[0], months[0]
    first, last = st.select_slider(label, options=list(months), value=(months[0], months[-1]),
                                   format_func=month_label, key=key)
    return first, last


def download(frame: pl.DataFrame, name: str, key: str) -> None:
    st.download_button("Download CSV", reads.csv_bytes(frame), file_name=f"{name}.csv", mime="text/csv",
                       key=f"revenue.csv.{key}", on_click="ignore", icon=":material/download:")


# -- the page --------------------------------------------------------------------------------------------------
def render() -> None:
    opened = open_page(ROLE, TITLE)
    if opened is None:
        return
    reader, version, options = opened
    if not options.months:
        st.info("The snapshot has no revenue yet (no paid period).")
        return
    first, last, segment = _filters(options)
    st.caption(f"Published snapshot {version} · USD · {month_label(options.months[-1])} is month to date.")

    frame = reads.movements(reader, version, segment, first, last)
    kpi = reads.kpis(reader, version, first, last, segment)
    _headline(frame, kpi, segment)
    _mrr_chart(frame)
    _waterfall(frame, first, last)
    _movements_chart(frame)
    _customers_chart(frame)
    _ratio_charts(kpi, segment)


def _filters(options: reads.Options) -> tuple[date, date, reads.Segment]:
    with st.container(border=True):
        first, last = month_range("Period", options.months, "revenue.period")
        left, middle, right = st.columns(3)
        gateways = left.multiselect("Gateway", options.gateways, key="revenue.gateway", placeholder="All")
        plans = middle.multiselect("Plan", options.plans, key="revenue.plan", placeholder="All")
        currencies = right.multiselect("Currency", options.currencies, key="revenue.currency", placeholder="All")
        st.caption(SEGMENT_NOTE)
    return first, last, reads.Segment(tuple(gateways), tuple(plans), tuple(currencies))


def _headline(frame: pl.DataFrame, kpi: pl.DataFrame, segment: reads.Segment) -> None:
    end = frame.row(-1, named=True)
    net_new = sum(reads.MOVEMENT_SIGN[m] * float(frame[m].sum()) for m in reads.MOVEMENTS)
    st.subheader(f"{month_label(end['month'])}: {segment.describe()}")
    a, b, c, d = st.columns(4)
    a.metric("MRR", usd(end["mrr_usd"]))
    b.metric("Customers", f"{end['customers']:,}")
    c.metric("Net new MRR in the period", usd(net_new))
    d.metric("MRR at the period's start", usd(frame["mrr_start_usd"][0]))
    k = kpi.row(-1, named=True)
    st.caption(f"{month_label(k['month'])}: " + ("all customers (fct_saas_kpis_monthly)" if segment.is_everyone
                                                  else f"{segment.describe()} (the KPI mart's formulas)"))
    cols = st.columns(6)
    cols[0].metric("ARPA", usd(k["arpa_usd"]))
    cols[1].metric("Customer churn", pct(k["customer_churn_rate"]))
    cols[2].metric("Gross MRR churn", pct(k["gross_mrr_churn_rate"]))
    cols[3].metric("NRR", pct(k["nrr"]))
    cols[4].metric("GRR", pct(k["grr"]))
    cols[5].metric("LTV", usd(k["ltv_usd"]), help=f"Basis: {k['ltv_basis']} (ARPA / churn rate, else the trailing "
                                                   "6 months' churn rate, else ARPA × 36)")


def _mrr_chart(frame: pl.DataFrame) -> None:
    st.subheader("MRR by month")
    data = _floats(frame.select("month", "mrr_usd", "customers"))
    chart = alt.Chart(data).mark_bar().encode(
        x=alt.X("month:T", title=None, timeUnit="yearmonth"),
        y=alt.Y("mrr_usd:Q", title="MRR at the month's end (USD)"),
        tooltip=[alt.Tooltip("month:T", format="%Y-%m"), alt.Tooltip("mrr_usd:Q", format="$,.2f"), "customers:Q"])
    st.altair_chart(chart, width="stretch")
    download(frame.select("month", "mrr_usd", "customers"), "mrr_by_month", "mrr")


def _waterfall(frame: pl.DataFrame, first: date, last: date) -> None:
    st.subheader(f"MRR movements, {month_label(first)} to {month_label(last)}")
    bridge = reads.waterfall(frame)
    bars = bridge.with_columns(
        pl.when(pl.col("step").is_in(["Start MRR", "End MRR"])).then(0.0)
        .otherwise(pl.col("running_usd") - pl.col("amount_usd")).alias("from_usd"),
        pl.col("running_usd").alias("to_usd"),
        pl.when(pl.col("step").is_in(["Start MRR", "End MRR"])).then(pl.lit("total"))
        .when(pl.col("amount_usd") >= 0).then(pl.lit("up")).otherwise(pl.lit("down")).alias("kind"),
        pl.int_range(pl.len()).alias("order"))
    chart = alt.Chart(bars).mark_bar().encode(
        x=alt.X("step:N", sort=alt.SortField("order"), title=None),
        y=alt.Y("from_usd:Q", title="MRR (USD)"), y2="to_usd:Q",
        color=alt.Color("kind:N", scale=alt.Scale(domain=["total", "up", "down"],
                                                  range=["#4c78a8", "#54a24b", "#e45756"]), legend=None),
        tooltip=["step:N", alt.Tooltip("amount_usd:Q", format="$,.2f"), alt.Tooltip("running_usd:Q", format="$,.2f")])
    st.altair_chart(chart, width="stretch")
    download(bridge, "mrr_waterfall", "waterfall")


def _movements_chart(frame: pl.DataFrame) -> None:
    st.subheader("Movements by month")
    long = (_floats(frame.select("month", *reads.MOVEMENTS))
            .unpivot(index="month", variable_name="movement", value_name="amount_usd")
            .with_columns(pl.col("movement").replace_strict(reads.MOVEMENT_LABEL),
                          (pl.col("amount_usd") * pl.col("movement").replace_strict(reads.MOVEMENT_SIGN))
                          .alias("signed_usd")))
    chart = alt.Chart(long).mark_bar().encode(
        x=alt.X("month:T", title=None, timeUnit="yearmonth"),
        y=alt.Y("signed_usd:Q", title="MRR change (USD)", stack="zero"),
        color=alt.Color("movement:N", title=None,
                        scale=alt.Scale(domain=list(MOVEMENT_COLOURS), range=list(MOVEMENT_COLOURS.values()))),
        tooltip=[alt.Tooltip("month:T", format="%Y-%m"), "movement:N", alt.Tooltip("signed_usd:Q", format="$,.2f")])
    st.altair_chart(chart, width="stretch")
    download(frame.select("month", "mrr_start_usd", *reads.MOVEMENTS, "mrr_usd"), "mrr_movements", "movements")


def _customers_chart(frame: pl.DataFrame) -> None:
    st.subheader("Customers by month")
    columns = ["customers", "new_customers", "reactivated_customers", "churned_customers"]
    data = frame.select("month", *columns)
    long = _labelled(data.unpivot(index="month", variable_name="series", value_name="count"))
    chart = alt.Chart(long).mark_line(point=True).encode(
        x=alt.X("month:T", title=None, timeUnit="yearmonth"), y=alt.Y("count:Q", title="Customers"),
        color=alt.Color("series:N", sort=[SERIES_LABEL[c] for c in columns], title=None),
        tooltip=[alt.Tooltip("month:T", format="%Y-%m"), "series:N", "count:Q"])
    st.altair_chart(chart, width="stretch")
    download(data, "customers_by_month", "customers")


def _ratio_charts(kpi: pl.DataFrame, segment: reads.Segment) -> None:
    st.subheader(f"SaaS ratios by month ({segment.describe()})")
    groups = (("Churn rates", ["customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate"], "churn", "%"),
              ("NRR and GRR", ["nrr", "grr"], "retention", "%"),
              ("ARPA and LTV (USD)", ["arpa_usd", "ltv_usd"], "arpa_ltv", "$,.2f"))
    for title, columns, key, fmt in groups:
        st.markdown(f"**{title}**")
        data = kpi.select("month", *columns)
        long = _labelled(_floats(data).unpivot(index="month", variable_name="series", value_name="value"))
        axis = alt.Axis(format=fmt) if fmt == "%" else alt.Axis()
        chart = alt.Chart(long).mark_line(point=True).encode(
            x=alt.X("month:T", title=None, timeUnit="yearmonth"), y=alt.Y("value:Q", title=None, axis=axis),
            color=alt.Color("series:N", sort=[SERIES_LABEL[c] for c in columns], title=None),
            tooltip=[alt.Tooltip("month:T", format="%Y-%m"), "series:N",
                     alt.Tooltip("value:Q", format=".1%" if fmt == "%" else fmt)])
        st.altair_chart(chart, width="stretch")
        extra = ["ltv_basis"] if key == "arpa_ltv" else []
        download(kpi.select("month", *columns, *extra), f"kpis_{key}", key)
