"""When to re-read a post's counters: often while it is young, rarely when old (DESIGN.md "Telegram data").

Views accrue fast in the first hours and saturate within days, so reach at 1 h / 24 h / 48 h needs dense
snapshots early and almost none later. One schedule serves the live poller; the demo samples the same curve
more sparsely (see `demo.py`) so that `large` stays at about 5M snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class PollTier:
    until_age: timedelta  # the tier applies to posts younger than this
    every: timedelta      # minimum interval between two reads in this tier


DEFAULT_SCHEDULE: tuple[PollTier, ...] = (
    PollTier(timedelta(hours=6), timedelta(minutes=10)),
    PollTier(timedelta(hours=48), timedelta(hours=1)),
    PollTier(timedelta(days=30), timedelta(days=1)),
)

# Posts older than the last tier are not re-read: their counters have stopped moving for reach purposes.
MAX_TRACKED_AGE = DEFAULT_SCHEDULE[-1].until_age


def poll_interval(age: timedelta, schedule: tuple[PollTier, ...] = DEFAULT_SCHEDULE) -> timedelta | None:
    """Interval between reads for a post of this age, or None once it is too old to track."""
    for tier in schedule:
        if age < tier.until_age:
            return tier.every
    return None


def is_due(posted_at: datetime, last_observed_at: datetime | None, now: datetime,
           schedule: tuple[PollTier, ...] = DEFAULT_SCHEDULE) -> bool:
    """True if a post's counters should be read at `now`. All three datetimes in the same zone convention."""
    interval = poll_interval(now - posted_at, schedule)
    if interval is None:
        return False
    if last_observed_at is None:
        return True
    # A small slack so a schedule tick that fires a few seconds early does not skip a whole interval.
    return now - last_observed_at >= interval - timedelta(seconds=30)
