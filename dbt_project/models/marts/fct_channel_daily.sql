{#- Trailing window of the post-based metrics (TGStat: "posts of the last 30 days"), in days including the day. -#}
{%- set window_days = 30 -%}
{#- Channel histories longer than this many days are cut at the start (20 years covers all of Telegram). -#}
{%- set max_history_days = 7300 -%}

-- One row per channel and calendar day in the channel's display time zone (channel_id, date), from the channel's
-- first to its last day with any data, gaps included.
with channels as (
    select * from {{ ref('int_channels_resolved') }}
),

-- deleted posts are no longer the channel's posts: they count in daily_reach (their views happened) only
posts as (
    select * from {{ ref('fct_posts') }}
    where not is_deleted
),

subscriber_readings as (
    select * from {{ ref('stg_telegram__channel_snapshots') }}
    where subscribers is not null
),

daily_stats as (
    select * from {{ ref('stg_telegram__channel_daily_stats') }}
),

-- views gained per local day, summed over the UTC days of the readings that produced them
reach as (
    select channel_id, reach_date, {{ stable_float('sum(daily_reach)', 6) }} as daily_reach
    from {{ ref('int_daily_reach_allocated') }}
    group by channel_id, reach_date
),

-- the last subscriber reading of each local day
readings_by_day as (
    select
        subscriber_readings.channel_id,
        cast({{ to_local_ts('subscriber_readings.observed_at', 'channels.time_zone') }} as date) as date_day,
        subscriber_readings.observed_at,
        subscriber_readings.subscribers
    from subscriber_readings
    inner join channels on channels.channel_id = subscriber_readings.channel_id
),

ranked_readings as (
    select
        *,
        row_number() over (partition by channel_id, date_day order by observed_at desc) as recency
    from readings_by_day
),

day_subscribers as (
    select channel_id, date_day, subscribers from ranked_readings where recency = 1
),

-- post metrics summed per posting day, ready for the trailing window
day_posts as (
    select
        channel_id,
        cast(posted_at_local as date) as date_day,
        count(*) as posts,
        cast(sum(views_latest) as bigint) as views_latest_sum,
        count(views_latest) as views_latest_count,
        {{ stable_float("sum(" ~ safe_divide('views_24h', 'subscribers_at_post') ~ ")", 9) }} as views_24h_per_subscriber_sum,
        count({{ safe_divide('views_24h', 'subscribers_at_post') }}) as views_24h_per_subscriber_count,
        cast(sum(
            case
                when views_latest is not null
                    then coalesce(reactions, 0) + coalesce(forwards, 0) + coalesce(replies, 0)
            end
        ) as bigint) as engagements_sum
    from posts
    group by channel_id, cast(posted_at_local as date)
),

-- first and last day with any data per channel
data_days as (
    select channel_id, date_day from day_subscribers
    union all
    select channel_id, date_day from day_posts
    union all
    select channel_id, reach_date as date_day from reach
    union all
    select channel_id, stats_date as date_day from daily_stats
),

bounds as (
    select channel_id, min(date_day) as first_day, max(date_day) as last_day
    from data_days
    group by channel_id
),

spine as (
    select
        bounds.channel_id,
        bounds.first_day + integers.i as date_day
    from bounds
    inner join {{ integers_upto(max_history_days) }} as integers
        on integers.i <= {{ days_between('bounds.first_day', 'bounds.last_day') }}
),

joined as (
    select
        spine.channel_id,
        spine.date_day,
        channels.reach_available,
        day_subscribers.subscribers as day_subscribers,
        daily_stats.joins,
        daily_stats.leaves,
        coalesce(day_posts.posts, 0) as posts,
        coalesce(reach.daily_reach, 0) as daily_reach,
        coalesce(day_posts.views_latest_sum, 0) as views_latest_sum,
        coalesce(day_posts.views_latest_count, 0) as views_latest_count,
        coalesce(day_posts.views_24h_per_subscriber_sum, 0) as views_24h_per_subscriber_sum,
        coalesce(day_posts.views_24h_per_subscriber_count, 0) as views_24h_per_subscriber_count,
        coalesce(day_posts.engagements_sum, 0) as engagements_sum
    from spine
    inner join channels on channels.channel_id = spine.channel_id
    left join day_subscribers
        on day_subscribers.channel_id = spine.channel_id and day_subscribers.date_day = spine.date_day
    left join daily_stats
        on daily_stats.channel_id = spine.channel_id and daily_stats.stats_date = spine.date_day
    left join day_posts
        on day_posts.channel_id = spine.channel_id and day_posts.date_day = spine.date_day
    left join reach
        on reach.channel_id = spine.channel_id and reach.reach_date = spine.date_day
),

-- subscribers carried forward over days without a reading; trailing-window sums (the spine is dense, so
-- ROWS is the same as a {{ window_days }}-day RANGE)
windowed as (
    select
        *,
        count(day_subscribers) over (
            partition by channel_id order by date_day rows between unbounded preceding and current row
        ) as readings_so_far,
        cast(sum(views_latest_sum) over trailing_window as bigint) as window_views_latest_sum,
        cast(sum(views_latest_count) over trailing_window as bigint) as window_views_latest_count,
        {{ stable_float('sum(views_24h_per_subscriber_sum) over trailing_window', 9) }} as window_views_24h_per_subscriber_sum,
        cast(sum(views_24h_per_subscriber_count) over trailing_window as bigint) as window_views_24h_per_subscriber_count,
        cast(sum(engagements_sum) over trailing_window as bigint) as window_engagements_sum
    from joined
    window trailing_window as (
        partition by channel_id order by date_day rows between {{ window_days - 1 }} preceding and current row
    )
),

carried as (
    select
        *,
        max(day_subscribers) over (partition by channel_id, readings_so_far) as subscribers
    from windowed
),

with_change as (
    select
        *,
        subscribers - lag(subscribers) over (partition by channel_id order by date_day) as net_subscribers,
        {{ safe_divide('window_views_latest_sum', 'window_views_latest_count') }} as avg_post_reach
    from carried
),

final as (
    select
        channel_id,
        date_day as date,
        subscribers,
        net_subscribers,
        joins,
        leaves,
        posts,
        case when reach_available then cast(daily_reach as {{ type_double() }}) end as daily_reach,
        case when reach_available then avg_post_reach end as avg_post_reach,
        case when reach_available then {{ safe_divide('avg_post_reach', 'subscribers') }} end as err,
        case
            when reach_available
                then {{ safe_divide('window_views_24h_per_subscriber_sum', 'window_views_24h_per_subscriber_count') }}
        end as err24,
        case
            when reach_available then {{ safe_divide('window_engagements_sum', 'window_views_latest_sum') }}
        end as er
    from with_change
)

select * from final
