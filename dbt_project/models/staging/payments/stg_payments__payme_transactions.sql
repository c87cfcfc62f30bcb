{{ config(materialized='table') }}
-- One row per Payme transaction (payme_id): its latest state. state 1 created, 2 performed (paid at
-- perform_time), -1 cancelled before perform, -2 cancelled after perform (refunded at cancel_time). Payme times
-- are milliseconds since the epoch with 0 for "not yet" (NULL here); amounts are tiyin (1/100 UZS).
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'payme_transaction'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'payme_id': 'payme_id',
            'order_id': 'order_id',
            'user_id': 'user_id',
            'plan_code': 'plan_code',
            'amount_tiyin': 'amount_tiyin',
            'currency': 'currency',
            'state': 'state',
            'reason': 'reason',
            'create_time': 'create_time',
            'perform_time': 'perform_time',
            'cancel_time': 'cancel_time',
        }) }}
    from ledger
),

ranked as (
    select
        *,
        row_number() over (partition by payme_id order by occurred_at desc, ledger_id desc) as recency
    from fields
),

final as (
    select
        payme_id,
        ledger_id,
        occurred_at as state_at,
        cast(order_id as bigint) as order_id,
        cast(user_id as bigint) as user_id,
        plan_code,
        cast(amount_tiyin as bigint) as amount_tiyin,
        upper(currency) as currency,
        cast(state as integer) as state,
        cast(reason as integer) as reason,
        {{ timestamp_from_epoch_millis('create_time') }} as created_at,
        {{ timestamp_from_epoch_millis('perform_time') }} as performed_at,
        {{ timestamp_from_epoch_millis('cancel_time') }} as cancelled_at
    from ranked
    where recency = 1
)

select * from final
