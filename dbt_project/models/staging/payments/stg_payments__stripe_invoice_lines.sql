{{ config(materialized='table') }}
-- One row per line of an invoice's latest state (invoice_id, line_id). Reads both API shapes: the price is
-- line.price.id before basil and line.pricing.price_details.price from basil on; proration and the line's
-- subscription moved under line.parent (subscription_item_details or invoice_item_details, as parent.type says).
with invoices as (
    select invoice_id, ledger_id from {{ ref('stg_payments__stripe_invoices') }}
),

ledger as (
    select ledger.ledger_id, ledger.doc, invoices.invoice_id
    from {{ ref('stg_payments__ledger') }} as ledger
    inner join invoices on invoices.ledger_id = ledger.ledger_id
),

lines as (
    select invoice_id, {{ json_array_elements('doc', 'data.object.lines.data') }} as line
    from ledger
),

fields as (
    select
        invoice_id,
        {{ json_fields('line', {
            'line_id': 'id',
            'amount': 'amount',
            'currency': 'currency',
            'period_start': 'period.start',
            'period_end': 'period.end',
            'quantity': 'quantity',
            'description': 'description',
            'legacy_type': 'type',
            'legacy_subscription': 'subscription',
            'legacy_proration': 'proration',
            'legacy_price_id': 'price.id',
            'parent_type': 'parent.type',
            'item_subscription': 'parent.subscription_item_details.subscription',
            'item_proration': 'parent.subscription_item_details.proration',
            'invoice_item_subscription': 'parent.invoice_item_details.subscription',
            'invoice_item_proration': 'parent.invoice_item_details.proration',
            'pricing_price_id': 'pricing.price_details.price',
        }) }}
    from lines
),

final as (
    select
        invoice_id,
        line_id,
        cast(amount as bigint) as amount,
        upper(currency) as currency,
        {{ timestamp_from_epoch_seconds('period_start') }} as period_start,
        {{ timestamp_from_epoch_seconds('period_end') }} as period_end,
        cast(quantity as bigint) as quantity,
        description,
        coalesce(legacy_price_id, pricing_price_id) as price_id,
        case parent_type
            when 'subscription_item_details' then item_subscription
            when 'invoice_item_details' then invoice_item_subscription
            else legacy_subscription
        end as subscription_id,
        coalesce(cast(case parent_type
            when 'subscription_item_details' then item_proration
            when 'invoice_item_details' then invoice_item_proration
            else legacy_proration
        end as boolean), false) as is_proration,
        case when parent_type is not null then 'basil' else 'pre_basil' end as api_shape
    from fields
)

select * from final
