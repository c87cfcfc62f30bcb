-- One row per customer, calendar instant (each month's first instant, and the as-of instant that ends the
-- as-of month) and currency with MRR there (customer_id, instant, currency): native_micros in the currency and
-- usd_micros in USD (micros = 1e-6 of the major unit).
--   stripe: each subscription's snapshot in force at the instant, if active or past_due and not past its
--     scheduled end: gross items minus recurring discounts (forever or repeating coupons not yet ended; percent
--     coupons compound, amount coupons are per billing interval), converted at the rate of the day of the
--     snapshot's current period start.
--   payme / click: the paid period covering the instant (the latest-started one if two overlap): its amount /
--     interval_months, converted at the rate of the day the period started.
with calendar as (
    select * from {{ ref('int_revenue_calendar') }}
),

instants as (
    select instant_start as instant from calendar
    union
    select instant_end as instant from calendar
),

snapshots as (
    select * from {{ ref('int_stripe_subscription_snapshots') }}
    where is_mrr_bearing and gross_micros > 0
),

discounts as (
    select * from {{ ref('stg_payments__stripe_subscription_discounts') }}
),

periods as (
    select * from {{ ref('int_paid_periods') }}
    where gateway in ('payme', 'click')
),

fx as (
    select * from {{ ref('int_fx_rates_daily') }}
),

stripe_at as (
    select snapshots.*, instants.instant
    from snapshots
    inner join instants on instants.instant >= snapshots.valid_from and instants.instant < snapshots.mrr_until
),

-- recurring discounts in force at the instant; a discount known only by its id cannot be priced and is flagged
discounts_at as (
    select
        stripe_at.ledger_id,
        stripe_at.instant,
        max(case when discounts.is_priced and discounts.percent_off >= 100 then 1 else 0 end) as is_free,
        sum(case
            when discounts.is_priced and discounts.percent_off > 0 and discounts.percent_off < 100
                then ln(1 - discounts.percent_off / 100)
        end) as log_keep_share,
        count(case when discounts.is_priced and discounts.percent_off > 0 then 1 end) as percent_coupons,
        max(case when discounts.is_priced then discounts.percent_off end) as max_percent_off,
        cast(sum(case when discounts.is_priced then discounts.amount_off end) as bigint) as amount_off,
        max(case when discounts.is_priced then 0 else 1 end) as has_unpriced
    from stripe_at
    inner join discounts on discounts.ledger_id = stripe_at.ledger_id
    where (not discounts.is_priced or discounts.duration in ('forever', 'repeating'))
        and (discounts.discount_end is null or discounts.discount_end > stripe_at.instant)
    group by stripe_at.ledger_id, stripe_at.instant
),

stripe_discounted as (
    select
        stripe_at.customer_id,
        stripe_at.instant,
        stripe_at.currency,
        stripe_at.rate_date,
        coalesce(discounts_at.has_unpriced, 0) = 1 as has_unpriced_discount,
        -- one percent coupon exactly; several compound (Stripe applies them in turn)
        case
            when discounts_at.is_free = 1 then cast(0 as {{ type_double() }})
            when coalesce(discounts_at.percent_coupons, 0) = 0 then cast(1 as {{ type_double() }})
            when discounts_at.percent_coupons = 1
                then 1 - cast(discounts_at.max_percent_off as {{ type_double() }}) / 100
            else exp(discounts_at.log_keep_share)
        end as keep_share,
        stripe_at.gross_micros,
        coalesce(discounts_at.amount_off, 0) as amount_off,
        stripe_at.billing_months
    from stripe_at
    left join discounts_at
        on discounts_at.ledger_id = stripe_at.ledger_id and discounts_at.instant = stripe_at.instant
),

stripe_mrr as (
    select
        customer_id,
        instant,
        currency,
        rate_date,
        has_unpriced_discount,
        greatest(
            {{ round_half_away('cast(gross_micros as ' ~ type_double() ~ ') * keep_share') }}
            - {{ minor_to_micros('cast(amount_off as ' ~ type_double() ~ ') / billing_months') }},
            0
        ) as native_micros
    from stripe_discounted
),

local_at as (
    select
        periods.customer_id,
        instants.instant,
        periods.currency,
        cast(periods.period_start as date) as rate_date,
        {{ minor_to_micros('cast(periods.amount as ' ~ type_double() ~ ') / periods.interval_months') }}
            as native_micros,
        row_number() over (
            partition by periods.customer_id, instants.instant
            order by periods.period_start desc, periods.period_id desc
        ) as recency
    from periods
    inner join instants on instants.instant >= periods.period_start and instants.instant < periods.period_end
),

components as (
    select customer_id, instant, currency, rate_date, native_micros, has_unpriced_discount, 'stripe' as gateway
    from stripe_mrr
    union all
    select customer_id, instant, currency, rate_date, native_micros, false as has_unpriced_discount, 'local' as gateway
    from local_at
    where recency = 1
),

converted as (
    select
        components.*,
        {{ to_usd_units('components.native_micros', usd_per_unit('components.currency', 'fx.usd_per_unit')) }}
            as usd_micros
    from components
    left join fx on fx.rate_date = components.rate_date and fx.currency = components.currency
),

final as (
    select
        customer_id,
        instant,
        currency,
        cast(sum(native_micros) as bigint) as native_micros,
        cast(sum(usd_micros) as bigint) as usd_micros,
        max(case when has_unpriced_discount then 1 else 0 end) = 1 as has_unpriced_discount,
        -- no rate for the currency at all: usd_micros leaves this component out
        max(case when usd_micros is null then 1 else 0 end) = 1 as has_missing_fx_rate,
        count(*) as components
    from converted
    group by customer_id, instant, currency
)

select * from final
