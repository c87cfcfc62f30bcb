"""Why demo customers stay or leave: latent traits, an engagement path, and the product usage it shows.

The churn model (issue 4) has to learn from the demo something that is really there and not handed to it. So
each demo customer gets hidden traits that the warehouse never sees, and decisions are drawn from them:

- **Engagement** is a latent level that wanders week by week (an AR(1) around the customer's own mean, with a
  boost in the first two weeks). It drives product usage, which *is* observed, but only through noisy daily
  counts (`activity_days`): a quiet week may be chance, a quiet month rarely is.
- **Price sensitivity** (0..1) makes the business tier and a recent upgrade more likely to end in churn, and
  makes downgrades more likely.
- **Card trouble** (15% of customers) makes renewal charges fail more often (Stripe dunning) and Payme / Click
  attempts abandon or decline more often. Past failures are observed; the trait is not. Whether Stripe's retries
  recover a declined renewal depends on engagement (`dunning_recovers`): a customer who uses the product updates
  the card, one who has gone quiet lets it lapse (involuntary churn).

`churn_probability` is the chance a customer does not pay for the next period. Its shape is deliberately not
linear in what is observed: auto-renewing Stripe customers keep paying while they stop using the product for a
while (the classic forgotten subscription), manual Payme / Click payers simply do not pay again; going silent
is a threshold effect; the first renewals are the riskiest. A label is still a coin flip: the same
features give different outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

WEEK = timedelta(days=7)
AR_KEEP = 0.88          # weekly persistence of engagement around the customer's mean
AR_NOISE = 0.32
SILENT_BELOW = -1.1     # engagement under this is "went quiet"
FREE_USE = 0.15         # usage multiplier while not paying (the free plan)


@dataclass(frozen=True)
class CustomerTraits:
    engagement_mean: float
    price_sensitivity: float
    card_trouble: bool


def draw_traits(rng: np.random.Generator) -> CustomerTraits:
    return CustomerTraits(engagement_mean=float(rng.normal(0.0, 0.6)),
                          price_sensitivity=float(rng.beta(2.0, 3.0)),
                          card_trouble=bool(rng.random() < 0.15))


class Engagement:
    """The latent weekly engagement level of one customer from sign-up to the end of the history."""

    def __init__(self, traits: CustomerTraits, rng: np.random.Generator, signup: datetime, end: datetime):
        self.signup = signup
        weeks = max(1, int((end - signup) / WEEK) + 2)
        z = np.empty(weeks)
        z[0] = traits.engagement_mean + rng.normal(0, 0.3)
        shocks = rng.normal(0, AR_NOISE, weeks)
        for w in range(1, weeks):
            z[w] = traits.engagement_mean + AR_KEEP * (z[w - 1] - traits.engagement_mean) + shocks[w]
        self.z = z

    def at(self, when: datetime) -> float:
        w = int((when - self.signup) / WEEK)
        return float(self.z[min(max(w, 0), len(self.z) - 1)])


def churn_probability(traits: CustomerTraits, engagement: float, *, manual: bool, yearly: bool,
                      periods_paid: int, business: bool, upgraded_recently: bool, recent_failures: int,
                      discounted: bool) -> float:
    """The chance a customer does not renew at the end of a paid period (see the module docstring)."""
    # What the product is worth to them: their use, less what it costs them (the business tier costs more, and
    # weighs more on the price-sensitive).
    value = engagement - (0.9 * (0.5 + traits.price_sensitivity) if business else 0.0)
    if manual:
        # A manual payer decides every period and weighs the value they got; clearly not worth it, they go.
        logit = -2.6 - 2.2 * value + (2.5 if value < -1.0 else 0.0)
    else:
        # An auto-renewing subscriber mostly notices only after a long silence.
        logit = -3.4 - 0.2 * value + (2.6 if engagement < SILENT_BELOW else 0.0)
    if yearly:
        logit += 1.5
    logit += {1: 0.8, 2: 0.35}.get(periods_paid, 0.0)
    if upgraded_recently:
        logit += 1.6 * traits.price_sensitivity
    logit += 0.5 * min(recent_failures, 2)
    if discounted:
        logit -= 0.6
    return float(1.0 / (1.0 + np.exp(-logit)))


def renewal_fails(traits: CustomerTraits, rng: np.random.Generator) -> bool:
    """A Stripe renewal charge is declined (dunning starts)."""
    return bool(rng.random() < (0.25 if traits.card_trouble else 0.03))


def dunning_recovers(traits: CustomerTraits, engagement: float, attempt: int) -> float:
    """The chance a Stripe retry (attempt 2 or 3) succeeds: a customer who uses the product notices the failed
    payment e-mail and updates the card; one who has gone quiet lets the subscription lapse."""
    base = 0.55 if attempt == 2 else 0.35
    if traits.card_trouble:
        base *= 0.7
    return base * (1.5 if engagement > 0.0 else 0.5 if engagement < SILENT_BELOW else 1.0)


def upgrade_or_downgrade(traits: CustomerTraits, engagement: float, rng: np.random.Generator) -> str | None:
    roll = rng.random()
    if roll < (0.08 if engagement > 0.3 else 0.02):
        return "upgrade"
    if rng.random() < 0.05 * traits.price_sensitivity:
        return "downgrade"
    return None


def activity_days(user_id: int, engagement: Engagement, paid: list[tuple[datetime, datetime]], start: datetime,
                  end: datetime, rng: np.random.Generator) -> list[dict]:
    """Daily usage counters from sign-up (`start`) to the end of the history: a day is active with probability
    1 - exp(-rate), where the rate follows engagement (lower on weekends, much lower while not paying)."""
    first, last = start.date(), (end - timedelta(seconds=1)).date()
    n = (last - first).days + 1
    if n <= 0:
        return []
    days = np.array([first + timedelta(days=i) for i in range(n)], dtype="datetime64[D]")
    weeks = np.minimum(((days - np.datetime64(engagement.signup.date(), "D")).astype(int) // 7).clip(0),
                       len(engagement.z) - 1)
    z = engagement.z[weeks]
    honeymoon = np.where(np.arange(n) < 14, 0.5, 0.0)
    paying = np.zeros(n, dtype=bool)
    for a, b in paid:
        lo = max(0, (a.date() - first).days)
        hi = min(n, (b.date() - first).days + 1)
        if hi > lo:
            paying[lo:hi] = True
    weekday = (days.astype("datetime64[D]").view("int64") + 3) % 7  # 1970-01-01 was a Thursday (3)
    rate = 0.6 * np.exp(1.3 * z + honeymoon) * np.where(weekday >= 5, 0.7, 1.0) * np.where(paying, 1.0, FREE_USE)
    active = rng.random(n) < 1.0 - np.exp(-rate)
    bot = 1 + rng.poisson(1.2 * rate)
    miniapp = rng.poisson(0.7 * rate)
    reports = rng.poisson(0.3 * rate)
    idx = np.flatnonzero(active)
    return [{"user_id": user_id, "activity_date": date.fromordinal(first.toordinal() + int(i)),
             "bot_commands": int(bot[i]), "miniapp_opens": int(miniapp[i]), "reports_viewed": int(reports[i])}
            for i in idx]
