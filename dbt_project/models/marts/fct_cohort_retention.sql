{#- Longest cohort age reported, in months. -#}
{%- set max_months = 1200 -%}

-- One row per cohort month and month since the cohort's first payment (cohort_month, months_since_first):
-- a customer's cohort is the month of their first charge; a customer is retained in a month when they have MRR
-- at its end (the next month's first instant; the as-of instant in the as-of month, as in fct_mrr_monthly).
-- Ages run to the as-of month.
with payments as (
    select * from {{ ref('fct_payments') }}
    where movement_type = 'charge' and customer_id is not null
),

mrr as (
    select * from {{ ref('fct_mrr_monthly') }}
),

as_of as (
    select cast({{ dbt.date_trunc('month', dbt.dateadd('microsecond', -1, revenue_as_of())) }} as date) as as_of_month
),

cohorts as (
    select customer_id, cast({{ dbt.date_trunc('month', 'min(occurred_at)') }} as date) as cohort_month
    from payments
    group by customer_id
),

cohort_sizes as (
    select cohort_month, count(*) as customers
    from cohorts
    group by cohort_month
),

ages as (
    select
        cohort_sizes.cohort_month,
        cohort_sizes.customers,
        integers.i as months_since_first,
        cast({{ dbt.dateadd('month', 'integers.i', 'cohort_sizes.cohort_month') }} as date) as month
    from cohort_sizes
    cross join as_of
    inner join {{ integers_upto(max_months) }} as integers
        on integers.i <= cast(
            (extract(year from as_of.as_of_month) - extract(year from cohort_sizes.cohort_month)) * 12
            + extract(month from as_of.as_of_month) - extract(month from cohort_sizes.cohort_month)
        as integer)
),

retained as (
    select
        cohorts.cohort_month,
        mrr.month,
        count(case when mrr.mrr_end_usd > 0 then 1 end) as retained_customers,
        cast(sum(mrr.mrr_end_usd) as {{ type_money() }}) as mrr_usd
    from cohorts
    inner join mrr on mrr.customer_id = cohorts.customer_id and mrr.month >= cohorts.cohort_month
    group by cohorts.cohort_month, mrr.month
),

joined as (
    select
        ages.cohort_month,
        ages.months_since_first,
        ages.month,
        ages.customers,
        coalesce(retained.retained_customers, 0) as retained_customers,
        coalesce(retained.mrr_usd, cast(0 as {{ type_money() }})) as mrr_usd
    from ages
    left join retained on retained.cohort_month = ages.cohort_month and retained.month = ages.month
),

final as (
    select
        cohort_month,
        months_since_first,
        month,
        customers,
        retained_customers,
        mrr_usd,
        {{ safe_divide('retained_customers', 'customers') }} as customer_retention_rate,
        {{ safe_divide(
            'mrr_usd',
            'first_value(mrr_usd) over (partition by cohort_month order by months_since_first)'
        ) }} as mrr_retention_rate
    from joined
)

select * from final
