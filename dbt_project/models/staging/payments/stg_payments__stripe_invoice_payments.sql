{{ config(materialized='table') }}
-- One row per Stripe invoice payment (invoice_payment_id): its latest state. Basil's link between an invoice
-- and the charge that paid it: payment.payment_intent (= charge.payment_intent) when payment.type is
-- payment_intent, payment.charge when it is charge.
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'invoice_payment'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'invoice_payment_id': 'id',
            'invoice_id': 'invoice',
            'payment_type': 'payment.type',
            'payment_charge': 'payment.charge',
            'payment_charge_id': 'payment.charge.id',
            'payment_intent_ref': 'payment.payment_intent',
            'payment_intent_ref_id': 'payment.payment_intent.id',
            'amount_paid': 'amount_paid',
            'currency': 'currency',
            'status': 'status',
            'paid_at': 'status_transitions.paid_at',
        }) }}
    from ledger
),

ranked as (
    select
        *,
        row_number() over (partition by invoice_payment_id order by occurred_at desc, ledger_id desc) as recency
    from fields
    where object_kind = 'invoice_payment'
),

final as (
    select
        invoice_payment_id,
        ledger_id,
        occurred_at as state_at,
        invoice_id,
        payment_type,
        coalesce(payment_charge_id, payment_charge) as charge_id,
        coalesce(payment_intent_ref_id, payment_intent_ref) as payment_intent_id,
        cast(amount_paid as bigint) as amount_paid,
        upper(currency) as currency,
        status,
        {{ timestamp_from_epoch_seconds('paid_at') }} as paid_at
    from ranked
    where recency = 1
)

select * from final
