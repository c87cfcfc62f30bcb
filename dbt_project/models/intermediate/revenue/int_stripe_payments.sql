-- One row per Stripe money movement (payment_id): charges, refunds and disputes, amounts in minor units.
--   charge: a succeeded charge; or a paid invoice with amount_paid > 0 whose charge was never seen as a charge
--     object (the invoice, or its invoice_payment, names it; else the invoice id stands in). Linked to its
--     invoice by charge.invoice (before basil) or invoice.charge / invoice_payment.payment.charge, which gives
--     the plan and the service period.
--   refund: a refund whose latest status is succeeded.
--   dispute: a dispute that holds the funds (needs_response, under_review) or lost them (lost). Inquiries
--     (warning_*) move no money; a won dispute gives them back, so it is no movement.
with charges as (
    select * from {{ ref('stg_payments__stripe_charges') }}
    where status = 'succeeded'
),

invoices as (
    select * from {{ ref('int_stripe_invoices_resolved') }}
),

customers as (
    select * from {{ ref('int_stripe_customers') }}
),

-- charge -> invoice from either side (a charge pays at most one invoice)
charge_invoices as (
    select charge_id, min(invoice_id) as invoice_id
    from (
        select charge_id, invoice_id from charges where invoice_id is not null
        union all
        select charge_id, invoice_id from invoices where charge_id is not null
    ) as links
    group by charge_id
),

charge_rows as (
    select
        charges.charge_id as payment_id,
        'charge' as movement_type,
        coalesce(customers.customer_id, invoices.customer_id) as customer_id,
        invoices.plan_code,
        charges.currency,
        charges.amount,
        charges.created_at as occurred_at,
        invoices.service_start as period_start,
        invoices.service_end as period_end,
        charges.charge_id,
        invoices.invoice_id,
        invoices.subscription_id
    from charges
    left join charge_invoices on charge_invoices.charge_id = charges.charge_id
    left join invoices on invoices.invoice_id = charge_invoices.invoice_id
    left join customers on customers.stripe_customer_id = charges.stripe_customer_id
),

invoice_rows as (
    select
        coalesce(invoices.charge_id, invoices.invoice_id) as payment_id,
        'charge' as movement_type,
        invoices.customer_id,
        invoices.plan_code,
        invoices.currency,
        invoices.amount_paid as amount,
        invoices.paid_at as occurred_at,
        invoices.service_start as period_start,
        invoices.service_end as period_end,
        invoices.charge_id,
        invoices.invoice_id,
        invoices.subscription_id
    from invoices
    where invoices.is_paid
        and invoices.amount_paid > 0
        and not exists (select 1 from charge_rows where charge_rows.invoice_id = invoices.invoice_id)
        and not exists (select 1 from charge_rows where charge_rows.charge_id = invoices.charge_id)
),

all_charges as (
    select * from charge_rows
    union all
    select * from invoice_rows
),

refund_rows as (
    select
        refunds.refund_id as payment_id,
        'refund' as movement_type,
        all_charges.customer_id,
        all_charges.plan_code,
        refunds.currency,
        refunds.amount,
        refunds.created_at as occurred_at,
        all_charges.period_start,
        all_charges.period_end,
        refunds.charge_id,
        all_charges.invoice_id,
        all_charges.subscription_id
    from {{ ref('stg_payments__stripe_refunds') }} as refunds
    left join all_charges on all_charges.charge_id = refunds.charge_id
    where refunds.status = 'succeeded'
),

dispute_rows as (
    select
        disputes.dispute_id as payment_id,
        'dispute' as movement_type,
        all_charges.customer_id,
        all_charges.plan_code,
        disputes.currency,
        disputes.amount,
        disputes.created_at as occurred_at,
        all_charges.period_start,
        all_charges.period_end,
        disputes.charge_id,
        all_charges.invoice_id,
        all_charges.subscription_id
    from {{ ref('stg_payments__stripe_disputes') }} as disputes
    left join all_charges on all_charges.charge_id = disputes.charge_id
    where disputes.status in ('needs_response', 'under_review', 'lost')
),

final as (
    select * from all_charges
    union all
    select * from refund_rows
    union all
    select * from dispute_rows
)

select * from final
