{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key=['channel_id', 'message_id'],
        on_schema_change='fail',
    )
}}

{#- Fixed post ages (TGStat's views_1h / views_24h / views_48h) and the tolerance for calling a value measured. -#}
{%- set ages = [('1h', 3600), ('24h', 86400), ('48h', 172800)] -%}
{%- set measured_within_seconds = 300 -%}

{%- set window_start = incremental_window_start('last_observed_date') -%}

-- One row per message with snapshots (channel_id, message_id): latest counters and views at 1 h / 24 h / 48 h,
-- linearly interpolated within the one enriched snapshot whose interval (prev_age, age] contains the age.
with enriched as (
    select * from {{ ref('int_post_snapshots_enriched') }}
),

{#- Normal incremental runs read only the new days' snapshots and merge them into the rows already here; a
    backfill (`snapshots_from`) recomputes the touched messages from all their snapshots instead. -#}
{%- set merge_into_this = is_incremental() and not var('snapshots_from', none) %}

{% if merge_into_this %}
-- the new days' snapshots: older enriched rows never change, so what they gave is already in this table
readings as (
    select * from enriched
    where observed_date >= {{ window_start }}
),
{% elif is_incremental() %}
-- backfill: messages with a snapshot from the given day on, recomputed from all their snapshots
touched as (
    select channel_id, message_id, min(posted_at) as posted_at
    from enriched
    where observed_date >= {{ window_start }}
    group by channel_id, message_id
),

readings as (
    select enriched.*
    from enriched
    inner join touched
        on touched.channel_id = enriched.channel_id
        and touched.message_id = enriched.message_id
    where enriched.observed_date >= (select cast(min(posted_at) as date) from touched)
),
{% else %}
readings as (
    select * from enriched
),
{% endif %}

-- newest snapshot first for the counters; newest view-bearing snapshot first for views (a read that came
-- back without views does not erase the last known count)
ranked_readings as (
    select
        *,
        row_number() over (partition by channel_id, message_id order by observed_at desc) as recency,
        row_number() over (
            partition by channel_id, message_id order by has_views desc, observed_at desc
        ) as views_recency
    from readings
),

latest_views as (
    select channel_id, message_id, views as views_latest
    from ranked_readings
    where views_recency = 1
),

latest as (
    select
        ranked_readings.channel_id,
        ranked_readings.message_id,
        ranked_readings.posted_at,
        latest_views.views_latest,
        ranked_readings.forwards as forwards_latest,
        ranked_readings.replies as replies_latest,
        ranked_readings.reactions as reactions_latest
    from ranked_readings
    inner join latest_views
        on latest_views.channel_id = ranked_readings.channel_id
        and latest_views.message_id = ranked_readings.message_id
    where ranked_readings.recency = 1
),

dated_readings as (
    select
        *,
        observed_date = max(observed_date) over (partition by channel_id, message_id) as is_on_last_date
    from readings
),

counts as (
    select
        channel_id,
        message_id,
        count(*) as snapshots,
        min(observed_at) as first_observed_at,
        max(observed_at) as last_observed_at,
        max(observed_date) as last_observed_date,
        sum(case when is_on_last_date then 1 else 0 end) as snapshots_on_last_date
    from dated_readings
    group by channel_id, message_id
),

{% for label, seconds in ages %}
-- views at {{ label }}: the snapshot interval (prev_age, age] containing {{ seconds }} s, interpolated linearly
at_{{ label }} as (
    select
        channel_id,
        message_id,
        cast(prev_views as {{ type_double() }})
            + cast(views_gained as {{ type_double() }})
            * ({{ seconds }} - prev_age_seconds) / (age_seconds - prev_age_seconds) as views_at_age,
        cast(case
            when age_seconds - {{ seconds }} <= {{ measured_within_seconds }}
                or {{ seconds }} - prev_age_seconds <= {{ measured_within_seconds }}
                then 'measured'
            else 'interpolated'
        end as varchar) as coverage
    from readings
    where has_views
        and prev_age_seconds < {{ seconds }}
        and age_seconds >= {{ seconds }}
),

{% endfor %}
computed as (
    select
        latest.channel_id,
        latest.message_id,
        latest.posted_at,
        cast(counts.snapshots as bigint) as snapshots,
        cast(counts.snapshots_on_last_date as bigint) as snapshots_on_last_date,
        counts.first_observed_at,
        counts.last_observed_at,
        counts.last_observed_date,
        latest.views_latest,
        latest.forwards_latest,
        latest.replies_latest,
        latest.reactions_latest,
        {% for label, seconds in ages %}
        at_{{ label }}.views_at_age as views_{{ label }},
        at_{{ label }}.coverage as views_{{ label }}_coverage{{ ',' if not loop.last }}
        {% endfor %}
    from latest
    inner join counts
        on counts.channel_id = latest.channel_id and counts.message_id = latest.message_id
    {% for label, seconds in ages %}
    left join at_{{ label }}
        on at_{{ label }}.channel_id = latest.channel_id and at_{{ label }}.message_id = latest.message_id
    {% endfor %}
),

{% if merge_into_this %}
-- what the new days change, on top of each message's row so far: counts add up (minus the re-read last
-- day), the newest reading gives the counters, a bracket found now replaces nothing (it was not found before)
merged as (
    select
        computed.channel_id,
        computed.message_id,
        computed.posted_at,
        computed.snapshots + coalesce(
            previous.snapshots
            - case when previous.last_observed_date >= {{ window_start }} then previous.snapshots_on_last_date else 0 end,
            0
        ) as snapshots,
        computed.snapshots_on_last_date,
        case
            when previous.first_observed_at < computed.first_observed_at then previous.first_observed_at
            else computed.first_observed_at
        end as first_observed_at,
        computed.last_observed_at,
        computed.last_observed_date,
        coalesce(computed.views_latest, previous.views_latest) as views_latest,
        computed.forwards_latest,
        computed.replies_latest,
        computed.reactions_latest,
        {% for label, seconds in ages %}
        coalesce(computed.views_{{ label }}, previous.views_{{ label }}) as views_{{ label }},
        case
            when computed.views_{{ label }}_coverage is not null then computed.views_{{ label }}_coverage
            when previous.views_{{ label }}_coverage <> 'unavailable' then previous.views_{{ label }}_coverage
        end as views_{{ label }}_coverage{{ ',' if not loop.last }}
        {% endfor %}
    from computed
    left join {{ this }} as previous
        on previous.channel_id = computed.channel_id and previous.message_id = computed.message_id
),
{% else %}
merged as (
    select * from computed
),
{% endif %}

final as (
    select
        channel_id,
        message_id,
        posted_at,
        snapshots,
        snapshots_on_last_date,
        first_observed_at,
        last_observed_at,
        last_observed_date,
        views_latest,
        forwards_latest,
        replies_latest,
        reactions_latest,
        {% for label, seconds in ages %}
        views_{{ label }},
        cast(coalesce(views_{{ label }}_coverage, 'unavailable') as varchar) as views_{{ label }}_coverage{{ ',' if not loop.last }}
        {% endfor %}
    from merged
)

select * from final
