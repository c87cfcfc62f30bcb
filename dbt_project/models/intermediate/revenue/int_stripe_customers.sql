-- One row per Stripe customer seen on any subscription, invoice or charge (stripe_customer_id), with the
-- reporting customer: tg:<telegram user id> from the newest subscription snapshot whose
-- metadata.telegram_user_id is set, else stripe:<customer id>.
with subscriptions as (
    select * from {{ ref('stg_payments__stripe_subscriptions') }}
),

seen as (
    select stripe_customer_id from subscriptions
    union
    select stripe_customer_id from {{ ref('stg_payments__stripe_invoices') }}
    union
    select stripe_customer_id from {{ ref('stg_payments__stripe_charges') }}
),

tagged as (
    select
        stripe_customer_id,
        telegram_user_id,
        row_number() over (
            partition by stripe_customer_id order by occurred_at desc, ledger_id desc
        ) as recency
    from subscriptions
    where telegram_user_id is not null and telegram_user_id <> ''
),

final as (
    select
        seen.stripe_customer_id,
        tagged.telegram_user_id,
        case
            when tagged.telegram_user_id is not null then 'tg:' || tagged.telegram_user_id
            else 'stripe:' || seen.stripe_customer_id
        end as customer_id
    from seen
    left join tagged on tagged.stripe_customer_id = seen.stripe_customer_id and tagged.recency = 1
    where seen.stripe_customer_id is not null
)

select * from final
