"""Revenue marts from `dbt build` on DuckDB and PostgreSQL over the hand-checkable payment history
(tests/dbt/payments_dataset.py). The builds are the session fixtures in conftest.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

import payments_dataset as pay
from dbt_harness import REVENUE_MARTS, read_duckdb

MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation", "fx")


@pytest.fixture(scope="module")
def mrr(duckdb_warehouse) -> dict[tuple[str, date], dict]:
    return {(r["customer_id"], r["month"]): r for r in duckdb_warehouse.rows("fct_mrr_monthly")}


@pytest.fixture(scope="module")
def kpis(duckdb_warehouse) -> dict[date, dict]:
    return {r["month"]: r for r in duckdb_warehouse.rows("fct_saas_kpis_monthly")}


def comparable(value):
    """Exact for decimals, integers, text and times; doubles to 12 significant digits (ratios only)."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def sorted_rows(rows: list[dict]) -> list[tuple]:
    return sorted((tuple(comparable(v) for v in r.values()) for r in rows), key=repr)


# -- MRR -------------------------------------------------------------------------------------------------------
def test_mrr_at_each_month_start_is_the_hand_computed_path(mrr):
    for customer, cents in pay.MRR_CENTS.items():
        for i, month in enumerate(pay.MONTHS):
            start, end = cents[i], cents[i + 1]
            row = mrr.get((customer, month))
            if start == 0 and end == 0:
                assert row is None, (customer, month)
                continue
            assert (row["mrr_start_usd"], row["mrr_end_usd"]) == (pay.money(start), pay.money(end)), (customer, month)
    assert {c for c, _ in mrr} == set(pay.MRR_CENTS)


def test_every_movement_is_the_hand_computed_one(mrr):
    for (customer, month), row in mrr.items():
        expected = pay.MOVEMENTS.get((customer, month.month), {})
        got = {m: row[f"{m}_usd"] for m in MOVEMENTS if row[f"{m}_usd"] != 0}
        assert got == {m: pay.money(c) for m, c in expected.items()}, (customer, month)
        main = next(iter(expected), "flat")
        assert row["movement"] == main, (customer, month)
    assert all((c, date(2025, m, 1)) in mrr for c, m in pay.MOVEMENTS)


def test_movements_are_non_negative_except_fx(mrr):
    for row in mrr.values():
        assert all(row[f"{m}_usd"] >= 0 for m in MOVEMENTS if m != "fx")
    assert mrr[("tg:5", date(2025, 2, 1))]["fx_usd"] == Decimal("-1.15")  # UZS weakened between the periods


def test_mrr_identity_holds_exactly(mrr):
    for row in mrr.values():
        assert isinstance(row["mrr_end_usd"], Decimal)
        assert row["mrr_end_usd"] == (row["mrr_start_usd"] + row["new_usd"] + row["expansion_usd"]
                                      + row["reactivation_usd"] - row["contraction_usd"] - row["churn_usd"]
                                      + row["fx_usd"])


def test_unpriced_discount_is_flagged_not_guessed(mrr):
    row = mrr[("stripe:cus_c10", date(2025, 4, 1))]
    assert row["has_unpriced_discount"] is True and row["mrr_end_usd"] == Decimal("9.00")
    assert not mrr[("tg:7", date(2025, 3, 1))]["has_unpriced_discount"]  # the 20% coupon is priced


# -- cash ------------------------------------------------------------------------------------------------------
def test_payments_are_the_money_movements(duckdb_warehouse):
    rows = {r["payment_id"]: r for r in duckdb_warehouse.rows("fct_payments")}
    assert set(rows) == set(pay.PAYMENTS)
    for payment_id, (kind, gateway, customer, plan, amount, usd) in pay.PAYMENTS.items():
        r = rows[payment_id]
        assert (r["movement_type"], r["gateway"], r["customer_id"], r["plan_code"], r["amount"], r["amount_usd"]) \
            == (kind, gateway, customer, plan, Decimal(amount), Decimal(usd)), payment_id
        assert r["signed_amount_usd"] == (r["amount_usd"] if kind == "charge" else -r["amount_usd"])
    # basil: the charge reaches its invoice (and so the plan and period) through invoice_payment's payment intent
    assert (rows["ch_c2_2"]["invoice_id"], rows["ch_c2_2"]["subscription_id"]) == ("in_c2_2", "sub_c2")
    assert rows["ch_c7_1"]["invoice_id"] == "in_c7_1"  # a paid invoice whose charge object was never seen


