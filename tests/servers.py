"""A server started as a process for a test: wait until it answers its health check, stop it afterwards."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest


@contextmanager
def running(proc: subprocess.Popen, log_path: Path, health_url: str, healthy: Callable[[httpx.Response], bool],
            name: str, timeout: float = 30, poll: float = 0.2) -> Iterator[None]:
    """Until `healthy(GET health_url)`; a process that exits or stays unhealthy for `timeout` s fails the test
    with the end of its log. The process is terminated (killed after 10 s) whatever happens."""
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the {name} exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}")
            try:
                if healthy(httpx.get(health_url, timeout=2)):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the {name} did not answer in {timeout:.0f} s:\n{log_path.read_text()[-3000:]}")
            time.sleep(poll)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
