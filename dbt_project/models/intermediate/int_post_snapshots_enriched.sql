{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='observed_date',
        on_schema_change='fail',
        indexes=([
            {'columns': ['observed_date']},
            {'columns': ['channel_id', 'message_id']},
        ] if target.type == 'postgres' else []),
    )
}}

{#- First UTC day to (re)process on an incremental run: the last day already loaded (it may have been partial),
    or the `snapshots_from` var for a backfill. A full build processes everything. -#}
{%- set window_start = incremental_window_start('observed_date') -%}

-- One row per post snapshot (channel_id, message_id, observed_at), with the post's age and the views gained
-- since the previous view-bearing snapshot of the same message (the origin is the posting time, 0 views).
with messages as (
    select channel_id, message_id, posted_at
    from {{ ref('int_post_messages_resolved') }}
),

-- the snapshots to process on this run
snapshots as (
    select channel_id, message_id, observed_at, views, forwards, replies, reactions
    from {{ ref('stg_telegram__post_snapshots') }}
    {% if is_incremental() %}
    where observed_at >= cast({{ window_start }} as timestamp)
    {% endif %}
),

{% if is_incremental() %}
-- earliest posting day among the messages seen again: their earlier snapshots cannot be older than that
oldest_touched_post as (
    select cast(min(messages.posted_at) as date) as posted_date
    from snapshots
    inner join messages
        on messages.channel_id = snapshots.channel_id
        and messages.message_id = snapshots.message_id
),

-- the last already-enriched view reading of each message seen again: the "previous" row of its first new snapshot
last_loaded as (
    select loaded.channel_id, loaded.message_id, max(loaded.observed_at) as observed_at
    from {{ this }} as loaded
    where loaded.observed_date < {{ window_start }}
        and loaded.observed_date >= (select posted_date from oldest_touched_post)
        and loaded.has_views
        and exists (
            select 1 from snapshots
            where snapshots.channel_id = loaded.channel_id and snapshots.message_id = loaded.message_id
        )
    group by loaded.channel_id, loaded.message_id
),

carried_readings as (
    select
        loaded.channel_id, loaded.message_id, loaded.observed_at, loaded.views, loaded.forwards,
        loaded.replies, loaded.reactions, true as is_carried
    from {{ this }} as loaded
    inner join last_loaded
        on last_loaded.channel_id = loaded.channel_id
        and last_loaded.message_id = loaded.message_id
        and last_loaded.observed_at = loaded.observed_at
    where loaded.observed_date >= (select posted_date from oldest_touched_post)
),
{% endif %}

readings as (
    select *, false as is_carried from snapshots
    {% if is_incremental() %}
    union all
    select * from carried_readings
    {% endif %}
),

-- the posting time anchors the age; a snapshot of an unknown message waits for its post row
with_post as (
    select
        readings.*,
        messages.posted_at,
        (readings.views is not null) as has_views
    from readings
    inner join messages
        on messages.channel_id = readings.channel_id
        and messages.message_id = readings.message_id
),

-- previous view reading of the same message (snapshots without views are sequenced apart and ignored)
sequenced as (
    select
        *,
        lag(observed_at) over by_message as previous_observed_at,
        lag(views) over by_message as previous_views
    from with_post
    window by_message as (partition by channel_id, message_id, has_views order by observed_at)
),

final as (
    select
        channel_id,
        message_id,
        observed_at,
        cast(observed_at as date) as observed_date,
        posted_at,
        {{ epoch_seconds('observed_at') }} - {{ epoch_seconds('posted_at') }} as age_seconds,
        views,
        forwards,
        replies,
        reactions,
        has_views,
        case when has_views then coalesce(previous_observed_at, posted_at) end as prev_observed_at,
        case
            when has_views then {{ epoch_seconds('coalesce(previous_observed_at, posted_at)') }}
                - {{ epoch_seconds('posted_at') }}
        end as prev_age_seconds,
        case when has_views then coalesce(previous_views, 0) end as prev_views,
        views - coalesce(previous_views, 0) as views_gained
    from sequenced
    where not is_carried
)

select * from final
