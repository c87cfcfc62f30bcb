-- Views are running totals: views_1h <= views_24h <= views_48h <= views_latest wherever both sides are known.
with posts as (
    select * from {{ ref('fct_posts') }}
)

select channel_id, message_id, views_1h, views_24h, views_48h, views_latest
from posts
where views_1h > views_24h + 1e-6
    or views_24h > views_48h + 1e-6
    or views_1h > views_latest + 1e-6
    or views_24h > views_latest + 1e-6
    or views_48h > views_latest + 1e-6
