{{ config(meta={'dagster': {'ref': {'name': 'fct_mrr_monthly'}}}) }}
-- mrr_end = mrr_start + new + expansion + reactivation - contraction - churn + fx, exactly, on every row.
select *
from {{ ref('fct_mrr_monthly') }}
where mrr_end_usd <> mrr_start_usd + new_usd + expansion_usd + reactivation_usd - contraction_usd - churn_usd + fx_usd
