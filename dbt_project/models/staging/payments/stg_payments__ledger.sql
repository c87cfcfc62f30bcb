-- One row per ledger row (ledger_id): the envelope typed, and `doc`, the gateway object parsed: a Stripe event's
-- data.object, a reconcile row's payload (the bare object), a Payme / Click transaction as it became.
-- object_type follows from event_type alone (Stripe's event names say which object they carry), so the typed
-- models below select their rows without parsing anyone else's payload.
with source as (
    select * from {{ source('payments', 'payment_events') }}
),

typed as (
    select
        cast(ledger_id as bigint) as ledger_id,
        cast(gateway as varchar) as gateway,
        cast(event_key as varchar) as event_key,
        cast(event_type as varchar) as event_type,
        cast(source as varchar) as source,
        cast(occurred_at as timestamp) as occurred_at,
        cast(received_at as timestamp) as received_at,
        cast(api_version as varchar) as api_version,
        payload
    from source
),

final as (
    select
        ledger_id,
        gateway,
        event_key,
        event_type,
        source,
        occurred_at,
        received_at,
        api_version,
        case
            when gateway = 'payme' then 'payme_transaction'
            when gateway = 'click' then 'click_transaction'
            when event_type in ('reconcile.subscription') or event_type like 'customer.subscription.%'
                then 'subscription'
            when event_type like 'invoice_payment.%' then 'invoice_payment'
            when event_type in ('reconcile.invoice') or event_type like 'invoice.%' then 'invoice'
            when event_type like 'charge.dispute.%' then 'dispute'
            when event_type like 'charge.%' then 'charge'
            when event_type like 'refund.%' then 'refund'
        end as object_type,
        case
            when gateway = 'stripe' and event_type not like 'reconcile.%'
                then {{ json_doc(json_parse('payload'), 'data.object') }}
            else {{ json_parse('payload') }}
        end as doc
    from typed
)

select * from final
