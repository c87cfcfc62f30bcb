{{ config(materialized='table') }}
-- One row per discount of a subscription snapshot (ledger_id, discount_ref). Before basil: `discount`, an object
-- with its coupon (the `discounts` id list repeats it). From basil on: `discounts[]`, objects with
-- source.coupon when expanded, else bare ids - which cannot be priced (is_priced false; the MRR models flag it).
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = 'subscription'
),

-- one read of the subscription: both discount fields as JSON text, parsed again below (they are small)
discount_fields as materialized (
    select
        ledger_id,
        {{ json_fields('doc', root='data.object', fields={
            'legacy_discount_id': 'discount.id',
            'legacy_discount': 'discount',
            'listed_discounts': 'discounts',
        }) }}
    from ledger
),

-- the basil list only where there is no pre-basil `discount` object
candidates as (
    select ledger_id, {{ json_parse('legacy_discount') }} as discount
    from discount_fields
    where legacy_discount_id is not null
    union all
    select ledger_id, {{ json_array_elements(json_parse('listed_discounts'), '') }} as discount
    from discount_fields
    where legacy_discount_id is null
),

fields as (
    select
        ledger_id,
        {{ json_fields('discount', {
            'discount_id': 'id',
            'discount_text': '',
            'legacy_coupon_id': 'coupon.id',
            'legacy_percent_off': 'coupon.percent_off',
            'legacy_amount_off': 'coupon.amount_off',
            'legacy_coupon_currency': 'coupon.currency',
            'legacy_duration': 'coupon.duration',
            'source_coupon_id': 'source.coupon.id',
            'source_percent_off': 'source.coupon.percent_off',
            'source_amount_off': 'source.coupon.amount_off',
            'source_coupon_currency': 'source.coupon.currency',
            'source_duration': 'source.coupon.duration',
            'discount_start': 'start',
            'discount_end': 'end',
        }) }}
    from candidates
),

final as (
    select
        ledger_id,
        -- a bare id is the element itself
        coalesce(discount_id, discount_text) as discount_ref,
        coalesce(legacy_coupon_id, source_coupon_id) as coupon_id,
        coalesce(legacy_coupon_id, source_coupon_id) is not null as is_priced,
        cast(coalesce(legacy_percent_off, source_percent_off) as {{ type_double() }}) as percent_off,
        cast(coalesce(legacy_amount_off, source_amount_off) as bigint) as amount_off,
        upper(coalesce(legacy_coupon_currency, source_coupon_currency)) as coupon_currency,
        coalesce(legacy_duration, source_duration) as duration,
        {{ timestamp_from_epoch_seconds('discount_start') }} as discount_start,
        {{ timestamp_from_epoch_seconds('discount_end') }} as discount_end
    from fields
)

select * from final
