{{ config(materialized='table') }}
-- One row per Stripe invoice (invoice_id): its latest state (the newest event or listing that showed it). Reads
-- both API shapes: invoice -> subscription is `subscription` before basil and
-- parent.subscription_details.subscription from basil on; invoice -> charge is `charge` before basil and only
-- reachable through invoice_payment from basil on (stg_payments__stripe_invoice_payments).
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'invoice'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'invoice_id': 'id',
            'customer_ref': 'customer',
            'customer_ref_id': 'customer.id',
            'status': 'status',
            'currency': 'currency',
            'amount_paid': 'amount_paid',
            'amount_due': 'amount_due',
            'total': 'total',
            'billing_reason': 'billing_reason',
            'legacy_subscription': 'subscription',
            'legacy_subscription_id': 'subscription.id',
            'parent_subscription': 'parent.subscription_details.subscription',
            'legacy_charge': 'charge',
            'legacy_charge_id': 'charge.id',
            'created': 'created',
            'paid_at': 'status_transitions.paid_at',
            'period_start': 'period_start',
            'period_end': 'period_end',
        }) }}
    from ledger
),

ranked as (
    select
        *,
        row_number() over (partition by invoice_id order by occurred_at desc, ledger_id desc) as recency
    from fields
    where object_kind = 'invoice'
),

final as (
    select
        invoice_id,
        ledger_id,
        occurred_at as state_at,
        case when customer_ref_id is not null then customer_ref_id else customer_ref end as stripe_customer_id,
        coalesce(legacy_subscription_id, legacy_subscription, parent_subscription) as subscription_id,
        coalesce(legacy_charge_id, legacy_charge) as charge_id,
        status,
        upper(currency) as currency,
        cast(amount_paid as bigint) as amount_paid,
        cast(amount_due as bigint) as amount_due,
        cast(total as bigint) as total,
        billing_reason,
        {{ timestamp_from_epoch_seconds('created') }} as created_at,
        {{ timestamp_from_epoch_seconds('paid_at') }} as paid_at,
        {{ timestamp_from_epoch_seconds('period_start') }} as period_start,
        {{ timestamp_from_epoch_seconds('period_end') }} as period_end
    from ranked
    where recency = 1
)

select * from final
