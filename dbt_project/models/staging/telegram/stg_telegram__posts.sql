-- One row per revision of a message (channel_id, message_id, revision_at): rename and cast only.
with source as (
    select * from {{ source('telegram', 'telegram_posts') }}
),

final as (
    select
        cast(channel_id as bigint) as channel_id,
        cast(message_id as bigint) as message_id,
        cast(revision_at as timestamp) as revision_at,
        cast(grouped_id as bigint) as grouped_id,
        cast(posted_at as timestamp) as posted_at,
        cast(edited_at as timestamp) as edited_at,
        coalesce(cast(deleted as boolean), false) as is_deleted,
        cast(content_type as varchar) as content_type,
        cast(text_length as integer) as text_length,
        cast(has_media as boolean) as has_media,
        cast(is_forward as boolean) as is_forward,
        cast(source_kind as varchar) as source_kind
    from source
)

select * from final
