-- One row per post (channel_id, message_id), albums collapsed: timing in UTC and in the display time zone,
-- views at fixed ages, latest counters, engagement rate and the audience size when it was posted.
with posts as (
    select * from {{ ref('int_posts_collapsed') }}
),

channels as (
    select * from {{ ref('int_channels_resolved') }}
),

channel_snapshots as (
    select * from {{ ref('stg_telegram__channel_snapshots') }}
    where subscribers is not null
),

-- posts and subscriber readings on one timeline per channel
timeline as (
    select channel_id, observed_at as event_at, subscribers, 1 as is_reading, cast(null as bigint) as message_id
    from channel_snapshots
    union all
    select channel_id, posted_at as event_at, cast(null as bigint) as subscribers, 0 as is_reading, message_id
    from posts
),

-- readings counted up to each point, forwards and backwards (a reading at the posting instant counts as before)
numbered as (
    select
        *,
        sum(is_reading) over (
            partition by channel_id order by event_at, is_reading desc rows between unbounded preceding and current row
        ) as readings_before,
        sum(is_reading) over (
            partition by channel_id order by event_at desc, is_reading desc rows between unbounded preceding and current row
        ) as readings_after
    from timeline
),

-- each post with the last reading at or before it, and the first reading after it as the fallback
subscribers_at_post as (
    select
        channel_id,
        message_id,
        coalesce(
            max(subscribers) over (partition by channel_id, readings_before),
            max(subscribers) over (partition by channel_id, readings_after)
        ) as subscribers_at_post,
        is_reading
    from numbered
),

final as (
    select
        posts.channel_id,
        posts.message_id,
        posts.posted_at,
        {{ to_local_ts('posts.posted_at', 'channels.time_zone') }} as posted_at_local,
        posts.grouped_id,
        posts.views_1h,
        posts.views_24h,
        posts.views_48h,
        posts.views_latest,
        posts.forwards,
        posts.replies,
        posts.reactions,
        {{ safe_divide(
            'coalesce(posts.reactions, 0) + coalesce(posts.forwards, 0) + coalesce(posts.replies, 0)',
            'posts.views_latest'
        ) }} as er,
        posts.content_type,
        posts.text_length,
        posts.is_forward,
        posts.is_edited,
        posts.is_deleted,
        subscribers_at_post.subscribers_at_post,
        posts.views_1h_coverage,
        posts.views_24h_coverage,
        posts.views_48h_coverage,
        posts.snapshots
    from posts
    inner join channels on channels.channel_id = posts.channel_id
    left join subscribers_at_post
        on subscribers_at_post.channel_id = posts.channel_id
        and subscribers_at_post.message_id = posts.message_id
        and subscribers_at_post.is_reading = 0
)

select * from final
