-- One row per paid service period (period_id), across gateways:
--   stripe: each subscription line with a positive amount of a paid invoice (its line period; a proration line
--     covers the rest of the period at the new price). Trial lines are 0 and credit lines negative: neither
--     is a paid period.
--   payme: a performed transaction (state 2, or -2 = refunded later) buys one period of its plan from
--     perform_time: [paid_at, paid_at + interval_months).
--   click: a completed transaction, the same from completed_at.
-- amount is in minor units of `currency` (cents, tiyin).
with invoices as (
    select * from {{ ref('int_stripe_invoices_resolved') }}
),

lines as (
    select * from {{ ref('stg_payments__stripe_invoice_lines') }}
),

plans as (
    select * from {{ ref('stg_app__plans') }}
),

stripe_periods as (
    select
        'stripe:' || lines.invoice_id || ':' || lines.line_id as period_id,
        'stripe' as gateway,
        invoices.customer_id,
        coalesce(lines.subscription_id, invoices.subscription_id) as subscription_id,
        plans.plan_code,
        lines.period_start,
        lines.period_end,
        lines.is_proration,
        cast(null as integer) as interval_months,
        lines.currency,
        lines.amount,
        invoices.paid_at,
        lines.invoice_id as payment_ref
    from lines
    inner join invoices on invoices.invoice_id = lines.invoice_id
    left join plans on plans.stripe_price_id = lines.price_id
    where invoices.is_paid
        and lines.amount > 0
        and coalesce(lines.subscription_id, invoices.subscription_id) is not null
),

payme_paid as (
    select
        'payme:' || payme_id as period_id,
        'payme' as gateway,
        'tg:' || cast(user_id as varchar) as customer_id,
        plan_code,
        currency,
        amount_tiyin as amount,
        performed_at as paid_at,
        payme_id as payment_ref
    from {{ ref('stg_payments__payme_transactions') }}
    where state in (2, -2) and performed_at is not null
),

click_paid as (
    select
        'click:' || click_trans_id as period_id,
        'click' as gateway,
        'tg:' || cast(user_id as varchar) as customer_id,
        plan_code,
        currency,
        amount_tiyin as amount,
        completed_at as paid_at,
        click_trans_id as payment_ref
    from {{ ref('stg_payments__click_transactions') }}
    where status = 'completed' and completed_at is not null
),

-- a payment buys one period of its plan (one month when the plan is not in the catalogue)
local_periods as (
    select
        paid.period_id,
        paid.gateway,
        paid.customer_id,
        cast(null as varchar) as subscription_id,
        paid.plan_code,
        paid.paid_at as period_start,
        cast({{ dbt.dateadd('month', 'coalesce(plans.interval_months, 1)', 'paid.paid_at') }} as timestamp)
            as period_end,
        false as is_proration,
        cast(coalesce(plans.interval_months, 1) as integer) as interval_months,
        paid.currency,
        paid.amount,
        paid.paid_at,
        paid.payment_ref
    from (
        select * from payme_paid
        union all
        select * from click_paid
    ) as paid
    left join plans on plans.plan_code = paid.plan_code
),

final as (
    select * from stripe_periods
    union all
    select * from local_periods
)

select * from final
