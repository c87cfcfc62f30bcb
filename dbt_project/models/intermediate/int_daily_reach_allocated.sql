{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='observed_date',
        on_schema_change='fail',
    )
}}

{#- Longest snapshot gap (in local days) that is split across days; 20 years covers any Telegram history. -#}
{%- set max_span_days = 7300 -%}

{%- set window_start = incremental_window_start('observed_date') -%}

-- One row per channel, local day and UTC day of the readings that produced it (channel_id, reach_date,
-- observed_date): the views gained on reach_date by the snapshot intervals ending on observed_date. Every
-- interval (prev_observed_at, observed_at] is spread over the local days it covers in proportion to time (the
-- views curve is linear between snapshots). Summing over observed_date gives the day's reach.
with channels as (
    select channel_id, time_zone from {{ ref('int_channels_resolved') }}
),

-- one curve per post: a single message, or an album's key message (its smallest message_id)
post_keys as (
    select channel_id, message_id
    from {{ ref('int_post_messages_resolved') }}
    where message_id = post_message_id
),

-- the view readings to allocate on this run: the same UTC days int_post_snapshots_enriched just (re)wrote
readings as (
    select channel_id, message_id, observed_at, observed_date, prev_observed_at, views_gained
    from {{ ref('int_post_snapshots_enriched') }}
    where has_views
    {% if is_incremental() %}
        and observed_date >= {{ window_start }}
    {% endif %}
),

-- each interval with its local start and end day in the channel's display time zone
intervals as (
    select
        readings.channel_id,
        readings.observed_date,
        channels.time_zone,
        readings.prev_observed_at as started_at,
        readings.observed_at as ended_at,
        cast(readings.views_gained as {{ type_double() }}) as views_gained,
        cast({{ to_local_ts('readings.prev_observed_at', 'channels.time_zone') }} as date) as first_day,
        cast({{ to_local_ts('readings.observed_at', 'channels.time_zone') }} as date) as last_day
    from readings
    inner join post_keys
        on post_keys.channel_id = readings.channel_id and post_keys.message_id = readings.message_id
    inner join channels on channels.channel_id = readings.channel_id
),

-- day offsets 0..span for every span that occurs (an equi-join key instead of a range join)
spans as (
    select distinct {{ days_between('first_day', 'last_day') }} as span
    from intervals
    where last_day > first_day
),

day_offsets as (
    select spans.span, integers.i as day_offset
    from spans
    inner join {{ integers_upto(max_span_days) }} as integers on integers.i <= spans.span
),

-- an interval across local midnight: one piece per local day, with that day's bounds in UTC
split_days as (
    select
        intervals.*,
        intervals.first_day + day_offsets.day_offset as reach_date,
        {{ from_local_ts('cast(intervals.first_day + day_offsets.day_offset as timestamp)', 'intervals.time_zone') }}
            as day_start_at,
        {{ from_local_ts('cast(intervals.first_day + day_offsets.day_offset + 1 as timestamp)', 'intervals.time_zone') }}
            as day_end_at
    from intervals
    inner join day_offsets
        on day_offsets.span = {{ days_between('intervals.first_day', 'intervals.last_day') }}
    where intervals.last_day > intervals.first_day
),

pieces as (
    -- within one local day (nearly all intervals): the whole gain goes to that day
    select channel_id, observed_date, first_day as reach_date, views_gained
    from intervals
    where last_day <= first_day

    union all

    -- across midnight: the share of the gain proportional to the time spent in the day
    select
        channel_id,
        observed_date,
        reach_date,
        views_gained
            * (
                least({{ epoch_seconds('ended_at') }}, {{ epoch_seconds('day_end_at') }})
                - greatest({{ epoch_seconds('started_at') }}, {{ epoch_seconds('day_start_at') }})
            )
            / ({{ epoch_seconds('ended_at') }} - {{ epoch_seconds('started_at') }}) as views_gained
    from split_days
),

final as (
    select
        channel_id,
        reach_date,
        observed_date,
        {{ stable_float('sum(views_gained)', 6) }} as daily_reach
    from pieces
    group by channel_id, reach_date, observed_date
)

select * from final
