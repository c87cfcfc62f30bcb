-- One row per message (channel_id, message_id): its revisions folded into the current content, and the album
-- key (post_message_id) that fct_posts collapses on.
with revisions as (
    select * from {{ ref('stg_telegram__posts') }}
),

-- newest non-deleted revision first: the content as readers last saw it (a deletion row carries no content)
ranked_revisions as (
    select
        *,
        row_number() over (
            partition by channel_id, message_id order by is_deleted, revision_at desc
        ) as content_rank
    from revisions
),

current_content as (
    select * from ranked_revisions where content_rank = 1
),

-- facts over the whole history of the message
history as (
    select
        channel_id,
        message_id,
        min(posted_at) as posted_at,
        max(grouped_id) as grouped_id,
        count(*) as revisions,
        max(case when is_deleted then 1 else 0 end) = 1 as is_deleted,
        (
            max(edited_at) is not null
            or sum(case when is_deleted then 0 else 1 end) > 1
        ) as is_edited
    from revisions
    group by channel_id, message_id
),

joined as (
    select
        history.channel_id,
        history.message_id,
        history.posted_at,
        history.grouped_id,
        current_content.content_type,
        current_content.text_length,
        current_content.has_media,
        coalesce(current_content.is_forward, false) as is_forward,
        current_content.source_kind,
        history.is_edited,
        history.is_deleted,
        history.revisions
    from history
    inner join current_content
        on current_content.channel_id = history.channel_id
        and current_content.message_id = history.message_id
),

-- messages sharing a grouped_id in a channel are one album, keyed by its smallest message_id
final as (
    select
        *,
        case
            when grouped_id is null then message_id
            else min(message_id) over (partition by channel_id, grouped_id)
        end as post_message_id
    from joined
)

select * from final
