"""Churn risk: paying customers ranked by the churn model's score, with its top reasons, plan, tenure and last
payment; a page at a time, the whole list as CSV, and each customer one click from the admin panel."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable
from dashboards import churn_reads, session

TITLE = "Churn risk"
ROLE = "analyst"
GROUP = "Customers"
URL = "churn-risk"
ICON = ":material/person_remove:"
PAGE_SIZES = (25, 50, 100)
SHOWN = {"risk_rank": "Rank", "customer_id": "Customer", "churn_probability": "Risk", "plan_code": "Plan",
         "tenure_days": "Tenure (days)", "last_payment_at": "Last payment", "last_payment_usd": "Last payment (USD)",
         "period_end": "Paid until", "reason_1": "Reason 1", "reason_2": "Reason 2", "reason_3": "Reason 3",
         "status": "Status"}


def render() -> None:
    principal = session.guard(ROLE, TITLE)
    st.title(TITLE)
    try:
        with SnapshotReader(session.settings()).connect() as con:
            if not churn_reads.available(con):
                st.info("No churn scores in the published snapshot yet: no churn model could be trained.")
                return
            _render(con, principal)
    except SnapshotUnavailable as exc:
        st.warning(f"{exc}.")


def _render(con, principal) -> None:
    summary = churn_reads.summary(con)
    if summary["source"] == "model":
        by = f"model {summary['model_version']}"
    else:
        by = "the best baseline (no churn model has passed its gate yet)"
    when = f"{summary['scored_at']:%Y-%m-%d %H:%M} UTC" if summary["scored_at"] else "?"
    st.caption(f"Scored as of {when} by {by}. Risk = probability of no paid renewal within 30 days after the "
               "paid period ends.")
    a, b = st.columns(2)
    a.metric("Customers at risk (scored)", f"{summary['by_status']['scored']:,}")
    b.metric("Already asked to cancel", f"{summary['by_status']['cancellation_requested']:,}")

    with_cancelling = st.toggle("Include customers who already asked to cancel", key="churn.cancelling",
                                help="A known outcome rather than a risk: they rank first with risk 100%.")
    statuses = churn_reads.STATUSES if with_cancelling else ("scored",)
    total = churn_reads.count(con, statuses)
    if not total:
        st.info("No paying customers to score in this snapshot.")
        return
    left, right = st.columns(2)
    size = left.selectbox("Rows per page", PAGE_SIZES, key="churn.size")
    pages = max(1, -(-total // size))
    if st.session_state.get("churn.page", 1) > pages:  # fewer pages now (bigger pages, or the toggle): the last
        st.session_state["churn.page"] = pages
    page = right.number_input(f"Page (of {pages})", min_value=1, max_value=pages, step=1, key="churn.page")
    rows = churn_reads.ranked(con, statuses, offset=(page - 1) * size, limit=size)

    frame = churn_reads.frame(rows)
    columns = list(SHOWN)
    config = {c: st.column_config.Column(label) for c, label in SHOWN.items()}
    config["churn_probability"] = st.column_config.ProgressColumn("Risk", min_value=0.0, max_value=1.0,
                                                                  format="percent")
    config["last_payment_usd"] = st.column_config.NumberColumn("Last payment (USD)", format="%.2f")
    if principal.can("admin"):
        # The admin panel's users page opens the customer (Telegram customers only: a Stripe-only customer has
        # no account there).
        frame = frame.with_columns(admin=pl.Series([churn_reads.admin_link(u) for u in frame["user_id"]],
                                                   dtype=pl.String))
        columns.insert(2, "admin")
        config["admin"] = st.column_config.LinkColumn("Admin panel", display_text="open")
    st.dataframe(frame.select(columns), column_config=config, hide_index=True, key="churn.table")
    first = (page - 1) * size + 1 if rows else 0
    st.caption(f"Rows {first:,}–{first + len(rows) - 1 if rows else 0:,} of {total:,}."
               + ("" if principal.can("admin") else " The admin panel (the customer's account) needs the admin "
                                                   "role."))

    # The whole list is built only when the button is clicked (a full-list query on every rerun would double
    # the page's time), from the same snapshot version as the table above.
    reader, version = SnapshotReader(session.settings()), con.version
    st.download_button("Download the whole list (CSV)", lambda: churn_reads.export_csv(reader, version, statuses),
                       file_name="churn_risk.csv", mime="text/csv", key="churn.csv")
