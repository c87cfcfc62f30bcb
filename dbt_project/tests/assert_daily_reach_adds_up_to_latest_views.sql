{{ config(meta={'dagster': {'ref': {'name': 'fct_channel_daily'}}}) }}
-- Daily reach only redistributes views over days: per channel, the days add up to the latest views of every
-- post's curve (single messages and album key messages), deleted posts included.
with reach as (
    select channel_id, sum(daily_reach) as reach_total
    from {{ ref('fct_channel_daily') }}
    where daily_reach is not null
    group by channel_id
),

curves as (
    select messages.channel_id, sum(reach.views_latest) as views_total
    from {{ ref('int_post_messages_resolved') }} as messages
    inner join {{ ref('int_post_reach_interpolated') }} as reach
        on reach.channel_id = messages.channel_id and reach.message_id = messages.message_id
    where messages.message_id = messages.post_message_id
    group by messages.channel_id
)

select reach.channel_id, reach.reach_total, curves.views_total
from reach
left join curves on curves.channel_id = reach.channel_id
where abs(reach.reach_total - coalesce(curves.views_total, 0)) > 1e-6 * greatest(1, coalesce(curves.views_total, 0))
