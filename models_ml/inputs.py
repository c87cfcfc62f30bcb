"""What the models read from the warehouse marts: one query per input, shared by the Dagster assets, the tests and
the benchmarks, so that all three see the same frames. Each returns a polars DataFrame with a fixed column set;
the model modules take these frames and never touch a database themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analyticbot.warehouse import Warehouse

# Posts with what "best time to post" needs: local posting time (the owner's zone), content, and the target's
# parts. Export channels carry no views (views_24h NULL): they are kept, and the model reports "not enough data".
POSTS_SQL = """
SELECT p.channel_id, p.message_id, p.posted_at, p.posted_at_local, p.content_type, p.text_length,
       p.is_forward, p.is_deleted, p.views_24h, p.subscribers_at_post
FROM marts.fct_posts AS p
ORDER BY p.channel_id, p.posted_at, p.message_id
"""

CHANNEL_DAILY_SQL = """
SELECT d.channel_id, d.date, d.subscribers, d.daily_reach, c.reach_available
FROM marts.fct_channel_daily AS d
JOIN marts.dim_channels AS c ON c.channel_id = d.channel_id
ORDER BY d.channel_id, d.date
"""


def posts(wh: Warehouse) -> pl.DataFrame:
    return wh.query_pl(POSTS_SQL)


def channel_daily(wh: Warehouse) -> pl.DataFrame:
    return wh.query_pl(CHANNEL_DAILY_SQL)


# -- churn: what each paying customer did, each row with its own time, so features can be cut at any instant ----
@dataclass
class ChurnInputs:
    periods: pl.DataFrame        # paid service periods
    money: pl.DataFrame          # refunds and disputes
    failures: pl.DataFrame       # failed payment attempts
    cancellations: pl.DataFrame  # Stripe cancellation requests
    activity: pl.DataFrame       # product usage per customer and UTC day
    channels: pl.DataFrame       # channels each customer connected, with when


CHURN_SQL = {
    "periods": """
        SELECT customer_id, gateway, plan_code, period_start, period_end, paid_at, is_proration,
               cast(amount_usd AS double precision) AS amount_usd
        FROM marts.fct_subscription_periods ORDER BY customer_id, paid_at, period_id""",
    "money": """
        SELECT customer_id, movement_type, occurred_at, cast(amount_usd AS double precision) AS amount_usd
        FROM marts.fct_payments WHERE movement_type IN ('refund', 'dispute') ORDER BY customer_id, occurred_at""",
    "failures": """
        SELECT customer_id, failed_at, failure_kind FROM marts.fct_payment_failures
        ORDER BY customer_id, failed_at""",
    "cancellations": """
        SELECT customer_id, subscription_id, requested_at, withdrawn_at FROM marts.fct_cancellation_requests
        ORDER BY customer_id, requested_at""",
    "activity": """
        SELECT customer_id, activity_date, bot_commands, miniapp_opens, reports_viewed, events
        FROM marts.fct_user_activity_daily ORDER BY customer_id, activity_date""",
    "channels": """
        SELECT 'tg:' || cast(owner_user_id AS varchar) AS customer_id, channel_id, registered_at
        FROM marts.dim_channels WHERE owner_user_id IS NOT NULL AND registered_at IS NOT NULL
        ORDER BY customer_id, registered_at""",
}


def churn_inputs(wh: Warehouse) -> ChurnInputs:
    return ChurnInputs(**{name: wh.query_pl(sql) for name, sql in CHURN_SQL.items()})
