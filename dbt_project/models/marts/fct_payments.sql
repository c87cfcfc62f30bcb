-- One row per money movement (payment_id) on any gateway: charges, refunds, disputes. amount is the positive
-- size in the payment's currency; amount_usd converts it at the rate of the payment's day (cash, unlike MRR,
-- which uses the service period's start); signed_amount_usd is negative for refunds and disputes.
with stripe as (
    select * from {{ ref('int_stripe_payments') }}
),

payme as (
    select * from {{ ref('stg_payments__payme_transactions') }}
    where state in (2, -2) and performed_at is not null
),

click as (
    select * from {{ ref('stg_payments__click_transactions') }}
    where status = 'completed' and completed_at is not null
),

periods as (
    select * from {{ ref('int_paid_periods') }}
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
),

movements as (
    select
        payment_id, movement_type, 'stripe' as gateway, customer_id, plan_code, currency, amount, occurred_at,
        period_start, period_end, charge_id, invoice_id, subscription_id
    from stripe
    union all
    -- a performed Payme transaction is a charge; cancelled after perform (-2) it is refunded in full
    select
        'payme:' || payme.payme_id, 'charge', 'payme', 'tg:' || cast(payme.user_id as varchar), payme.plan_code,
        payme.currency, payme.amount_tiyin, payme.performed_at, periods.period_start, periods.period_end,
        'payme:' || payme.payme_id, cast(null as varchar), cast(null as varchar)
    from payme
    left join periods on periods.period_id = 'payme:' || payme.payme_id
    union all
    select
        'payme:' || payme.payme_id || ':refund', 'refund', 'payme', 'tg:' || cast(payme.user_id as varchar),
        payme.plan_code, payme.currency, payme.amount_tiyin, payme.cancelled_at, periods.period_start,
        periods.period_end, 'payme:' || payme.payme_id, cast(null as varchar), cast(null as varchar)
    from payme
    left join periods on periods.period_id = 'payme:' || payme.payme_id
    where payme.state = -2 and payme.cancelled_at is not null
    union all
    select
        'click:' || click.click_trans_id, 'charge', 'click', 'tg:' || cast(click.user_id as varchar),
        click.plan_code, click.currency, click.amount_tiyin, click.completed_at, periods.period_start,
        periods.period_end, 'click:' || click.click_trans_id, cast(null as varchar), cast(null as varchar)
    from click
    left join periods on periods.period_id = 'click:' || click.click_trans_id
),

converted as (
    select
        movements.*,
        {{ usd_per_unit('movements.currency', 'fx.usd_per_unit') }} as usd_per_unit
    from movements
    left join fx on fx.rate_date = cast(movements.occurred_at as date) and fx.currency = movements.currency
),

final as (
    select
        cast(payment_id as varchar) as payment_id,
        cast(movement_type as varchar) as movement_type,
        cast(gateway as varchar) as gateway,
        cast(customer_id as varchar) as customer_id,
        cast(plan_code as varchar) as plan_code,
        cast(currency as varchar) as currency,
        {{ cents_to_money('amount') }} as amount,
        {{ cents_to_money(to_usd_units('amount', 'usd_per_unit')) }} as amount_usd,
        {{ cents_to_money(
            "case when movement_type = 'charge' then 1 else -1 end * " ~ to_usd_units('amount', 'usd_per_unit')
        ) }} as signed_amount_usd,
        usd_per_unit,
        occurred_at,
        cast(occurred_at as date) as payment_date,
        period_start,
        period_end,
        cast(charge_id as varchar) as charge_id,
        cast(invoice_id as varchar) as invoice_id,
        cast(subscription_id as varchar) as subscription_id
    from converted
)

select * from final
