"""The plan catalogue: what each plan costs on each gateway and what it allows.

Prices live here, in code, so that a change is reviewed; `sync_catalogue` (run by `migrate()`) writes them to the
operational store, where orders reference them and the warehouse mirrors them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy.orm import Session

from analyticbot.appstore.models import Plan

UZS_PER_TIYIN = 100  # Payme counts in tiyin; Click sends UZS with two decimals.

# Digests and reports are the product itself (most owners only ever read the bot), so every plan has them;
# content protection and custom emoji in digests are what a paid plan adds in the bot.
BASE_FEATURES = ("channel_stats", "reach_curves", "err_er", "digests", "reports")
PRO_FEATURES = BASE_FEATURES + ("best_time", "alerts", "csv_export", "watermark", "custom_emoji")
BUSINESS_FEATURES = PRO_FEATURES + ("forecasts", "competitor_channels", "team_access", "priority_support")


@dataclass(frozen=True)
class PlanSpec:
    plan_code: str
    tier: str
    billing_interval: str  # month | year
    usd_cents: int
    uzs_tiyin: int
    max_channels: int
    features: tuple[str, ...]

    @property
    def interval_months(self) -> int:
        return 12 if self.billing_interval == "year" else 1

    @property
    def stripe_price_id(self) -> str | None:
        # Stripe prices are looked up by this id in webhooks; real accounts set them to these lookup keys.
        return None if self.usd_cents == 0 else f"price_analyticbot_{self.plan_code}"

    def price(self, gateway: str) -> tuple[int, str]:
        """(amount in minor units, ISO currency) that `gateway` charges for one period."""
        return (self.usd_cents, "USD") if gateway == "stripe" else (self.uzs_tiyin, "UZS")


# Yearly = 10 months' price (two months free), the usual SaaS convention.
PLANS: tuple[PlanSpec, ...] = (
    PlanSpec("free", "free", "month", 0, 0, 1, BASE_FEATURES),
    PlanSpec("pro_month", "pro", "month", 900, 11_500_000, 5, PRO_FEATURES),
    PlanSpec("pro_year", "pro", "year", 9_000, 115_000_000, 5, PRO_FEATURES),
    PlanSpec("business_month", "business", "month", 2_900, 36_900_000, 50, BUSINESS_FEATURES),
    PlanSpec("business_year", "business", "year", 29_000, 369_000_000, 50, BUSINESS_FEATURES),
)
PLANS_BY_CODE = {p.plan_code: p for p in PLANS}
PLANS_BY_STRIPE_PRICE = {p.stripe_price_id: p for p in PLANS if p.stripe_price_id}


class UnknownPlan(LookupError):
    pass


def plan(plan_code: str) -> PlanSpec:
    try:
        return PLANS_BY_CODE[plan_code]
    except KeyError:
        raise UnknownPlan(f"unknown plan {plan_code!r}; known: {', '.join(PLANS_BY_CODE)}") from None


def sync_catalogue(session: Session) -> None:
    """Upsert every plan; plans no longer in code are deactivated, never deleted (orders reference them)."""
    existing = {p.plan_code: p for p in session.query(Plan)}
    for spec in PLANS:
        row = existing.pop(spec.plan_code, None) or Plan(plan_code=spec.plan_code)
        row.tier, row.billing_interval, row.interval_months = spec.tier, spec.billing_interval, spec.interval_months
        row.usd_cents, row.uzs_tiyin, row.max_channels = spec.usd_cents, spec.uzs_tiyin, spec.max_channels
        row.features, row.stripe_price_id, row.active = json.dumps(list(spec.features)), spec.stripe_price_id, True
        session.add(row)
    for row in existing.values():
        row.active = False
