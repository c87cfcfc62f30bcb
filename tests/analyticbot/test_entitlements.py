"""The plan in force: paid orders in the store (at once) and paid periods in the snapshot (after a run)."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from analyticbot.appstore.models import Order, User
from analyticbot.entitlements import add_months, current_plan
from analyticbot.snapshot import ReadConnection

NOW = datetime(2026, 12, 2, 12, 0)


def _user(store, user_id=7):
    with store.transaction() as s:
        s.add(User(user_id=user_id, language="en", time_zone="UTC"))


def _order(store, plan_code, paid_at, status="paid", user_id=7, gateway="payme"):
    with store.transaction() as s:
        s.add(Order(user_id=user_id, plan_code=plan_code, gateway=gateway, amount_tiyin=1, currency="UZS",
                    status=status, created_at=paid_at, paid_at=paid_at if status != "pending" else None))


def _plan(store, con=None, now=NOW, user_id=7):
    with store.transaction() as s:
        return current_plan(s, user_id, con, now)


@pytest.fixture
def snapshot_con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.fct_subscription_periods (customer_id VARCHAR, gateway VARCHAR, "
                "plan_code VARCHAR, period_start TIMESTAMP, period_end TIMESTAMP)")
    yield ReadConnection("v1", duck=con)
    con.close()


def test_nobody_has_paid_means_free(store):
    _user(store)
    plan = _plan(store)
    assert (plan.spec.plan_code, plan.source, plan.paid, plan.max_channels) == ("free", "free", False, 1)
    assert plan.allows("digests") and not plan.allows("watermark")


def test_a_paid_order_gives_its_plan_for_one_period_only(store):
    _user(store)
    _order(store, "pro_month", datetime(2026, 11, 20))
    plan = _plan(store)
    assert (plan.spec.plan_code, plan.source, plan.period_end) == ("pro_month", "payme", datetime(2026, 12, 20))
    assert plan.allows("watermark") and plan.max_channels == 5
    assert _plan(store, now=datetime(2026, 12, 20)).spec.plan_code == "free"  # the end is exclusive


@pytest.mark.parametrize("status", ["pending", "cancelled"])
def test_unpaid_or_refunded_orders_give_nothing(store, status):
    _user(store)
    _order(store, "business_month", datetime(2026, 11, 25), status=status)
    assert _plan(store).spec.plan_code == "free"


def test_the_best_tier_wins_and_another_users_payment_counts_for_nobody_else(store):
    _user(store)
    _user(store, 8)
    _order(store, "pro_year", datetime(2026, 6, 1))
    _order(store, "business_month", datetime(2026, 11, 30), user_id=8, gateway="click")
    assert _plan(store).spec.plan_code == "pro_year"
    _order(store, "business_month", datetime(2026, 11, 30), gateway="click")
    assert _plan(store).spec.plan_code == "business_month"


def test_paid_periods_from_the_snapshot(store, snapshot_con):
    _user(store)
    snapshot_con.duck.execute("INSERT INTO marts.fct_subscription_periods VALUES "
                              "('tg:7', 'stripe', 'business_year', '2026-03-01', '2027-03-01'), "
                              "('tg:77', 'stripe', 'pro_month', '2026-11-01', '2026-12-31'), "
                              "('tg:7', 'stripe', 'pro_month', '2025-01-01', '2025-02-01')")
    plan = _plan(store, snapshot_con)
    assert (plan.spec.plan_code, plan.source, plan.period_end) == ("business_year", "stripe", datetime(2027, 3, 1))
    assert _plan(store, snapshot_con, user_id=77).spec.plan_code == "pro_month"  # customer ids match exactly
    assert _plan(store, snapshot_con, user_id=8).spec.plan_code == "free"
    assert _plan(store).spec.plan_code == "free"  # without the snapshot, only the store counts


def test_a_snapshot_without_revenue_marts_is_not_an_error(store):
    _user(store)
    con = duckdb.connect()
    try:
        assert _plan(store, ReadConnection("v0", duck=con)).spec.plan_code == "free"
    finally:
        con.close()


@pytest.mark.parametrize("start, months, end", [
    (datetime(2026, 1, 31, 8), 1, datetime(2026, 2, 28, 8)),
    (datetime(2028, 1, 31), 1, datetime(2028, 2, 29)),
    (datetime(2026, 11, 15), 3, datetime(2027, 2, 15)),
    (datetime(2026, 5, 31), 12, datetime(2027, 5, 31)),
])
def test_add_months_clamps_to_the_last_day(start, months, end):
    assert add_months(start, months) == end
