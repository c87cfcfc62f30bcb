-- One row per known channel: latest Telegram facts, the app registration, and the display time zone.
with telegram_observations as (
    select * from {{ ref('stg_telegram__channels') }}
),

app_channels as (
    select * from {{ ref('stg_app__channels') }}
),

app_users as (
    select * from {{ ref('stg_app__users') }}
),

posts as (
    select * from {{ ref('stg_telegram__posts') }}
),

-- newest observation first: title, username and status as Telegram says them now
ranked_observations as (
    select
        *,
        row_number() over (partition by channel_id order by observed_at desc) as recency
    from telegram_observations
),

telegram_latest as (
    select * from ranked_observations where recency = 1
),

-- a channel is known if the app registered it or any raw table mentions it
channel_ids as (
    select channel_id from app_channels
    union
    select channel_id from telegram_latest
    union
    select distinct channel_id from posts
),

-- the source kind of the posts, for channels neither table describes
post_sources as (
    select channel_id, max(source_kind) as source_kind
    from posts
    group by channel_id
),

final as (
    select
        ids.channel_id,
        coalesce(tg.title, app.title) as title,
        coalesce(tg.username, app.username) as username,
        app.owner_user_id,
        app.registered_at,
        cast(coalesce(
            nullif(trim(usr.time_zone), ''), nullif(trim(app.time_zone), ''), 'UTC'
        ) as varchar) as time_zone,
        coalesce(app.source_kind, tg.source_kind, ps.source_kind) as source_kind,
        tg.status,
        (coalesce(app.is_active, true) and coalesce(tg.status, 'active') = 'active') as is_active,
        (coalesce(app.source_kind, tg.source_kind, ps.source_kind, '') <> 'export') as reach_available
    from channel_ids as ids
    left join telegram_latest as tg on tg.channel_id = ids.channel_id
    left join app_channels as app on app.channel_id = ids.channel_id
    left join app_users as usr on usr.user_id = app.owner_user_id
    left join post_sources as ps on ps.channel_id = ids.channel_id
)

select * from final
