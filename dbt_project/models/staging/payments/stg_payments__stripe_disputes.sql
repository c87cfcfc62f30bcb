{{ config(materialized='table') }}
-- One row per Stripe dispute (dispute_id): its latest state (charge.dispute.*). Funds are withdrawn when a dispute opens and come back when it is won.
{{ stripe_charge_reversals('dispute') }}
