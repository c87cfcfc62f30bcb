-- One row per failed invoice payment attempt Stripe reported (event_key of an invoice.payment_failed event).
-- stg_payments__stripe_invoices keeps only an invoice's newest state; dunning needs every failed attempt.
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where event_type = 'invoice.payment_failed'
),

fields as (
    select
        event_key,
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'invoice_id': 'id',
            'customer_ref': 'customer',
            'customer_ref_id': 'customer.id',
            'attempt_count': 'attempt_count',
            'amount_due': 'amount_due',
            'currency': 'currency',
            'billing_reason': 'billing_reason',
        }) }}
    from ledger
),

final as (
    select
        event_key,
        ledger_id,
        occurred_at as failed_at,
        invoice_id,
        case when customer_ref_id is not null then customer_ref_id else customer_ref end as stripe_customer_id,
        cast(attempt_count as integer) as attempt_count,
        cast(amount_due as bigint) as amount_due,
        upper(currency) as currency,
        billing_reason
    from fields
    where object_kind = 'invoice'
)

select * from final
