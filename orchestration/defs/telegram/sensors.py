import dagster as dg

from analyticbot.settings import get_settings
from analyticbot.telegram.collect import pending_exports
from orchestration.defs.telegram.schedules import full_build_job


@dg.sensor(job=full_build_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def telegram_export_landing(context: dg.SensorEvaluationContext):
    """Start a build when Telegram Desktop exports land in ``$ANALYTICBOT_DATA_DIR/landing/telegram_exports``.

    The run key is the set of waiting files (name, size, mtime): a file is only requested once, and the
    ingestion moves it to ``processed/`` or ``failed/`` when done."""
    landing = get_settings().export_landing_dir
    files = pending_exports(landing) if landing.exists() else []
    if not files:
        return dg.SkipReason(f"no exports waiting in {landing}")
    key = "|".join(f"{p.name}:{p.stat().st_size}:{int(p.stat().st_mtime)}" for p in files)
    return dg.RunRequest(run_key=key, tags={"analyticbot/exports": str(len(files))})
