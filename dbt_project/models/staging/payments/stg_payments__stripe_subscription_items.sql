{{ config(materialized='table') }}
-- One row per item of a subscription snapshot (ledger_id, item_id). Basil moved the current period from the
-- subscription onto each item (current_period_start/end here; NULL before basil).
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'subscription'
),

items as (
    select ledger_id, {{ json_array_elements('doc', 'data.object.items.data') }} as item
    from ledger
),

fields as (
    select
        ledger_id,
        {{ json_fields('item', {
            'item_id': 'id',
            'subscription_id': 'subscription',
            'price_id': 'price.id',
            'unit_amount': 'price.unit_amount',
            'currency': 'price.currency',
            'billing_scheme': 'price.billing_scheme',
            'recurring_interval': 'price.recurring.interval',
            'interval_count': 'price.recurring.interval_count',
            'quantity': 'quantity',
            'current_period_start': 'current_period_start',
            'current_period_end': 'current_period_end',
        }) }}
    from items
),

final as (
    select
        ledger_id,
        item_id,
        subscription_id,
        price_id,
        cast(unit_amount as bigint) as unit_amount,
        upper(currency) as currency,
        billing_scheme,
        recurring_interval,
        cast(coalesce(interval_count, '1') as integer) as interval_count,
        -- Stripe omits quantity only for metered prices, which the door refuses; 1 is its default
        cast(coalesce(quantity, '1') as bigint) as quantity,
        {{ timestamp_from_epoch_seconds('current_period_start') }} as current_period_start,
        {{ timestamp_from_epoch_seconds('current_period_end') }} as current_period_end
    from fields
)

select * from final