def test_revenue_daily_adds_up_the_payments(duckdb_warehouse):
    daily = duckdb_warehouse.rows("fct_revenue_daily")
    payments = duckdb_warehouse.rows("fct_payments")
    assert sum(r["net_usd"] for r in daily) == sum(p["signed_amount_usd"] for p in payments)
    for r in daily:
        assert r["net_usd"] == r["gross_usd"] - r["refunds_usd"] - r["disputes_usd"]
    day = {(r["revenue_date"], r["gateway"], r["plan_code"]): r for r in daily}
    refund_day = day[(date(2025, 4, 7), "payme", "pro_month")]
    assert (refund_day["refunds"], refund_day["refunds_usd"], refund_day["net_usd"]) == (1, Decimal("9.20"),
                                                                                         Decimal("-9.20"))
    assert day[(date(2025, 3, 3), "stripe", None)]["gross_usd"] == Decimal("5.00")  # one-off charge, no plan


def test_subscription_periods_across_gateways(duckdb_warehouse):
    periods = {r["period_id"]: r for r in duckdb_warehouse.rows("fct_subscription_periods")}
    assert len(periods) == 16 + 5 + 2  # Stripe paid subscription lines, Payme performed, Click completed
    click = periods["click:5000002"]
    assert (click["customer_id"], click["plan_code"], click["period_start"].date(), click["period_end"].date()) \
        == ("tg:6", "pro_year", date(2025, 1, 25), date(2026, 1, 25))
    assert periods["stripe:in_c2_2:il_in_c2_2"]["is_proration"] is True
    assert not any(p.startswith("stripe:in_c9_0") for p in periods)  # the $0 trial line is no paid period


# -- cohorts and KPIs ----------------------------------------------------------------------------------------
def test_cohort_retention_of_january(duckdb_warehouse):
    jan = {r["months_since_first"]: r for r in duckdb_warehouse.rows("fct_cohort_retention")
           if r["cohort_month"] == date(2025, 1, 1)}
    assert sorted(jan) == [0, 1, 2, 3, 4, 5]
    assert [jan[k]["retained_customers"] for k in range(6)] == [7, 6, 4, 5, 6, 5]
    assert [jan[k]["mrr_usd"] for k in range(6)] == [pay.money(c) for c in (6808, 5793, 5958, 8858, 9778, 8858)]
    assert jan[1]["customer_retention_rate"] == pytest.approx(6 / 7)
    assert jan[3]["mrr_retention_rate"] == pytest.approx(8858 / 6808)


def test_saas_kpis_of_february(kpis):
    feb = kpis[date(2025, 2, 1)]
    start, end = Decimal("68.08"), Decimal("92.93")
    assert (feb["mrr_start_usd"], feb["mrr_usd"], feb["customers_start"], feb["customers"]) == (start, end, 7, 8)
    assert (feb["new_usd"], feb["churn_usd"], feb["fx_usd"]) == (Decimal("35.00"), Decimal("9.00"), Decimal("-1.15"))
    assert feb["customer_churn_rate"] == pytest.approx(1 / 7)
    assert feb["gross_mrr_churn_rate"] == pytest.approx(9 / 68.08)
    assert feb["net_mrr_churn_rate"] == pytest.approx(9 / 68.08)
    assert feb["nrr"] == pytest.approx((68.08 - 9 - 1.15) / 68.08)
    assert feb["grr"] == pytest.approx((68.08 - 9) / 68.08)
    assert feb["arpa_usd"] == pytest.approx(92.93 / 8)
    assert (feb["ltv_basis"], feb["ltv_usd"]) == ("monthly_churn", pytest.approx(92.93 / 8 * 7))
    jan = kpis[date(2025, 1, 1)]  # nobody at the start: no churn rate, LTV capped at 36 months
    assert jan["customer_churn_rate"] is None and jan["ltv_basis"] == "lifetime_cap_36m"
    assert jan["ltv_usd"] == pytest.approx(68.08 / 7 * 36)
    assert sorted(kpis) == pay.MONTHS


# -- engines, re-runs, an empty ledger -------------------------------------------------------------------------
@pytest.mark.parametrize("mart", sorted(REVENUE_MARTS))
def test_revenue_mart_is_row_for_row_equal_on_duckdb_and_postgres(mart, duckdb_warehouse, postgres_warehouse):
    duck, pg = duckdb_warehouse.rows(mart), postgres_warehouse.rows(mart)
    assert duck and len(duck) == len(pg)
    assert sorted_rows(duck) == sorted_rows(pg)


@pytest.mark.parametrize("mart", sorted(REVENUE_MARTS))
def test_revenue_mart_is_identical_after_a_rerun(mart, duckdb_warehouse):
    again = read_duckdb(duckdb_warehouse.path, "marts", mart, REVENUE_MARTS[mart])
    assert [tuple(r.values()) for r in duckdb_warehouse.incremental[mart]] == [tuple(r.values()) for r in again]


def test_empty_ledger_builds_empty_revenue_marts(duckdb_warehouse):
    assert duckdb_warehouse.first_build.success, duckdb_warehouse.first_build.failures
    assert all(rows == [] for rows in duckdb_warehouse.empty_ledger.values())
