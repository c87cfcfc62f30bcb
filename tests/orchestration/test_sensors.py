"""The export landing sensor: one run request per set of waiting files, a skip reason when there are none."""

from __future__ import annotations

import shutil

import dagster as dg

from analyticbot.settings import REPO_ROOT, get_settings
from orchestration.defs.telegram.sensors import telegram_export_landing

EXPORT = REPO_ROOT / "tests" / "analyticbot" / "fixtures" / "exports" / "channel" / "result.json"


def test_no_files_means_skip(data_dir):
    result = telegram_export_landing(dg.build_sensor_context())
    assert isinstance(result, dg.SkipReason)
    assert "telegram_exports" in result.skip_message


def test_landed_file_requests_one_build_keyed_by_the_files(data_dir):
    landing = get_settings().export_landing_dir
    landing.mkdir(parents=True)
    shutil.copyfile(EXPORT, landing / "a.json")
    first = telegram_export_landing(dg.build_sensor_context())
    again = telegram_export_landing(dg.build_sensor_context())
    assert isinstance(first, dg.RunRequest)
    assert first.run_key == again.run_key  # the same files are requested once (Dagster dedupes by run key)
    shutil.copyfile(EXPORT, landing / "b.json")
    assert telegram_export_landing(dg.build_sensor_context()).run_key != first.run_key
