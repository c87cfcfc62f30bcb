"""The Great Expectations suites on payments: each invariant passes on good rows and names the broken one."""

from __future__ import annotations

from datetime import datetime

import pytest

from analyticbot.quality import validate_ledger, validate_payments
from analyticbot.settings import get_settings
from analyticbot.warehouse import open_warehouse

GOOD = [
    # payment_id, movement_type, gateway, currency, amount, amount_usd, charge_id
    ("in_1", "charge", "stripe", "USD", 9.00, 9.00, "ch_1"),
    ("re_1", "refund", "stripe", "USD", 4.50, 4.50, "ch_1"),
    ("re_2", "refund", "stripe", "USD", 4.50, 4.50, "ch_1"),  # two partial refunds: exactly the charge
    ("payme:a", "charge", "payme", "UZS", 115000.00, 8.95, "payme:a"),
    ("dp_1", "dispute", "stripe", "USD", 9.00, 9.00, "ch_1"),
]


@pytest.fixture
def wh(data_dir):
    with open_warehouse(get_settings()) as wh:
        wh.ensure_schemas()
        wh.execute("CREATE TABLE marts.fct_payments (payment_id VARCHAR, movement_type VARCHAR, gateway VARCHAR, "
                   "currency VARCHAR, amount DECIMAL(18, 2), amount_usd DECIMAL(18, 2), charge_id VARCHAR)")
        yield wh


def _load(wh, rows):
    wh.execute("DELETE FROM marts.fct_payments")
    for row in rows:
        wh.execute("INSERT INTO marts.fct_payments VALUES (?, ?, ?, ?, ?, ?, ?)", list(row))


def test_good_payments_pass(wh):
    _load(wh, GOOD)
    result = validate_payments(wh)
    assert result.success, result.failures
    assert result.rows_checked == len(GOOD)


@pytest.mark.parametrize("bad_row,broken", [
    (("in_1", "charge", "stripe", "USD", 9.00, 9.00, "ch_9"), "expect_column_values_to_be_unique(payment_id)"),
    (("in_2", "charge", "stripe", "USD", -1.00, 0.00, "ch_2"), "expect_column_values_to_be_between(amount)"),
    (("in_3", "charge", "stripe", "GBP", 1.00, 1.20, "ch_3"), "expect_column_values_to_be_in_set(currency)"),
    (("re_3", "refund", "stripe", "USD", 0.01, 0.01, "ch_1"),
     "expect_column_pair_values_a_to_be_greater_than_b(charge_amount,refunded_of_charge)"),
    (("re_4", "refund", "stripe", "USD", 1.00, 1.00, "ch_unknown"),
     "expect_column_pair_values_a_to_be_greater_than_b(charge_amount,refunded_of_charge)"),
])
def test_each_broken_invariant_is_named(wh, bad_row, broken):
    _load(wh, GOOD + [bad_row])
    result = validate_payments(wh)
    assert not result.success
    assert broken in result.failures, result.failures


def test_ledger_suite_catches_an_event_kept_twice(wh):
    row = "(?, 'stripe', ?, 'invoice.paid', 'webhook', ?, ?, NULL, '{}')"
    at = datetime(2026, 1, 1)
    wh.execute(f"INSERT INTO raw.payment_events VALUES {row}, {row}", [1, "evt_1", at, at, 2, "evt_2", at, at])
    assert validate_ledger(wh).success
    wh.execute(f"INSERT INTO raw.payment_events VALUES {row}", [3, "evt_1", at, at])
    result = validate_ledger(wh)
    assert result.failures == {"expect_column_values_to_be_unique(event_key)": 2}
