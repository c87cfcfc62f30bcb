-- One row per day and currency with a published rate (rate_date, currency): rename and cast only.
with source as (
    select * from {{ source('fx', 'fx_rates_daily') }}
),

final as (
    select
        cast(rate_date as date) as rate_date,
        upper(cast(currency as varchar)) as currency,
        cast(usd_per_unit as {{ type_double() }}) as usd_per_unit,
        cast(source as varchar) as rate_source
    from source
)

select * from final
