{{ config(materialized='table') }}
-- One row per Stripe refund (refund_id): its latest state (refund.created / refund.updated). status succeeded moves money; pending may still fail.
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'refund'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'refund_id': 'id',
            'charge_ref': 'charge',
            'charge_ref_id': 'charge.id',
            'amount': 'amount',
            'currency': 'currency',
            'status': 'status',
            'reason': 'reason',
            'created': 'created',
        }) }}
    from ledger
),

ranked as (
    select
        *,
        row_number() over (partition by refund_id order by occurred_at desc, ledger_id desc) as recency
    from fields
    where object_kind = 'refund'
),

final as (
    select
        refund_id,
        ledger_id,
        occurred_at as state_at,
        coalesce(charge_ref_id, charge_ref) as charge_id,
        cast(amount as bigint) as amount,
        upper(currency) as currency,
        status,
        reason,
        {{ timestamp_from_epoch_seconds('created') }} as created_at
    from ranked
    where recency = 1
)

select * from final
