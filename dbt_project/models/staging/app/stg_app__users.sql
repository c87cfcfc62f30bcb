-- One row per app user (user_id): rename and cast only.
with source as (
    select * from {{ source('app', 'app_users') }}
),

final as (
    select
        cast(user_id as bigint) as user_id,
        cast(language as varchar) as language,
        cast(time_zone as varchar) as time_zone,
        cast(created_at as timestamp) as created_at
    from source
)

select * from final
