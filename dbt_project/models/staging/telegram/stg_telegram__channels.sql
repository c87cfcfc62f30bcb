-- One row per observation of a channel (channel_id, observed_at): rename and cast only.
with source as (
    select * from {{ source('telegram', 'telegram_channels') }}
),

final as (
    select
        cast(channel_id as bigint) as channel_id,
        cast(observed_at as timestamp) as observed_at,
        cast(source_kind as varchar) as source_kind,
        cast(title as varchar) as title,
        cast(username as varchar) as username,
        cast(status as varchar) as status,
        cast(status_reason as varchar) as status_reason
    from source
)

select * from final
