{{ config(meta={'dagster': {'ref': {'name': 'fct_posts'}}}) }}
-- Every raw message is in fct_posts: a single message under its own id, an album message under its album's key.
with messages as (
    select distinct channel_id, message_id, grouped_id from {{ ref('stg_telegram__posts') }}
),

album_keys as (
    select channel_id, grouped_id, min(message_id) as message_id
    from messages
    where grouped_id is not null
    group by channel_id, grouped_id
),

expected as (
    select channel_id, message_id from messages where grouped_id is null
    union
    select channel_id, message_id from album_keys
),

posts as (
    select * from {{ ref('fct_posts') }}
)

select expected.channel_id, expected.message_id
from expected
left join posts
    on posts.channel_id = expected.channel_id and posts.message_id = expected.message_id
where posts.message_id is null
