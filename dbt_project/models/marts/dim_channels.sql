-- One row per channel (channel_id): who owns it, how it is shown, and a summary of its posts and audience.
with channels as (
    select * from {{ ref('int_channels_resolved') }}
),

posts as (
    select * from {{ ref('int_posts_collapsed') }}
    where not is_deleted
),

channel_snapshots as (
    select * from {{ ref('stg_telegram__channel_snapshots') }}
    where subscribers is not null
),

-- the newest subscriber reading
ranked_snapshots as (
    select
        *,
        row_number() over (partition by channel_id order by observed_at desc) as recency
    from channel_snapshots
),

latest_subscribers as (
    select channel_id, subscribers from ranked_snapshots where recency = 1
),

post_summary as (
    select
        channel_id,
        min(posted_at) as first_post_at,
        max(posted_at) as last_post_at,
        count(*) as posts_total
    from posts
    group by channel_id
),

final as (
    select
        channels.channel_id,
        channels.title,
        channels.username,
        channels.owner_user_id,
        channels.registered_at,
        channels.time_zone,
        channels.source_kind,
        channels.status,
        channels.is_active,
        channels.reach_available,
        latest_subscribers.subscribers as subscribers_latest,
        post_summary.first_post_at,
        post_summary.last_post_at,
        coalesce(post_summary.posts_total, 0) as posts_total
    from channels
    left join latest_subscribers on latest_subscribers.channel_id = channels.channel_id
    left join post_summary on post_summary.channel_id = channels.channel_id
)

select * from final
