-- One row per customer and reporting month in which the customer has MRR at the month's first instant or at
-- the next month's (the as-of instant for the as-of month) (customer_id, month). MRR and movements in USD, decimal(18,2): each customer's MRR is
-- rounded to cents before anything is compared, so
--   mrr_end = mrr_start + new + expansion + reactivation - contraction - churn + fx
-- holds exactly. Movements (docs/payments.md):
--   start 0, end > 0: new (the customer's first MRR ever) or reactivation;
--   start > 0, end 0: churn = start;
--   both > 0: fx = end MRR - end MRR at the start's exchange rates (per currency held at both instants; the
--     start's rate of a currency is its start USD / start native amount), the rest expansion or contraction.
with calendar as (
    select * from {{ ref('int_revenue_calendar') }}
),

by_currency as (
    select * from {{ ref('int_customer_mrr_at_month_starts') }}
),

-- a customer's MRR at an instant, rounded to cents once
by_customer as (
    select
        customer_id,
        instant,
        {{ micros_to_cents('sum(usd_micros)') }} as mrr_cents,
        max(case when has_unpriced_discount then 1 else 0 end) = 1 as has_unpriced_discount
    from by_currency
    group by customer_id, instant
),

first_mrr as (
    select customer_id, min(instant) as first_mrr_instant
    from by_customer
    where mrr_cents > 0
    group by customer_id
),

-- the months a customer has MRR at either end of (two equi-joins: an OR join is a nested loop on PostgreSQL)
customer_months as (
    select distinct customer_id, month_start, instant_start, instant_end
    from (
        select by_customer.customer_id, calendar.month_start, calendar.instant_start, calendar.instant_end
        from by_customer
        inner join calendar on calendar.instant_start = by_customer.instant
        where by_customer.mrr_cents > 0
        union all
        select by_customer.customer_id, calendar.month_start, calendar.instant_start, calendar.instant_end
        from by_customer
        inner join calendar on calendar.instant_end = by_customer.instant
        where by_customer.mrr_cents > 0
    ) as ends
),

-- per currency held at both ends: end MRR minus end MRR at the start's rate, in cents
fx_by_currency as (
    select
        customer_months.customer_id,
        customer_months.month_start,
        {{ round_half_away(
            '(cast(end_mrr.usd_micros as ' ~ type_double() ~ ')'
            ~ ' - cast(end_mrr.native_micros as ' ~ type_double() ~ ')'
            ~ ' * cast(start_mrr.usd_micros as ' ~ type_double() ~ ')'
            ~ ' / cast(start_mrr.native_micros as ' ~ type_double() ~ ')) / cast(10000 as ' ~ type_double() ~ ')'
        ) }} as fx_cents
    from customer_months
    inner join by_currency as start_mrr
        on start_mrr.customer_id = customer_months.customer_id and start_mrr.instant = customer_months.instant_start
    inner join by_currency as end_mrr
        on end_mrr.customer_id = customer_months.customer_id and end_mrr.instant = customer_months.instant_end
        and end_mrr.currency = start_mrr.currency
    where start_mrr.currency <> 'USD'
        and start_mrr.native_micros > 0 and end_mrr.native_micros > 0
        and start_mrr.usd_micros is not null and end_mrr.usd_micros is not null
),

fx as (
    select customer_id, month_start, cast(sum(fx_cents) as bigint) as fx_cents
    from fx_by_currency
    group by customer_id, month_start
),

joined as (
    select
        customer_months.customer_id,
        customer_months.month_start,
        coalesce(start_mrr.mrr_cents, 0) as start_cents,
        coalesce(end_mrr.mrr_cents, 0) as end_cents,
        coalesce(fx.fx_cents, 0) as fx_cents,
        customer_months.instant_end = first_mrr.first_mrr_instant as is_first_mrr,
        coalesce(end_mrr.has_unpriced_discount, false) as has_unpriced_discount
    from customer_months
    inner join first_mrr on first_mrr.customer_id = customer_months.customer_id
    left join by_customer as start_mrr
        on start_mrr.customer_id = customer_months.customer_id
        and start_mrr.instant = customer_months.instant_start
    left join by_customer as end_mrr
        on end_mrr.customer_id = customer_months.customer_id
        and end_mrr.instant = customer_months.instant_end
    left join fx on fx.customer_id = customer_months.customer_id and fx.month_start = customer_months.month_start
),

-- movements in cents; fx only where MRR is held at both ends, the rest of the change is expansion/contraction
classified as (
    select
        *,
        case when start_cents = 0 and end_cents > 0 and is_first_mrr then end_cents else 0 end as new_cents,
        case when start_cents = 0 and end_cents > 0 and not is_first_mrr then end_cents else 0 end
            as reactivation_cents,
        case when start_cents > 0 and end_cents = 0 then start_cents else 0 end as churn_cents,
        case when start_cents > 0 and end_cents > 0 then fx_cents else 0 end as held_fx_cents,
        case
            when start_cents > 0 and end_cents > 0 and end_cents - start_cents - fx_cents > 0
                then end_cents - start_cents - fx_cents
            else 0
        end as expansion_cents,
        case
            when start_cents > 0 and end_cents > 0 and end_cents - start_cents - fx_cents < 0
                then start_cents + fx_cents - end_cents
            else 0
        end as contraction_cents
    from joined
),

final as (
    select
        month_start as month,
        cast(customer_id as varchar) as customer_id,
        {{ cents_to_money('start_cents') }} as mrr_start_usd,
        {{ cents_to_money('end_cents') }} as mrr_end_usd,
        {{ cents_to_money('new_cents') }} as new_usd,
        {{ cents_to_money('expansion_cents') }} as expansion_usd,
        {{ cents_to_money('contraction_cents') }} as contraction_usd,
        {{ cents_to_money('churn_cents') }} as churn_usd,
        {{ cents_to_money('reactivation_cents') }} as reactivation_usd,
        {{ cents_to_money('held_fx_cents') }} as fx_usd,
        cast(case
            when new_cents > 0 then 'new'
            when reactivation_cents > 0 then 'reactivation'
            when churn_cents > 0 then 'churn'
            when expansion_cents > 0 then 'expansion'
            when contraction_cents > 0 then 'contraction'
            when held_fx_cents <> 0 then 'fx'
            else 'flat'
        end as varchar) as movement,
        has_unpriced_discount
    from classified
)

select * from final
