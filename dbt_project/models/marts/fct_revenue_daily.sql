-- One row per UTC day, gateway and plan with money movements (payment_date, gateway, plan_code; plan_code NULL
-- for charges tied to no plan): cash revenue in USD at each payment's day rate. net = gross - refunds -
-- disputes. Days without movements have no row.
with payments as (
    select * from {{ ref('fct_payments') }}
),

final as (
    select
        payment_date as revenue_date,
        cast(gateway as varchar) as gateway,
        cast(plan_code as varchar) as plan_code,
        count(case when movement_type = 'charge' then 1 end) as charges,
        cast(sum(case when movement_type = 'charge' then amount_usd else 0 end) as {{ type_money() }}) as gross_usd,
        count(case when movement_type = 'refund' then 1 end) as refunds,
        cast(sum(case when movement_type = 'refund' then amount_usd else 0 end) as {{ type_money() }}) as refunds_usd,
        count(case when movement_type = 'dispute' then 1 end) as disputes,
        cast(sum(case when movement_type = 'dispute' then amount_usd else 0 end) as {{ type_money() }}) as disputes_usd,
        cast(sum(signed_amount_usd) as {{ type_money() }}) as net_usd
    from payments
    group by payment_date, gateway, plan_code
)

select * from final
