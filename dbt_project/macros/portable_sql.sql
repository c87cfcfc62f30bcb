{#- Small portable SQL helpers. DuckDB and PostgreSQL agree on `AT TIME ZONE` for naive timestamps, so the time
    zone macros need no dispatch; epoch extraction returns DOUBLE on DuckDB but NUMERIC on PostgreSQL, so it does. -#}

{#- The floating type used for every ratio and interpolated value. Not dbt.type_float(): on DuckDB that is
    FLOAT (4 bytes), which would make the engines disagree from the 7th digit. -#}
{% macro type_double() -%}
    double precision
{%- endmacro %}

{#- a / b as double precision, NULL when b is NULL or 0 (never a division error, never integer division). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as {{ type_double() }}) / nullif(cast({{ denominator }} as {{ type_double() }}), 0))
{%- endmacro %}

{#- Naive UTC timestamp -> naive local wall-clock timestamp in IANA zone `tz` (a column or a quoted literal). -#}
{% macro to_local_ts(ts, tz) -%}
    (({{ ts }}) at time zone 'UTC') at time zone ({{ tz }})
{%- endmacro %}

{#- Naive local wall-clock timestamp in zone `tz` -> naive UTC timestamp (inverse of to_local_ts). -#}
{% macro from_local_ts(local_ts, tz) -%}
    (({{ local_ts }}) at time zone ({{ tz }})) at time zone 'UTC'
{%- endmacro %}

{#- Seconds since 1970-01-01 of a naive timestamp, as double precision (microseconds kept). -#}
{% macro epoch_seconds(ts) -%}
    {{ return(adapter.dispatch('epoch_seconds', 'analyticbot')(ts)) }}
{%- endmacro %}

{% macro default__epoch_seconds(ts) -%}
    cast(extract(epoch from {{ ts }}) as {{ type_double() }})
{%- endmacro %}

{% macro duckdb__epoch_seconds(ts) -%}
    cast(epoch({{ ts }}) as {{ type_double() }})
{%- endmacro %}

{#- Whole days from date a to date b (b - a). Date subtraction is BIGINT on DuckDB, INTEGER on PostgreSQL. -#}
{% macro days_between(a, b) -%}
    cast(({{ b }}) - ({{ a }}) as integer)
{%- endmacro %}

{#- Weekday with Monday = 0 .. Sunday = 6. extract(dow) is Sunday = 0 on both engines, so use isodow - 1. -#}
{% macro weekday_monday0(ts) -%}
    (cast(extract(isodow from {{ ts }}) as integer) - 1)
{%- endmacro %}

{% macro hour_of(ts) -%}
    cast(extract(hour from {{ ts }}) as integer)
{%- endmacro %}

{#- Integers 0..n as a relation with one column `i`: a table function with the same syntax on both engines. -#}
{% macro integers_upto(n) -%}
    (select cast(i as integer) as i from generate_series(0, {{ n }}) as integers(i))
{%- endmacro %}

{#- A float aggregate rounded so a re-run gives the same bits: DuckDB sums doubles in parallel, in an order
    that varies between runs, which moved the last bit of daily_reach on re-runs. `digits` far beyond what the
    metric can mean (views: 6, ratios: 9), so rounding never changes a shown value. -#}
{% macro stable_float(expr, digits) -%}
    cast(round(cast({{ expr }} as numeric(38, 12)), {{ digits }}) as {{ type_double() }})
{%- endmacro %}

{#- First UTC day an incremental snapshot model (re)processes: the last day already loaded (it may have been
    partial), or the `snapshots_from` var for a backfill (`--vars '{snapshots_from: 2026-07-01}'`). -#}
{% macro incremental_window_start(date_column='observed_date') -%}
    {%- if var('snapshots_from', none) -%}
        cast('{{ var("snapshots_from") }}' as date)
    {%- else -%}
        (select coalesce(max({{ date_column }}), cast('1900-01-01' as date)) from {{ this }})
    {%- endif -%}
{%- endmacro %}
