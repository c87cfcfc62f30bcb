{{ config(materialized='table') }}
-- One row per Stripe refund (refund_id): its latest state (refund.created / refund.updated). status succeeded moves money; pending may still fail.
{{ stripe_charge_reversals('refund') }}
