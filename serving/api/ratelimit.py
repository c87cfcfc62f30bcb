"""Per-user rate limit: a token bucket per Telegram user id, in the API process.

A Mini App session makes a burst of requests when it opens (channels, overview, posts, heatmap, best times) and
a few per tap after that, so the bucket allows a burst and a steady rate well above a person's and far below a
script's. Limits are per process: with N uvicorn workers a user gets up to N times the rate (the default is one
worker; a shared limit would need Redis on every request).
"""

from __future__ import annotations

import math
import time

MAX_USERS = 100_000  # buckets kept; beyond it, full (idle) buckets are dropped first


class RateLimiter:
    def __init__(self, rate_per_second: float, burst: int, clock=time.monotonic):
        if rate_per_second <= 0 or burst < 1:
            raise ValueError("rate_per_second must be > 0 and burst >= 1")
        self.rate, self.burst, self.clock = float(rate_per_second), float(burst), clock
        self._buckets: dict[int, tuple[float, float]] = {}  # user -> (tokens, at)

    def take(self, user_id: int) -> float:
        """0.0 when the request may go ahead, else the seconds until it could (for `Retry-After`)."""
        now = self.clock()
        tokens, at = self._buckets.get(user_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            self._buckets[user_id] = (tokens - 1.0, now)
            if len(self._buckets) > MAX_USERS:
                self._prune(now)
            return 0.0
        self._buckets[user_id] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _prune(self, now: float) -> None:
        full = [u for u, (tokens, at) in self._buckets.items() if tokens + (now - at) * self.rate >= self.burst]
        for user in full:
            del self._buckets[user]


def retry_after_header(wait_seconds: float) -> str:
    return str(max(1, math.ceil(wait_seconds)))
