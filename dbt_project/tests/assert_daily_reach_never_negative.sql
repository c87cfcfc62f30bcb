-- Views never go down, so no day can lose reach (a tiny float tolerance for the proportional split).
select channel_id, date, daily_reach
from {{ ref('fct_channel_daily') }}
where daily_reach < -1e-6
