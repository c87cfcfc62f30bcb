{#- Days a rate is carried beyond the last published day and before the first one. -#}
{%- set carry_days = 3650 -%}

-- One row per calendar day and currency (rate_date, currency), gaps filled: the latest rate published on or
-- before the day; before the first published day, the first rate. Lookups are then a plain equi-join, which
-- both engines do in one hash join (an as-of range join on 1M payments was the slow part otherwise).
with rates as (
    select * from {{ ref('stg_fx__rates') }}
    where usd_per_unit is not null
),

-- each published rate holds until the day before the next one
spans as (
    select
        currency,
        rate_date as published_date,
        usd_per_unit,
        case
            when row_number() over (partition by currency order by rate_date) = 1 then rate_date - {{ carry_days }}
            else rate_date
        end as from_day,
        coalesce(
            lead(rate_date) over (partition by currency order by rate_date) - 1,
            rate_date + {{ carry_days }}
        ) as to_day
    from rates
),

final as (
    select
        cast(spans.from_day + integers.i as date) as rate_date,
        spans.currency,
        spans.usd_per_unit,
        spans.published_date
    from spans
    inner join {{ integers_upto(carry_days * 4) }} as integers
        on integers.i <= {{ days_between('spans.from_day', 'spans.to_day') }}
)

select * from final
