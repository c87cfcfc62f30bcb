{#- The latest state of each Stripe refund or dispute (the two objects that take money back from a charge and
    carry the same fields): one row per `<kind>_id`, from the newest ledger event about it. -#}
{% macro stripe_charge_reversals(kind) -%}
with ledger as (
    select * from {{ ref('stg_payments__ledger') }}
    where object_type = '{{ kind }}'
),

fields as (
    select
        ledger_id,
        occurred_at,
        {{ json_fields('doc', root='data.object', fields={
            'object_kind': 'object',
            kind ~ '_id': 'id',
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
        row_number() over (partition by {{ kind }}_id order by occurred_at desc, ledger_id desc) as recency
    from fields
    where object_kind = '{{ kind }}'
),

final as (
    select
        {{ kind }}_id,
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
{%- endmacro %}
