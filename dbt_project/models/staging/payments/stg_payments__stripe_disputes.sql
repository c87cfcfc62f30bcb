{{ config(materialized='table') }}
-- One row per Stripe dispute (dispute_id): its latest state (charge.dispute.*). Funds are withdrawn when a dispute opens and come back when it is won.
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'dispute'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'dispute_id': 'id',
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
        row_number() over (partition by dispute_id order by occurred_at desc, ledger_id desc) as recency
    from fields
    where object_kind = 'dispute'
),

final as (
    select
        dispute_id,
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
