-- One row per failed payment attempt (failure_id) on any gateway, for dunning analysis and churn features:
--   stripe: every invoice.payment_failed event (a renewal charge the card refused; Stripe retries it);
--   payme: a transaction cancelled before it was performed (state -1): abandoned at the payment page
--     (reason 3) or timed out after 12 h (reason 4), among others;
--   click: a Complete that carried Click's own error (the card was declined), leaving the transaction cancelled.
with stripe_failures as (
    select * from {{ ref('stg_payments__stripe_invoice_payment_failures') }}
),

customers as (
    select * from {{ ref('int_stripe_customers') }}
),

payme as (
    select * from {{ ref('stg_payments__payme_transactions') }}
    where state = -1 and cancelled_at is not null
),

click as (
    select * from {{ ref('stg_payments__click_transactions') }}
    where status = 'cancelled'
),

failures as (
    select
        'stripe:' || stripe_failures.event_key as failure_id,
        'stripe' as gateway,
        coalesce(customers.customer_id, 'stripe:' || stripe_failures.stripe_customer_id) as customer_id,
        stripe_failures.failed_at,
        'renewal_declined' as failure_kind,
        stripe_failures.attempt_count,
        stripe_failures.invoice_id as payment_ref
    from stripe_failures
    left join customers on customers.stripe_customer_id = stripe_failures.stripe_customer_id
    union all
    select
        'payme:' || payme_id,
        'payme',
        'tg:' || cast(user_id as varchar),
        cancelled_at,
        case reason when 4 then 'timed_out' when 3 then 'abandoned' else 'cancelled' end,
        cast(null as integer),
        payme_id
    from payme
    union all
    select
        'click:' || click_trans_id,
        'click',
        'tg:' || cast(user_id as varchar),
        coalesce(completed_at, state_at),
        'declined',
        cast(null as integer),
        click_trans_id
    from click
),

final as (
    select
        cast(failure_id as varchar) as failure_id,
        cast(gateway as varchar) as gateway,
        cast(customer_id as varchar) as customer_id,
        cast(failed_at as timestamp) as failed_at,
        cast(failure_kind as varchar) as failure_kind,
        attempt_count,
        cast(payment_ref as varchar) as payment_ref
    from failures
)

select * from final
