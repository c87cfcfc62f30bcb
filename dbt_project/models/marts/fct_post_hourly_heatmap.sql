-- One row per channel, weekday (0 = Monday .. 6 = Sunday) and hour (0..23) of the display time zone: how many
-- posts went out in that slot and how they reached the audience at 24 h. Every slot is present (168 per channel).
with channels as (
    select * from {{ ref('int_channels_resolved') }}
),

-- deleted posts are not the channel's posts any more
posts as (
    select * from {{ ref('fct_posts') }}
    where not is_deleted
),

slots as (
    select
        channels.channel_id,
        weekdays.i as weekday,
        hours.i as hour
    from channels
    cross join {{ integers_upto(6) }} as weekdays
    cross join {{ integers_upto(23) }} as hours
),

post_slots as (
    select
        channel_id,
        {{ weekday_monday0('posted_at_local') }} as weekday,
        {{ hour_of('posted_at_local') }} as hour,
        {{ safe_divide('views_24h', 'subscribers_at_post') }} as views_24h_per_subscriber
    from posts
),

slot_metrics as (
    select
        channel_id,
        weekday,
        hour,
        count(*) as posts,
        {{ stable_float('avg(views_24h_per_subscriber)', 9) }} as mean_views_24h_per_subscriber,
        count(views_24h_per_subscriber) as sample_size
    from post_slots
    group by channel_id, weekday, hour
),

final as (
    select
        slots.channel_id,
        slots.weekday,
        slots.hour,
        coalesce(slot_metrics.posts, 0) as posts,
        cast(slot_metrics.mean_views_24h_per_subscriber as {{ type_double() }}) as mean_views_24h_per_subscriber,
        coalesce(slot_metrics.sample_size, 0) as sample_size
    from slots
    left join slot_metrics
        on slot_metrics.channel_id = slots.channel_id
        and slot_metrics.weekday = slots.weekday
        and slot_metrics.hour = slots.hour
)

select * from final
