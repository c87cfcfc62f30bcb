{{ config(meta={'dagster': {'ref': {'name': 'fct_post_hourly_heatmap'}}}) }}
-- The heatmap's slots add up to the channel's non-deleted posts.
with heatmap as (
    select channel_id, sum(posts) as posts
    from {{ ref('fct_post_hourly_heatmap') }}
    group by channel_id
),

channels as (
    select * from {{ ref('dim_channels') }}
)

select channels.channel_id, channels.posts_total, heatmap.posts
from channels
left join heatmap on heatmap.channel_id = channels.channel_id
where coalesce(heatmap.posts, 0) <> channels.posts_total
