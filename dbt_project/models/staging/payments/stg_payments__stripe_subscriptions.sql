{{ config(materialized='table') }}
-- One row per Stripe subscription snapshot (subscription_id, ledger_id): the subscription as one event (or one
-- reconcile listing) showed it. Snapshots are kept, not deduplicated: MRR needs the history. Reads both API
-- shapes: before 2025-03-31.basil the current period is on the subscription, from basil on on each item
-- (stg_payments__stripe_subscription_items).
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'subscription'
),

fields as (
    select
        ledger_id,
        event_key,
        event_type,
        occurred_at,
        api_version,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            'subscription_id': 'id',
            'customer_ref': 'customer',
            'customer_ref_id': 'customer.id',
            'status': 'status',
            'currency': 'currency',
            'current_period_start': 'current_period_start',
            'current_period_end': 'current_period_end',
            'cancel_at': 'cancel_at',
            'cancel_at_period_end': 'cancel_at_period_end',
            'canceled_at': 'canceled_at',
            'ended_at': 'ended_at',
            'start_date': 'start_date',
            'trial_end': 'trial_end',
            'telegram_user_id': 'metadata.telegram_user_id',
        }) }}
    from ledger
),

final as (
    select
        subscription_id,
        ledger_id,
        event_key,
        event_type,
        occurred_at,
        api_version,
        -- an expanded customer object carries its id; a plain reference is the id
        case when customer_ref_id is not null then customer_ref_id else customer_ref end as stripe_customer_id,
        status,
        upper(currency) as currency,
        {{ timestamp_from_epoch_seconds('current_period_start') }} as current_period_start,
        {{ timestamp_from_epoch_seconds('current_period_end') }} as current_period_end,
        {{ timestamp_from_epoch_seconds('cancel_at') }} as cancel_at,
        cast(cancel_at_period_end as boolean) as cancel_at_period_end,
        {{ timestamp_from_epoch_seconds('canceled_at') }} as canceled_at,
        {{ timestamp_from_epoch_seconds('ended_at') }} as ended_at,
        {{ timestamp_from_epoch_seconds('start_date') }} as start_date,
        {{ timestamp_from_epoch_seconds('trial_end') }} as trial_end,
        cast(telegram_user_id as varchar) as telegram_user_id
    from fields
    where object_kind = 'subscription'
)

select * from final
