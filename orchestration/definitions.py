"""Entry point for the Dagster UI (`make ui`) and `dagster definitions validate`."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)


def full_build_job() -> dg.JobDefinition:
    """The `full_build` job, importable by name so `dg.reconstructable` can rebuild it in step subprocesses."""
    return defs().resolve_job_def("full_build")
