{#- Months in the trailing churn-rate mean that LTV falls back to (this month included). -#}
{%- set ltv_trailing_months = 6 -%}
{#- Lifetime cap of the last fallback, in months (3 years). -#}
{%- set ltv_cap_months = 36 -%}

-- One row per reporting month (month): MRR and its movements summed over customers, and the SaaS ratios of
-- docs/payments.md. MRR and customers are at the month's end (the next month's first instant); rates compare
-- with the month's start. Ratios are double precision, NULL when their denominator is 0.
with calendar as (
    select * from {{ ref('int_revenue_calendar') }}
),

mrr as (
    select * from {{ ref('fct_mrr_monthly') }}
),

monthly as (
    select
        month,
        cast(sum(mrr_start_usd) as {{ type_money() }}) as mrr_start_usd,
        cast(sum(mrr_end_usd) as {{ type_money() }}) as mrr_usd,
        cast(sum(new_usd) as {{ type_money() }}) as new_usd,
        cast(sum(expansion_usd) as {{ type_money() }}) as expansion_usd,
        cast(sum(contraction_usd) as {{ type_money() }}) as contraction_usd,
        cast(sum(churn_usd) as {{ type_money() }}) as churn_usd,
        cast(sum(reactivation_usd) as {{ type_money() }}) as reactivation_usd,
        cast(sum(fx_usd) as {{ type_money() }}) as fx_usd,
        count(case when mrr_start_usd > 0 then 1 end) as customers_start,
        count(case when mrr_end_usd > 0 then 1 end) as customers,
        count(case when new_usd > 0 then 1 end) as new_customers,
        count(case when reactivation_usd > 0 then 1 end) as reactivated_customers,
        count(case when churn_usd > 0 then 1 end) as churned_customers
    from mrr
    group by month
),

-- every calendar month, also those without any customer
filled as (
    select
        calendar.month_start as month,
        coalesce(monthly.mrr_start_usd, 0) as mrr_start_usd,
        coalesce(monthly.mrr_usd, 0) as mrr_usd,
        coalesce(monthly.new_usd, 0) as new_usd,
        coalesce(monthly.expansion_usd, 0) as expansion_usd,
        coalesce(monthly.contraction_usd, 0) as contraction_usd,
        coalesce(monthly.churn_usd, 0) as churn_usd,
        coalesce(monthly.reactivation_usd, 0) as reactivation_usd,
        coalesce(monthly.fx_usd, 0) as fx_usd,
        coalesce(monthly.customers_start, 0) as customers_start,
        coalesce(monthly.customers, 0) as customers,
        coalesce(monthly.new_customers, 0) as new_customers,
        coalesce(monthly.reactivated_customers, 0) as reactivated_customers,
        coalesce(monthly.churned_customers, 0) as churned_customers
    from calendar
    left join monthly on monthly.month = calendar.month_start
),

ratios as (
    select
        *,
        {{ safe_divide('mrr_usd', 'customers') }} as arpa_usd,
        {{ safe_divide('churned_customers', 'customers_start') }} as customer_churn_rate,
        {{ safe_divide('churn_usd + contraction_usd', 'mrr_start_usd') }} as gross_mrr_churn_rate,
        {{ safe_divide('churn_usd + contraction_usd - expansion_usd', 'mrr_start_usd') }} as net_mrr_churn_rate,
        {{ safe_divide('mrr_start_usd + expansion_usd - contraction_usd - churn_usd + fx_usd', 'mrr_start_usd') }}
            as nrr,
        {{ safe_divide('mrr_start_usd - contraction_usd - churn_usd', 'mrr_start_usd') }} as grr
    from filled
),

trailing_churn as (
    select
        *,
        {{ stable_float(
            'avg(customer_churn_rate) over (order by month rows between '
            ~ (ltv_trailing_months - 1) ~ ' preceding and current row)', 12
        ) }} as trailing_churn_rate
    from ratios
),

final as (
    select
        month,
        mrr_start_usd,
        mrr_usd,
        new_usd,
        expansion_usd,
        contraction_usd,
        churn_usd,
        reactivation_usd,
        fx_usd,
        customers_start,
        customers,
        new_customers,
        reactivated_customers,
        churned_customers,
        arpa_usd,
        customer_churn_rate,
        gross_mrr_churn_rate,
        net_mrr_churn_rate,
        nrr,
        grr,
        trailing_churn_rate,
        case
            when customer_churn_rate > 0 then arpa_usd / customer_churn_rate
            when trailing_churn_rate > 0 then arpa_usd / trailing_churn_rate
            else arpa_usd * {{ ltv_cap_months }}
        end as ltv_usd,
        cast(case
            when customer_churn_rate > 0 then 'monthly_churn'
            when trailing_churn_rate > 0 then 'trailing_{{ ltv_trailing_months }}m_churn'
            else 'lifetime_cap_{{ ltv_cap_months }}m'
        end as varchar) as ltv_basis
    from trailing_churn
)

select * from final
