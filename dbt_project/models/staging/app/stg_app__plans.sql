-- One row per plan in the catalogue (plan_code): rename and cast only.
with source as (
    select * from {{ source('app', 'app_plans') }}
),

final as (
    select
        cast(plan_code as varchar) as plan_code,
        cast(tier as varchar) as tier,
        cast(billing_interval as varchar) as billing_interval,
        cast(interval_months as integer) as interval_months,
        cast(usd_cents as bigint) as usd_cents,
        cast(uzs_tiyin as bigint) as uzs_tiyin,
        cast(max_channels as integer) as max_channels,
        cast(stripe_price_id as varchar) as stripe_price_id,
        cast(active as boolean) as is_active
    from source
)

select * from final
