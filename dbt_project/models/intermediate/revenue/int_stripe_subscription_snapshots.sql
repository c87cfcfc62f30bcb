-- One row per Stripe subscription snapshot (subscription_id, ledger_id) with the time it is the subscription's
-- state and its gross monthly amount before discounts:
--   [valid_from, valid_to): from the snapshot's event until the next snapshot's. The first snapshot is taken
--     back to the start of the current period it shows, so a subscription first seen by a reconcile listing
--     (history older than 30 days) or a missed `created` event counts from its period start.
--   mrr_until: valid_to, or the snapshot's scheduled end (cancel_at; the period end when only
--     cancel_at_period_end is set) when it falls inside: a cancellation churns at the end of
--     the paid period, not when it is requested, even when the `deleted` event has not arrived yet. An ended
--     subscription's own snapshot has status canceled, which bears no MRR.
--   gross_micros: sum over items of unit_amount x quantity / months(interval, interval_count), in micros of
--     the subscription's currency (1e-6 of the major unit), each item rounded to a micro.
with snapshots as (
    select * from {{ ref('stg_payments__stripe_subscriptions') }}
),

items as (
    select * from {{ ref('stg_payments__stripe_subscription_items') }}
),

plans as (
    select * from {{ ref('stg_app__plans') }}
),

customers as (
    select * from {{ ref('int_stripe_customers') }}
),

-- each item's monthly amount; basil items carry their own current period
item_amounts as (
    select
        items.ledger_id,
        items.item_id,
        items.price_id,
        items.currency,
        items.current_period_start,
        items.current_period_end,
        {{ interval_months('items.recurring_interval', 'items.interval_count') }} as billing_months,
        {{ minor_to_micros(
            'cast(items.unit_amount as ' ~ type_double() ~ ') * cast(items.quantity as ' ~ type_double() ~ ') / '
            ~ interval_months('items.recurring_interval', 'items.interval_count')
        ) }} as monthly_micros
    from items
    where items.unit_amount is not null
),

-- the plan of a snapshot is the plan of its largest item
ranked_items as (
    select
        item_amounts.*,
        row_number() over (
            partition by item_amounts.ledger_id order by item_amounts.monthly_micros desc, item_amounts.item_id
        ) as size_rank
    from item_amounts
),

snapshot_amounts as (
    select
        ledger_id,
        cast(sum(monthly_micros) as bigint) as gross_micros,
        count(*) as items,
        min(billing_months) as billing_months,
        min(current_period_start) as item_period_start,
        max(current_period_end) as item_period_end,
        max(case when size_rank = 1 then price_id end) as main_price_id,
        max(case when size_rank = 1 then currency end) as main_currency
    from ranked_items
    group by ledger_id
),

ordered as (
    select
        snapshots.*,
        coalesce(snapshots.current_period_start, snapshot_amounts.item_period_start) as period_start,
        coalesce(snapshots.current_period_end, snapshot_amounts.item_period_end) as period_end,
        row_number() over (
            partition by snapshots.subscription_id order by snapshots.occurred_at, snapshots.ledger_id
        ) as snapshot_number,
        lead(snapshots.occurred_at) over (
            partition by snapshots.subscription_id order by snapshots.occurred_at, snapshots.ledger_id
        ) as next_occurred_at,
        snapshot_amounts.gross_micros,
        snapshot_amounts.items,
        snapshot_amounts.billing_months,
        snapshot_amounts.main_price_id,
        snapshot_amounts.main_currency
    from snapshots
    left join snapshot_amounts on snapshot_amounts.ledger_id = snapshots.ledger_id
),

bounded as (
    select
        *,
        case
            when snapshot_number = 1 and period_start < occurred_at then period_start
            else occurred_at
        end as valid_from,
        coalesce(next_occurred_at, cast('9999-12-31' as timestamp)) as valid_to,
        -- cancel_at_period_end without cancel_at (older payloads) ends at the period end
        coalesce(cancel_at, case when cancel_at_period_end then period_end end)
            as scheduled_end
    from ordered
),

final as (
    select
        bounded.subscription_id,
        bounded.ledger_id,
        bounded.event_type,
        bounded.occurred_at,
        bounded.stripe_customer_id,
        customers.customer_id,
        bounded.status,
        bounded.status in ('active', 'past_due') as is_mrr_bearing,
        -- the subscription's currency; its items' where an old payload has none
        coalesce(bounded.currency, bounded.main_currency) as currency,
        bounded.period_start,
        cast(coalesce(bounded.period_start, bounded.occurred_at) as date) as rate_date,
        bounded.valid_from,
        bounded.valid_to,
        case
            when bounded.scheduled_end > bounded.valid_from and bounded.scheduled_end < bounded.valid_to
                then bounded.scheduled_end
            else bounded.valid_to
        end as mrr_until,
        bounded.period_end,
        bounded.cancel_at,
        bounded.scheduled_end,
        bounded.ended_at,
        coalesce(bounded.gross_micros, 0) as gross_micros,
        coalesce(bounded.items, 0) as items,
        bounded.billing_months,
        bounded.main_price_id,
        plans.plan_code
    from bounded
    left join customers on customers.stripe_customer_id = bounded.stripe_customer_id
    left join plans on plans.stripe_price_id = bounded.main_price_id
)

select * from final
