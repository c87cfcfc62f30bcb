{{ config(meta={'dagster': {'ref': {'name': 'fct_payments'}}}) }}
-- Refunds of a charge never add up to more than the charge (same currency, major units). Disputes are left out:
-- a cardholder may dispute what was already partly refunded.
with payments as (
    select * from {{ ref('fct_payments') }}
),

reversals as (
    select charge_id, sum(amount) as reversed
    from payments
    where movement_type = 'refund'
    group by charge_id
)

select reversals.charge_id, reversals.reversed, charges.amount
from reversals
inner join payments as charges on charges.charge_id = reversals.charge_id and charges.movement_type = 'charge'
where reversals.reversed > charges.amount
