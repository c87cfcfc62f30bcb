-- One row per subscriber count read (channel_id, observed_at): rename and cast only.
with source as (
    select * from {{ source('telegram', 'telegram_channel_snapshots') }}
),

final as (
    select
        cast(channel_id as bigint) as channel_id,
        cast(observed_at as timestamp) as observed_at,
        cast(subscribers as bigint) as subscribers
    from source
)

select * from final
