"""Dagster definitions: assets, checks, resources, schedules, sensors and publish (see `definitions.py`)."""
