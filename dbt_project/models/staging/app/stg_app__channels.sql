-- One row per channel registered in the app (channel_id): rename and cast only.
with source as (
    select * from {{ source('app', 'app_channels') }}
),

final as (
    select
        cast(channel_id as bigint) as channel_id,
        cast(owner_user_id as bigint) as owner_user_id,
        cast(title as varchar) as title,
        cast(username as varchar) as username,
        cast(source_kind as varchar) as source_kind,
        cast(time_zone as varchar) as time_zone,
        cast(active as boolean) as is_active,
        cast(registered_at as timestamp) as registered_at
    from source
)

select * from final
