"""Admin: charges on every gateway with their refund status, from the published snapshot (`marts.fct_payments`:
only the warehouse knows Stripe's charges, refunds and disputes), and the live orders of the operational store
(Payme, Click and plans granted by hand; Stripe has no orders). Filters, pages, CSV."""

from __future__ import annotations

import streamlit as st

from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable
from dashboards import admin_panel, session
from dashboards.views import admin_common as common

TITLE = "Subscriptions and payments"
ROLE = common.ROLE
GROUP = common.GROUP
URL = "admin-payments"
ICON = ":material/payments:"
ANY = "any"


def render() -> None:
    session.guard(ROLE, TITLE)
    st.title(TITLE)
    payments, orders = st.tabs(["Payments (published snapshot)", "Orders (live store)"])
    with payments:
        _payments()
    with orders:
        _orders()


def _choice(label: str, options, key: str) -> str | None:
    value = st.selectbox(label, (ANY, *options), key=key)
    return None if value == ANY else value


def _dates(key: str):
    since = st.date_input("From (UTC day)", value=None, key=f"{key}.since")
    until = st.date_input("To (UTC day)", value=None, key=f"{key}.until")
    return since, until


def _payments() -> None:
    cols = st.columns(4)
    with cols[0]:
        gateway = _choice("Gateway", admin_panel.PAYMENT_GATEWAYS, "payments.gateway")
    with cols[1]:
        refund = _choice("Refund status", admin_panel.REFUND_STATUSES, "payments.refund")
    with cols[2]:
        customer = st.text_input("Customer (tg:<user id> or stripe:<customer>)", key="payments.customer")
    with cols[3]:
        since, until = _dates("payments")
    filters = dict(gateway=gateway, refund_status=refund, customer=customer, since=since, until=until)
    try:
        with SnapshotReader(session.settings()).connect() as con:
            page = admin_panel.payments_page(con, page=common.page_number("payments.page"), **filters)
            st.caption(f"Snapshot {con.version}.")
            common.table(page, "payments.page", "payments.csv", lambda n: _all_payments(n, filters))
    except SnapshotUnavailable:
        st.warning("No published snapshot yet: run `make demo` (or the pipeline) and payments show here.")


def _all_payments(n: int, filters: dict) -> admin_panel.Page:
    with SnapshotReader(session.settings()).connect() as con:
        return admin_panel.payments_page(con, size=n, **filters)


def _all_orders(n: int, filters: dict) -> admin_panel.Page:
    with session.store().transaction() as s:
        return admin_panel.orders_page(s, size=n, **filters)


def _orders() -> None:
    cols = st.columns(4)
    with cols[0]:
        gateway = _choice("Gateway", admin_panel.ORDER_GATEWAYS, "orders.gateway")
    with cols[1]:
        status = _choice("Status", admin_panel.ORDER_STATUSES, "orders.status")
    with cols[2]:
        user = st.text_input("Telegram user id", key="orders.user").strip()
    with cols[3]:
        since, until = _dates("orders")
    if user and not user.isdigit():
        st.error("A Telegram user id is a number, like 123456789.")
        return
    filters = dict(gateway=gateway, status=status, user_id=int(user) if user else None, since=since, until=until)
    with session.store().transaction() as s:
        page = admin_panel.orders_page(s, page=common.page_number("orders.page"), **filters)
    common.table(page, "orders.page", "orders.csv", lambda n: _all_orders(n, filters))
