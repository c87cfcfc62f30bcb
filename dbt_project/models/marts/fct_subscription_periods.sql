-- One row per paid service period (period_id) of a customer, across gateways: Stripe subscription invoice lines
-- of paid invoices, Payme and Click payments ([paid_at, paid_at + interval_months)). amount_usd converts at the
-- rate of the period's first day, like MRR.
with periods as (
    select * from {{ ref('int_paid_periods') }}
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
),

final as (
    select
        cast(periods.period_id as varchar) as period_id,
        cast(periods.customer_id as varchar) as customer_id,
        cast(periods.gateway as varchar) as gateway,
        cast(periods.subscription_id as varchar) as subscription_id,
        cast(periods.plan_code as varchar) as plan_code,
        periods.period_start,
        periods.period_end,
        periods.is_proration,
        cast(periods.currency as varchar) as currency,
        {{ cents_to_money('periods.amount') }} as amount,
        {{ cents_to_money(to_usd_units('periods.amount', usd_per_unit('periods.currency', 'fx.usd_per_unit'))) }}
            as amount_usd,
        periods.paid_at,
        cast(periods.payment_ref as varchar) as payment_ref
    from periods
    left join fx on fx.rate_date = cast(periods.period_start as date) and fx.currency = periods.currency
)

select * from final
