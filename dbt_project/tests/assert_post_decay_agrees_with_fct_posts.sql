-- The decay curve never falls with age, and at 24 h it is the post's views_24h (the same interpolation, for posts
-- that are a single message; an album's views_24h is the maximum over its messages).
with curve as (
    select
        channel_id,
        message_id,
        age_hours,
        views,
        lag(views) over (partition by channel_id, message_id order by age_hours) as views_before
    from {{ ref('fct_post_decay') }}
)

select curve.channel_id, curve.message_id, curve.age_hours, curve.views, curve.views_before, posts.views_24h
from curve
left join {{ ref('fct_posts') }} as posts
    on posts.channel_id = curve.channel_id and posts.message_id = curve.message_id
where curve.views < curve.views_before - 0.001
    or (curve.age_hours = 24 and posts.grouped_id is null and posts.views_24h is not null
        and abs(curve.views - posts.views_24h) > 0.01)
