"""What a user's plan allows right now: the plan they have paid for, or free.

A paid period is [start, end) as the revenue marts count it (`marts.fct_subscription_periods`: Stripe invoice
lines, Payme and Click payments). Those marts lag by one pipeline run, so orders paid through Payme or Click since
then are read from the operational store too, where the webhook receivers mark them paid at once: an owner who
has just paid can connect their second channel straight away. (A Stripe payment shows after the next pipeline
run: its period is only known from the invoice that the pipeline stages.)

The best tier among the periods that cover `now` wins; a tie goes to the one that runs longest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import Order
from analyticbot.payments.catalogue import PLANS_BY_CODE, PlanSpec, UnknownPlan, plan
from analyticbot.payments.ledger import utcnow
from analyticbot.snapshot import ReadConnection, SnapshotReader, SnapshotUnavailable

TIER_RANK = {"free": 0, "pro": 1, "business": 2}
FREE = plan("free")


@dataclass(frozen=True)
class CurrentPlan:
    spec: PlanSpec
    source: str  # free | stripe | payme | click
    period_end: datetime | None  # UTC; None for free

    @property
    def max_channels(self) -> int:
        return self.spec.max_channels

    @property
    def paid(self) -> bool:
        return self.spec.tier != "free"

    def allows(self, feature: str) -> bool:
        return feature in self.spec.features


def add_months(at: datetime, months: int) -> datetime:
    """The same day and time `months` later, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29),
    as a paid period's end is counted."""
    month0 = at.month - 1 + months
    year, month = at.year + month0 // 12, month0 % 12 + 1
    for day in range(at.day, 27, -1):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return at.replace(year=year, month=month, day=min(at.day, 28))


def _store_periods(session: Session, user_id: int, now: datetime) -> list[CurrentPlan]:
    periods = []
    for order in session.scalars(select(Order).where(Order.user_id == user_id, Order.status == "paid",
                                                     Order.paid_at.is_not(None))):
        spec = PLANS_BY_CODE.get(order.plan_code)
        if spec is None:
            continue
        end = add_months(order.paid_at, spec.interval_months)
        if order.paid_at <= now < end:
            periods.append(CurrentPlan(spec, order.gateway, end))
    return periods


def _snapshot_periods(con: ReadConnection, user_id: int, now: datetime) -> list[CurrentPlan]:
    from analyticbot.channel_reads import has_table

    if not has_table(con, "marts.fct_subscription_periods"):
        return []
    rows = con.query("SELECT plan_code, gateway, period_end FROM marts.fct_subscription_periods "
                     "WHERE customer_id = ? AND period_start <= ? AND period_end > ?",
                     [f"tg:{user_id}", now, now]).to_dicts()
    periods = []
    for r in rows:
        try:
            periods.append(CurrentPlan(plan(r["plan_code"]), r["gateway"], r["period_end"]))
        except UnknownPlan:
            continue
    return periods


def current_plan(session: Session, user_id: int, con: ReadConnection | None = None,
                 now: datetime | None = None) -> CurrentPlan:
    """The plan in force for `user_id` at `now` (naive UTC), from the store's paid orders and, when a snapshot
    connection is given, the published paid periods."""
    now = now or utcnow()
    periods = _store_periods(session, user_id, now)
    if con is not None:
        periods += _snapshot_periods(con, user_id, now)
    if not periods:
        return CurrentPlan(FREE, "free", None)
    return max(periods, key=lambda p: (TIER_RANK[p.spec.tier], p.period_end))


def plan_in_force(store: AppStore, snapshots: SnapshotReader, user_id: int, now: datetime | None = None) -> CurrentPlan:
    """`current_plan` with the published paid periods when a snapshot exists, the store's paid orders always
    (what the bot and the admin panel ask before allowing something). Blocking."""
    try:
        with snapshots.connect() as con, store.transaction() as s:
            return current_plan(s, user_id, con, now)
    except SnapshotUnavailable:
        with store.transaction() as s:
            return current_plan(s, user_id, None, now)
