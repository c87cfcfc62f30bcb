-- One row per counter read of a message (channel_id, message_id, observed_at): rename and cast only.
with source as (
    select * from {{ source('telegram', 'telegram_post_snapshots') }}
),

final as (
    select
        cast(channel_id as bigint) as channel_id,
        cast(message_id as bigint) as message_id,
        cast(observed_at as timestamp) as observed_at,
        cast(views as bigint) as views,
        cast(forwards as bigint) as forwards,
        cast(replies as bigint) as replies,
        cast(reactions as bigint) as reactions,
        cast(reactions_by_emoji as varchar) as reactions_by_emoji
    from source
)

select * from final
