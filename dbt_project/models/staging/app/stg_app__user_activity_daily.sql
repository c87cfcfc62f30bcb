-- One row per user and UTC day with any product use (user_id, activity_date): rename and cast only.
with source as (
    select * from {{ source('app', 'app_user_activity_daily') }}
),

final as (
    select
        cast(user_id as bigint) as user_id,
        cast(activity_date as date) as activity_date,
        cast(bot_commands as integer) as bot_commands,
        cast(miniapp_opens as integer) as miniapp_opens,
        cast(reports_viewed as integer) as reports_viewed
    from source
)

select * from final
