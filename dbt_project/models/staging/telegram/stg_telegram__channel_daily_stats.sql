-- One row per channel and statistics day (channel_id, stats_date): rename and cast only.
with source as (
    select * from {{ source('telegram', 'telegram_channel_daily_stats') }}
),

final as (
    select
        cast(channel_id as bigint) as channel_id,
        cast(day as date) as stats_date,
        cast(joins as bigint) as joins,
        cast(leaves as bigint) as leaves,
        cast(observed_at as timestamp) as observed_at
    from source
)

select * from final
