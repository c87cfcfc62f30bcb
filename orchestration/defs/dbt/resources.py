"""The dbt project and CLI resource. The target (duckdb / postgres) follows ANALYTICBOT_WAREHOUSE_URL."""

import hashlib
import json
import os
import shutil
import sys
from functools import cache
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from analyticbot.settings import REPO_ROOT, get_settings

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"


def _newest_source_mtime(project_dir: Path) -> float:
    files = [p for d in ("models", "macros", "tests") for p in (project_dir / d).rglob("*") if p.is_file()]
    files += [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    return max(p.stat().st_mtime for p in files if p.exists())


@cache
def dbt_project() -> DbtProject:
    """The project, with a manifest that is never older than the SQL and yml it is parsed from.

    `dagster dev` re-parses on every load anyway; elsewhere (tests, `make demo`, run workers) parsing only
    when something changed saves the ~5 s `dbt parse` costs on each code-location load."""
    settings = get_settings()
    os.environ.update(settings.dbt_env())  # profiles.yml reads these, also during parse
    if shutil.which("dbt") is None:  # the dbt installed next to this interpreter, when the venv is not activated
        os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    project = DbtProject(project_dir=DBT_PROJECT_DIR, target=settings.warehouse_kind)
    manifest = project.manifest_path
    # dbt's partial parsing (which each run copies from target/) is thrown away whenever the rendered profile
    # differs from the one it was parsed with: another data dir or warehouse means a full parse on every run
    # (+4 s each). Re-parse once when the profile changes, so later runs parse partially.
    stamp = manifest.parent / ".analyticbot_profile"
    profile = hashlib.sha256(json.dumps(settings.dbt_env(), sort_keys=True).encode()).hexdigest()
    stale = (not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(DBT_PROJECT_DIR)
             or not stamp.exists() or stamp.read_text() != profile)
    if stale:
        project.preparer.prepare(project)
        stamp.write_text(profile)
    return project


def dbt_cli() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), target=get_settings().warehouse_kind)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={"dbt": dbt_cli()})
