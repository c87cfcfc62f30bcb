-- One row per refused record (source, channel_ref, record_key, reason): rename and cast only.
with source as (
    select * from {{ source('telegram', 'rejected_records') }}
),

final as (
    select
        cast(source as varchar) as source_name,
        cast(channel_ref as varchar) as channel_ref,
        cast(record_key as varchar) as record_key,
        cast(reason as varchar) as reason,
        cast(payload as varchar) as payload,
        cast(rejected_at as timestamp) as rejected_at
    from source
)

select * from final
