{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['channel_id', 'message_id', 'age_hours'],
        on_schema_change='fail',
        indexes=([{'columns': ['channel_id', 'message_id']}] if target.type == 'postgres' else []),
    )
}}

{#- The ages of a decay curve, in hours: dense while a post gathers most of its views, then daily to monthly. -#}
{%- set ages_hours = [1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720] -%}
{%- set window_start = incremental_window_start('observed_date') -%}

-- One row per message and fixed age (channel_id, message_id, age_hours): its views at that age, interpolated
-- linearly inside the one view-bearing snapshot interval (prev_age, age] that contains it, as views_1h/24h/48h
-- are. An age the message has not reached yet, or that no later snapshot brackets, has no row. An album's post
-- (fct_posts, keyed by its first message) has the curve of its first message.
with ages as (
    {% for hours in ages_hours %}
    select {{ hours }} as age_hours{{ ' union all' if not loop.last }}
    {% endfor %}
),

readings as (
    select channel_id, message_id, observed_date, age_seconds, prev_age_seconds, prev_views, views_gained
    from {{ ref('int_post_snapshots_enriched') }}
    where has_views
    {% if is_incremental() %}
        -- the days the enriched snapshots re-processed: an interval found now replaces the one stored
        and observed_date >= {{ window_start }}
    {% endif %}
),

final as (
    select
        readings.channel_id,
        readings.message_id,
        cast(ages.age_hours as integer) as age_hours,
        {{ stable_float(
            'cast(readings.prev_views as ' ~ type_double() ~ ') + cast(readings.views_gained as ' ~ type_double()
            ~ ') * (ages.age_hours * 3600 - readings.prev_age_seconds) / (readings.age_seconds - readings.prev_age_seconds)',
            6) }} as views,
        readings.observed_date
    from readings
    inner join ages
        on readings.prev_age_seconds < ages.age_hours * 3600
        and readings.age_seconds >= ages.age_hours * 3600
)

select * from final
