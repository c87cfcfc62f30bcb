import dagster as dg

from orchestration.defs.telegram.assets import RAW_TELEGRAM_KEYS

ingest_job = dg.define_asset_job(
    "telegram_ingest",
    selection=dg.AssetSelection.assets(*RAW_TELEGRAM_KEYS, ["raw", "app_users"], ["raw", "app_channels"],
                                       ["raw", "app_plans"]),
    description="Read what is due from every source into the raw tables.",
)

full_build_job = dg.define_asset_job(
    "full_build",
    selection=dg.AssetSelection.all(),
    description="Ingest, dbt build (incremental where it can), checks, publish.",
)

# Young posts need a counter reading every 10 minutes (polling.DEFAULT_SCHEDULE's first tier); the poller
# itself decides which posts are due, so a tick only costs the posts that need it.
counter_polling = dg.ScheduleDefinition(
    name="counter_polling", job=ingest_job, cron_schedule="*/10 * * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

daily_build = dg.ScheduleDefinition(
    name="daily_build", job=full_build_job, cron_schedule="15 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
