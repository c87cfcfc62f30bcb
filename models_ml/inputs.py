"""What the models read from the warehouse marts: one query per input, shared by the Dagster assets, the tests and
the benchmarks, so that all three see the same frames. Each returns a polars DataFrame with a fixed column set;
the model modules take these frames and never touch a database themselves.
"""

from __future__ import annotations

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
