-- One row per user and UTC day with any product use (user_id, activity_date). customer_id is the revenue marts'
-- key for the same person (tg:<user id>), so usage joins to payments without a mapping table.
with activity as (
    select * from {{ ref('stg_app__user_activity_daily') }}
),

final as (
    select
        user_id,
        cast('tg:' || cast(user_id as varchar) as varchar) as customer_id,
        activity_date,
        bot_commands,
        miniapp_opens,
        reports_viewed,
        bot_commands + miniapp_opens + reports_viewed as events
    from activity
)

select * from final
