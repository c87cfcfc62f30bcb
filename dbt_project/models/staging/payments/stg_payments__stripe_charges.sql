{{ config(materialized='table') }}
-- One row per Stripe charge (charge_id): its latest state. charge.invoice exists only before basil; from basil on
-- the invoice is reached through invoice_payment (stg_payments__stripe_invoice_payments), whose
-- payment.payment_intent is the charge's payment_intent.
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'charge'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'charge_id': 'id',
            'customer_ref': 'customer',
            'customer_ref_id': 'customer.id',
            'invoice_ref': 'invoice',
            'invoice_ref_id': 'invoice.id',
            'amount': 'amount',
            'amount_refunded': 'amount_refunded',
            'currency': 'currency',
            'status': 'status',
            'paid': 'paid',
            'payment_intent_ref': 'payment_intent',
            'payment_intent_ref_id': 'payment_intent.id',
            'created': 'created',
        }) }}
    from ledger
),

ranked as (
    select
        *,
        row_number() over (partition by charge_id order by occurred_at desc, ledger_id desc) as recency
    from fields
    where object_kind = 'charge'
),

final as (
    select
        charge_id,
        ledger_id,
        occurred_at as state_at,
        case when customer_ref_id is not null then customer_ref_id else customer_ref end as stripe_customer_id,
        coalesce(invoice_ref_id, invoice_ref) as invoice_id,
        cast(amount as bigint) as amount,
        cast(amount_refunded as bigint) as amount_refunded,
        upper(currency) as currency,
        status,
        cast(paid as boolean) as is_paid,
        coalesce(payment_intent_ref_id, payment_intent_ref) as payment_intent_id,
        {{ timestamp_from_epoch_seconds('created') }} as created_at
    from ranked
    where recency = 1
)

select * from final
