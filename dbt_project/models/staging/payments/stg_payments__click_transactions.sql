{{ config(materialized='table') }}
-- One row per Click transaction (click_trans_id): its latest state (prepared, completed, cancelled). A completed
-- transaction is paid at completed_at. Times arrive as ISO 8601 UTC text; amount_tiyin is the integer amount
-- (Click's own `amount` string is UZS with two decimals).
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'click_transaction'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'click_trans_id': 'click_trans_id',
            'click_paydoc_id': 'click_paydoc_id',
            'order_id': 'order_id',
            'user_id': 'user_id',
            'plan_code': 'plan_code',
            'amount_tiyin': 'amount_tiyin',
            'currency': 'currency',
            'status': 'status',
            'error_code': 'error_code',
            'prepared_at': 'prepared_at',
            'completed_at': 'completed_at',
        }) }}
    from ledger
),

ranked as (
    select
        *,
        row_number() over (partition by click_trans_id order by occurred_at desc, ledger_id desc) as recency
    from fields
),

final as (
    select
        cast(click_trans_id as varchar) as click_trans_id,
        ledger_id,
        occurred_at as state_at,
        cast(click_paydoc_id as varchar) as click_paydoc_id,
        cast(order_id as bigint) as order_id,
        cast(user_id as bigint) as user_id,
        plan_code,
        cast(amount_tiyin as bigint) as amount_tiyin,
        upper(currency) as currency,
        status,
        cast(error_code as integer) as error_code,
        {{ iso_utc_timestamp('prepared_at') }} as prepared_at,
        {{ iso_utc_timestamp('completed_at') }} as completed_at
    from ranked
    where recency = 1
)

select * from final
