{#- Longest history the calendar spans, in months. -#}
{%- set max_months = 1200 -%}

-- One row per reporting month (month_start): from the first month with any MRR to the as-of month - the month
-- of the as-of instant: the newest ledger row, or the `revenue_as_of` var (`--vars '{revenue_as_of:
-- "2025-07-01"}'` reports up to the end of June). A month's MRR movements compare MRR at instant_start (its
-- first instant) with MRR at instant_end (the next month's first instant; for the as-of month, the as-of
-- instant, month to date: a Payme period that lapses after it has not churned yet). The first month is the
-- one whose instant_end is the first instant at or after the earliest MRR. Empty when the ledger is.
with mrr_starts as (
    select valid_from as mrr_from
    from {{ ref('int_stripe_subscription_snapshots') }}
    where is_mrr_bearing and gross_micros > 0 and mrr_until > valid_from
    union all
    select period_start as mrr_from
    from {{ ref('int_paid_periods') }}
    where gateway in ('payme', 'click')
),

bounds as (
    select
        min(mrr_from) as first_mrr_at,
        {{ revenue_as_of() }} as as_of
    from mrr_starts
),

-- the first month start at or after the earliest MRR, and the month before it
first_month as (
    select
        cast({{ dbt.dateadd(
            'month', -1,
            "case when " ~ dbt.date_trunc('month', 'first_mrr_at') ~ " = first_mrr_at then first_mrr_at else "
            ~ dbt.dateadd('month', 1, dbt.date_trunc('month', 'first_mrr_at')) ~ " end"
        ) }} as timestamp) as month_start,
        -- an as-of at a month's first instant closes the month before it
        cast({{ dbt.date_trunc('month', dbt.dateadd('microsecond', -1, 'as_of')) }} as timestamp) as as_of_month,
        as_of
    from bounds
    where first_mrr_at is not null and as_of is not null
),

spans as (
    select
        month_start,
        as_of,
        cast(
            (extract(year from as_of_month) - extract(year from month_start)) * 12
            + extract(month from as_of_month) - extract(month from month_start)
        as integer) as months
    from first_month
),

final as (
    select
        cast({{ dbt.dateadd('month', 'integers.i', 'spans.month_start') }} as date) as month_start,
        cast({{ dbt.dateadd('month', 'integers.i', 'spans.month_start') }} as timestamp) as instant_start,
        -- the as-of month ends at the as-of instant: MRR there is known, the next month's is not yet
        case
            when integers.i = spans.months then spans.as_of
            else cast({{ dbt.dateadd('month', 'integers.i + 1', 'spans.month_start') }} as timestamp)
        end as instant_end,
        integers.i as month_index,
        spans.as_of
    from spans
    inner join {{ integers_upto(max_months) }} as integers on integers.i <= spans.months
)

select * from final
