-- One row per post (channel_id, message_id): albums collapsed into the post keyed by their smallest message_id.
-- Views and forwards take the album's maximum: an album is seen and forwarded as a whole, and forwarding it
-- bumps every message's counter once, so a sum would count one forward once per message. Replies, reactions
-- and text length add up (people react to and comment on single items).
with messages as (
    select * from {{ ref('int_post_messages_resolved') }}
),

reach as (
    select * from {{ ref('int_post_reach_interpolated') }}
),

message_metrics as (
    select
        messages.*,
        reach.snapshots,
        reach.views_latest,
        reach.forwards_latest,
        reach.replies_latest,
        reach.reactions_latest,
        reach.views_1h,
        reach.views_24h,
        reach.views_48h,
        {% for label in ['1h', '24h', '48h'] %}
        case reach.views_{{ label }}_coverage
            when 'measured' then 2 when 'interpolated' then 1 else 0
        end as views_{{ label }}_coverage_rank{{ ',' if not loop.last }}
        {% endfor %}
    from messages
    left join reach
        on reach.channel_id = messages.channel_id and reach.message_id = messages.message_id
),

collapsed as (
    select
        channel_id,
        post_message_id as message_id,
        min(posted_at) as posted_at,
        max(grouped_id) as grouped_id,
        cast(count(*) as integer) as messages,
        cast(case when max(grouped_id) is not null then 'album' else max(content_type) end as varchar) as content_type,
        cast(sum(text_length) as integer) as text_length,
        max(case when is_forward then 1 else 0 end) = 1 as is_forward,
        max(case when is_edited then 1 else 0 end) = 1 as is_edited,
        min(case when is_deleted then 1 else 0 end) = 1 as is_deleted,
        cast(coalesce(sum(snapshots), 0) as bigint) as snapshots,
        max(views_latest) as views_latest,
        cast(max(forwards_latest) as bigint) as forwards,
        cast(sum(replies_latest) as bigint) as replies,
        cast(sum(reactions_latest) as bigint) as reactions,
        max(views_1h) as views_1h,
        max(views_24h) as views_24h,
        max(views_48h) as views_48h,
        max(views_1h_coverage_rank) as views_1h_coverage_rank,
        max(views_24h_coverage_rank) as views_24h_coverage_rank,
        max(views_48h_coverage_rank) as views_48h_coverage_rank
    from message_metrics
    group by channel_id, post_message_id
),

final as (
    select
        channel_id,
        message_id,
        posted_at,
        grouped_id,
        messages,
        content_type,
        text_length,
        is_forward,
        is_edited,
        is_deleted,
        snapshots,
        views_latest,
        forwards,
        replies,
        reactions,
        views_1h,
        views_24h,
        views_48h,
        {% for label in ['1h', '24h', '48h'] %}
        cast(case views_{{ label }}_coverage_rank
            when 2 then 'measured' when 1 then 'interpolated' else 'unavailable'
        end as varchar) as views_{{ label }}_coverage{{ ',' if not loop.last }}
        {% endfor %}
    from collapsed
)

select * from final
