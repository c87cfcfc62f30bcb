-- One row per Stripe subscription whose owner asked to cancel at the end of the paid period
-- (subscription_id): when the request was first seen (requested_at, Stripe's canceled_at when set, else the
-- event time) and the period end it takes effect at. A request withdrawn later keeps its row, with
-- withdrawn_at. Payme and Click sell one period at a time: there is nothing to cancel, the customer just does
-- not pay again.
with snapshots as (
    select * from {{ ref('stg_payments__stripe_subscriptions') }}
),

customers as (
    select * from {{ ref('int_stripe_customers') }}
),

requests as (
    select
        subscription_id,
        stripe_customer_id,
        min(coalesce(canceled_at, occurred_at)) as requested_at,
        coalesce(max(cancel_at), max(current_period_end)) as effective_at
    from snapshots
    where cancel_at_period_end
    group by subscription_id, stripe_customer_id
),

latest as (
    select
        subscription_id,
        cancel_at_period_end,
        status,
        occurred_at,
        row_number() over (partition by subscription_id order by occurred_at desc, ledger_id desc) as recency
    from snapshots
),

final as (
    select
        cast(requests.subscription_id as varchar) as subscription_id,
        cast(coalesce(customers.customer_id, 'stripe:' || requests.stripe_customer_id) as varchar) as customer_id,
        requests.requested_at,
        requests.effective_at,
        case
            when not latest.cancel_at_period_end and latest.status <> 'canceled' then latest.occurred_at
        end as withdrawn_at
    from requests
    left join customers on customers.stripe_customer_id = requests.stripe_customer_id
    left join latest on latest.subscription_id = requests.subscription_id and latest.recency = 1
)

select * from final
