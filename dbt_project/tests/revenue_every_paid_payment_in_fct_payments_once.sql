{{ config(meta={'dagster': {'ref': {'name': 'fct_payments'}}}) }}
-- Every performed Payme transaction, completed Click transaction and paid Stripe invoice (amount_paid > 0) is
-- exactly one charge in fct_payments.
with charges as (
    select * from {{ ref('fct_payments') }}
    where movement_type = 'charge'
),

expected as (
    select 'payme:' || payme_id as payment_ref
    from {{ ref('stg_payments__payme_transactions') }}
    where state in (2, -2)
    union all
    select 'click:' || click_trans_id
    from {{ ref('stg_payments__click_transactions') }}
    where status = 'completed'
    union all
    select 'stripe:' || invoice_id
    from {{ ref('stg_payments__stripe_invoices') }}
    where status = 'paid' and amount_paid > 0
),

found as (
    select
        case when gateway = 'stripe' then 'stripe:' || invoice_id else payment_id end as payment_ref,
        count(*) as charges
    from charges
    group by case when gateway = 'stripe' then 'stripe:' || invoice_id else payment_id end
)

select expected.payment_ref, coalesce(found.charges, 0) as charges
from expected
left join found on found.payment_ref = expected.payment_ref
where coalesce(found.charges, 0) <> 1
