-- One row per Stripe invoice (invoice_id), latest state, with what the payment models need in either API shape:
-- the charge that paid it (invoice.charge before basil; from basil on a paid invoice_payment's payment.charge, or
-- the succeeded charge with its payment.payment_intent),
-- the reporting customer, and from its subscription lines with a positive amount the service period
-- (earliest start, latest end) and plan (of the largest line; prorations included).
with invoices as (
    select * from {{ ref('stg_payments__stripe_invoices') }}
),

lines as (
    select * from {{ ref('stg_payments__stripe_invoice_lines') }}
),

plans as (
    select * from {{ ref('stg_app__plans') }}
),

customers as (
    select * from {{ ref('int_stripe_customers') }}
),

-- basil: the charge behind a paid invoice payment, named (payment.charge) or found by its payment intent (the
-- newest payment, if an invoice was paid twice)
basil_charges as (
    select
        payments.invoice_id,
        coalesce(payments.charge_id, intent_charges.charge_id) as charge_id,
        row_number() over (
            partition by payments.invoice_id order by payments.paid_at desc, payments.invoice_payment_id desc
        ) as recency
    from {{ ref('stg_payments__stripe_invoice_payments') }} as payments
    left join {{ ref('stg_payments__stripe_charges') }} as intent_charges
        on intent_charges.payment_intent_id = payments.payment_intent_id and intent_charges.status = 'succeeded'
    where payments.status = 'paid' and coalesce(payments.charge_id, intent_charges.charge_id) is not null
),

subscription_lines as (
    select
        lines.*,
        coalesce(lines.subscription_id, invoices.subscription_id) as line_subscription_id,
        row_number() over (partition by lines.invoice_id order by lines.amount desc, lines.line_id) as size_rank
    from lines
    inner join invoices on invoices.invoice_id = lines.invoice_id
    where lines.amount > 0 and coalesce(lines.subscription_id, invoices.subscription_id) is not null
),

line_summary as (
    select
        invoice_id,
        min(period_start) as service_start,
        max(period_end) as service_end,
        max(case when size_rank = 1 then price_id end) as main_price_id,
        count(*) as subscription_lines
    from subscription_lines
    group by invoice_id
),

final as (
    select
        invoices.invoice_id,
        invoices.ledger_id,
        invoices.stripe_customer_id,
        customers.customer_id,
        invoices.subscription_id,
        coalesce(invoices.charge_id, basil_charges.charge_id) as charge_id,
        invoices.status,
        invoices.status = 'paid' as is_paid,
        invoices.currency,
        invoices.amount_paid,
        invoices.total,
        invoices.billing_reason,
        coalesce(invoices.paid_at, invoices.state_at) as paid_at,
        line_summary.service_start,
        line_summary.service_end,
        coalesce(line_summary.subscription_lines, 0) as subscription_lines,
        line_summary.main_price_id,
        plans.plan_code
    from invoices
    left join basil_charges on basil_charges.invoice_id = invoices.invoice_id and basil_charges.recency = 1
    left join line_summary on line_summary.invoice_id = invoices.invoice_id
    left join customers on customers.stripe_customer_id = invoices.stripe_customer_id
    left join plans on plans.stripe_price_id = line_summary.main_price_id
)

select * from final
