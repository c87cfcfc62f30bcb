"""Deterministic demo data: channels, posts, counter snapshots, subscribers (DESIGN.md "Telegram data").

`generate_demo(seed, scale, days)` returns a `RawBatch` in the normalised contract (`contract.RAW_TABLES`), the
same tables a live telethon source produces, with ``source_kind = "demo"``.

Properties the rest of the project relies on:

- **Deterministic.** Same ``(seed, scale, days, start)`` -> identical Arrow tables.
- **Prefix-stable.** Every row of ``generate_demo(days=N)`` is in ``generate_demo(days=N + 1)`` unchanged; the
  longer run only adds rows observed (posted, revised, with ``day``) in ``[start + N days, start + N + 1 days)``.
  Incremental-refresh benchmarks and idempotent re-ingestion depend on it. It holds because no value is drawn
  from a random *stream* whose position depends on the window length: every random number is a counter-based
  hash (splitmix64) of ``(seed, domain, channel index, day, post slot, draw id[, snapshot index])``; each post's
  whole lifetime (revisions, 25 snapshots) is computed and only then filtered to ``< end``. Subscribers follow a
  recurrence over days, so day ``d`` depends on days ``<= d`` only. Channel parameters come from
  ``numpy.random.default_rng([seed, domain, channel index])``, so the channels of ``tiny`` are the first channels
  of ``default`` and ``large``, with the same rows over the same days.
- **A planted, learnable signal.** Eventual views are ``subscribers at posting time x channel reach (0.1-0.6) x
  audience activity(local hour, local weekday) x content-type and text-length effects x same-day fatigue x
  lognormal noise``. `activity_profile` exposes the ground-truth activity multipliers (about 0.55 at night to
  1.3 at the channel's peak), so a model of "best time to post" can be checked against the truth.

Dynamics, briefly: each channel has a topic (content mix), a time zone, 1-8 posts a day around 2-4 preferred local
hours (plus off-hours posts, so bad hours are observed too), views ``V * ((1 - w) (1 - exp(-t/tau)) + w (1 -
exp(-t/tau_slow)))`` with tau of 1-3.5 h at peak hours (slower at bad hours) and a slow tail of days, an occasional second wave
(a repost elsewhere), forwards / reactions / replies following the same curve (reactions and replies a bit
earlier), reactions split by emoji, daily joins and leaves (ad-promo spikes that partly churn back, more leaves
on over-posting days), edits and deletions (no snapshots after a deletion).

Conventions shared with the live source (`live.py`): an album is several messages with one ``grouped_id``,
consecutive ``message_id`` and the same ``posted_at``; each message keeps its own media type (photo / video) and
its own, nearly identical, views and forwards counters; reactions and replies sit on the first message (the
caption), the others read 0. The album effect on reach applies to the album as a whole. ``has_media`` is true
for everything but text. An edit adds a revision row (``revision_at = edited_at``); a deletion adds a row with
``deleted = True`` for each message of the post.

Snapshot schedule: a sparser sampling of ``polling.DEFAULT_SCHEDULE`` (every 10 min to 6 h, hourly to 48 h,
daily to 30 d), at ages 10m 20m 30m 45m 1h 1.5h 2h 3h 4h 6h 9h 12h 18h 24h 30h 36h 48h 3d 4d 5d 7d 10d 14d 21d
30d (25 reads per message, ~5.7M for ``large``), each with a -5 %..+8 % jitter drawn per post (album messages are
read together). Consecutive nominal ages differ by at least 20 %, so jittered ages stay strictly increasing, and
there is always a read before and after 1 h (45m / 1.5h), 24 h (18h / 30h) and 48 h (36h / 3d) for
interpolation. Counters are rounded from a monotone curve, so they never decrease along a post.

``reactions_by_emoji`` is filled on *every* snapshot (JSON text such as ``{"👍": 12, "❤": 3}``, ``{}`` for no
reactions; counts sum to ``reactions``), built vectorised with polars string concatenation. (Filling only the
last snapshot inside the window would break prefix stability.)

Channel snapshots: one per day at 00:00 UTC of the day window (subscribers at the start of the day, so the
difference of two consecutive ones is that day's ``joins - leaves``) plus reads near 06:00, 12:00, 18:00.
Daily stats for day ``d`` are observed at the last second of that day. Days are windows of 24 h from ``start``
(calendar UTC days for the default, midnight ``DEMO_START``).

Measured on the 2-core development machine (Python 3.11, numpy 2.4, polars 2.1, pyarrow 26):
``generate_demo(scale="large")`` -> 500 channels x 120 days: 200,542 posts (an album as one), 237,261 messages,
258,752 ``telegram_posts`` rows (with edit / deletion revisions), 5,680,714 post snapshots, 240,000 channel
snapshots, 60,000 daily stats rows, in 4.3 s wall time (4.7 s pinned to one core) and 1.4 GB peak RSS.
``default`` and ``tiny`` take well under a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pac

from analyticbot.telegram.contract import CONTENT_TYPES, RAW_TABLES, RawBatch, utc_naive


@dataclass(frozen=True)
class DemoScale:
    channels: int
    days: int


SCALES: dict[str, DemoScale] = {
    "tiny": DemoScale(channels=3, days=21),        # fast tests
    "default": DemoScale(channels=8, days=120),    # the demo a user sees
    "large": DemoScale(channels=500, days=120),    # ~200k posts (albums as one), ~5.7M post snapshots
}

DEMO_START = datetime(2026, 6, 1)  # naive UTC; fixed so that the demo is deterministic


@dataclass(frozen=True)
class DemoChannel:
    channel_id: int
    title: str
    username: str
    time_zone: str
    owner_user_id: int
    owner_language: str


@dataclass
class DemoDataset:
    channels: list[DemoChannel]
    batch: RawBatch
    start: datetime
    end: datetime  # every observation is < end


# -- counter-based random numbers -----------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MASK64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser, elementwise on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + _GOLDEN
        x = (x ^ (x >> np.uint64(30))) * _M1
        x = (x ^ (x >> np.uint64(27))) * _M2
        return x ^ (x >> np.uint64(31))


def _key(*parts) -> np.ndarray:
    """A 64-bit hash of integer parts (scalars or broadcastable arrays)."""
    h = np.zeros(1, dtype=np.uint64)
    for p in parts:
        if isinstance(p, (int, np.integer)):
            p = np.array([int(p) & _MASK64], dtype=np.uint64)
        else:
            p = np.asarray(p).astype(np.uint64)
        h = _mix(h ^ p)
    return h


def _unif(key: np.ndarray, draw: int) -> np.ndarray:
    """Uniform in (0, 1): draw number `draw` of the entity identified by `key`."""
    z = _mix(key ^ np.uint64(draw))
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def _norm(key: np.ndarray, draw: int) -> np.ndarray:
    """Standard normal (Box-Muller on two keyed uniforms)."""
    u1 = _unif(key, draw)
    u2 = _unif(key, draw + (1 << 40))
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


# hash domains
_D_DAY, _D_POST, _D_MSG, _D_CHANSNAP = 11, 12, 13, 14
# rng domains for channel parameters
_R_CHANNEL, _R_OWNER = 0xC4A1, 0x0E1E

# per-post draw ids (fixed forever: changing one changes the demo)
(_P_MIX, _P_PREF, _P_PREFN, _P_HOUR, _P_KIND, _P_ALBUM, _P_TEXT, _P_CAPTION, _P_FWD, _P_V, _P_TAU, _P_WAVE,
 _P_WAVE_SIZE, _P_WAVE_T, _P_WAVE_TAU, _P_F, _P_R, _P_RP, _P_EDIT, _P_EDIT_T, _P_EDIT_LEN, _P_DEL, _P_DEL_T,
 _P_GAP, _P_GAP_N) = range(1, 26)
_P_EMOJI = 100        # + slot
_P_AGE = 200          # + snapshot index
_P_MSG_KIND = 300     # + message offset in an album (per post key)


# -- static vocabulary ----------------------------------------------------------------------------------------

EMOJI = ("👍", "❤", "🔥", "👏", "😁", "🤔", "😢", "🎉", "🤩", "🙏", "👎", "💯", "😱", "🤯")
N_EMOJI_SLOTS = 5

_ZONES = (  # zone, weight, city names per language, languages with weights
    ("Asia/Tashkent", 0.30, {"en": "Tashkent", "ru": "Ташкент", "uz": "Toshkent"}, (("uz", 0.6), ("ru", 0.4))),
    ("Europe/Moscow", 0.30, {"en": "Moscow", "ru": "Москва", "uz": "Moskva"}, (("ru", 1.0),)),
    ("Europe/Berlin", 0.15, {"en": "Berlin", "ru": "Берлин", "uz": "Berlin"}, (("en", 1.0),)),
    ("America/New_York", 0.15, {"en": "NYC", "ru": "Нью-Йорк", "uz": "Nyu-York"}, (("en", 1.0),)),
    ("Europe/London", 0.10, {"en": "London", "ru": "Лондон", "uz": "London"}, (("en", 1.0),)),
)

# content mix over CONTENT_TYPES: text photo video album document audio voice poll sticker other
_TOPICS = (
    ("news", {"en": "News Now", "ru": "Новости", "uz": "Yangiliklar"},
     (40, 28, 12, 6, 1, 0, 1, 4, 0, 8), (4.0, 8.0)),
    ("tech", {"en": "Tech Digest", "ru": "Техно Дайджест", "uz": "Texno Dayjest"},
     (35, 28, 10, 6, 7, 0, 1, 6, 1, 6), (2.0, 5.0)),
    ("memes", {"en": "Memes Daily", "ru": "Мемы", "uz": "Memlar"},
     (6, 52, 24, 8, 0, 0, 1, 3, 5, 1), (3.0, 8.0)),
    ("food", {"en": "Kitchen Notes", "ru": "Кухня", "uz": "Oshxona"},
     (12, 38, 20, 20, 1, 0, 2, 5, 1, 1), (1.0, 3.0)),
    ("travel", {"en": "Travel Diary", "ru": "Путешествия", "uz": "Sayohat"},
     (12, 34, 20, 26, 1, 0, 2, 3, 0, 2), (1.0, 3.0)),
    ("crypto", {"en": "Crypto Signals", "ru": "Крипто", "uz": "Kripto"},
     (46, 24, 6, 2, 2, 0, 3, 9, 2, 6), (3.0, 7.0)),
    ("music", {"en": "Music Box", "ru": "Музыка", "uz": "Musiqa"},
     (8, 20, 22, 6, 1, 34, 2, 4, 2, 1), (1.0, 4.0)),
    ("study", {"en": "Learn Daily", "ru": "Учим английский", "uz": "Ingliz tili"},
     (30, 18, 10, 3, 10, 2, 10, 15, 1, 1), (1.0, 4.0)),
    ("sport", {"en": "Sport Live", "ru": "Спорт", "uz": "Sport"},
     (25, 30, 28, 6, 0, 0, 1, 6, 1, 3), (3.0, 7.0)),
    ("business", {"en": "Business Notes", "ru": "Бизнес", "uz": "Biznes"},
     (50, 24, 5, 2, 10, 0, 2, 5, 0, 2), (1.0, 3.0)),
)
_TITLE_SUFFIXES = ("| Official", "PRO", "Daily", "2.0", "✨")

_KIND_INDEX = {k: i for i, k in enumerate(CONTENT_TYPES)}
_ALBUM = _KIND_INDEX["album"]
# multipliers by post kind, in CONTENT_TYPES order
_VIEW_MULT = np.array([0.90, 1.05, 1.15, 1.12, 0.80, 0.85, 0.75, 1.00, 0.70, 0.85])
_FWD_MULT = np.array([1.20, 1.00, 1.30, 1.10, 1.50, 0.90, 0.50, 0.40, 0.30, 0.80])
_REACT_MULT = np.array([0.90, 1.10, 1.20, 1.15, 0.60, 1.00, 0.90, 0.60, 1.30, 0.80])
_REPLY_MULT = np.array([1.20, 1.00, 1.00, 1.00, 0.80, 0.90, 1.30, 1.50, 0.60, 0.80])
_CAPTION_PROB = np.array([1.00, 0.75, 0.70, 0.80, 0.60, 0.50, 0.30, 1.00, 0.00, 0.50])

# Snapshot ages (see module docstring): a sparser sampling of polling.DEFAULT_SCHEDULE.
_M, _H, _DAY = 60, 3600, 86400
SNAPSHOT_AGES = np.array([
    10 * _M, 20 * _M, 30 * _M, 45 * _M, 1 * _H, 90 * _M, 2 * _H, 3 * _H, 4 * _H, 6 * _H, 9 * _H, 12 * _H,
    18 * _H, 24 * _H, 30 * _H, 36 * _H, 48 * _H, 3 * _DAY, 4 * _DAY, 5 * _DAY, 7 * _DAY, 10 * _DAY, 14 * _DAY,
    21 * _DAY, 30 * _DAY,
], dtype=np.float64)
_AGE_JITTER_LOW, _AGE_JITTER_SPAN = -0.05, 0.13

_MAX_SLOTS = 16        # most posts a channel makes in one day
_SNAP_CHUNK = 40_000   # messages per vectorised snapshot chunk (bounds peak memory)
_NEVER = np.int64(1) << np.int64(62)


# -- channels -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _ChannelParams:
    channel: DemoChannel
    topic: str
    subscribers0: float
    posts_per_day: float
    weekend_posting: float
    preferred_hours: tuple[float, ...]
    content_mix: np.ndarray          # probabilities over CONTENT_TYPES
    reach: float
    noise_sigma: float
    tau_hours: float
    slow_weight: float
    tau_slow_days: float
    forward_rate: float
    reaction_rate: float
    reply_rate: float                # 0: comments are off
    forward_share: float             # share of posts that are forwards from other channels
    edit_prob: float
    delete_prob: float
    join_rate: float
    leave_rate: float
    promo_prob: float
    activity: tuple[float, ...]      # shift, morning, lunch, evening, night floor
    weekend_activity: float
    emoji: tuple[int, ...]           # indexes into EMOJI, most used first
    emoji_weights: tuple[float, ...]
    first_message_id: int
    title_change_day: int | None
    new_title: str | None


def _channel_params(seed: int, index: int) -> _ChannelParams:
    seed64 = seed & _MASK64
    owner_index = index - 1 if index % 4 == 1 else index   # every 4th owner has two channels
    orng = np.random.default_rng([seed64, _R_OWNER, owner_index])
    zone_i = int(orng.choice(len(_ZONES), p=[z[1] for z in _ZONES]))
    zone, _, cities, langs = _ZONES[zone_i]
    language = langs[int(orng.choice(len(langs), p=[w for _, w in langs]))][0]
    owner_user_id = 6_000_000_000 + owner_index * 97 + int(orng.integers(0, 97))

    rng = np.random.default_rng([seed64, _R_CHANNEL, index])
    topic_i = int(rng.integers(len(_TOPICS)))
    topic, names, mix, ppd = _TOPICS[topic_i]
    title = f"{names[language]} {cities[language]}"
    city_key = cities["en"].lower().replace("-", "")
    username = f"{topic}_{city_key}_{index + 1}"
    channel = DemoChannel(1_000_000_000 + index, title, username, zone, owner_user_id, language)

    mix = np.asarray(mix, dtype=np.float64) * np.exp(rng.normal(0.0, 0.3, len(mix)))
    mix /= mix.sum()
    n_pref = int(rng.integers(2, 5))
    preferred = rng.choice(np.arange(7, 23), n_pref, replace=False) + rng.uniform(0.0, 1.0, n_pref)
    emoji = rng.choice(len(EMOJI), N_EMOJI_SLOTS, replace=False)
    ew = np.sort(rng.dirichlet(np.full(N_EMOJI_SLOTS, 0.8)))[::-1]
    join_rate = float(rng.uniform(0.002, 0.012))
    changes = rng.uniform() < 0.3
    change_day = int(rng.integers(5, 110)) if changes else None
    new_title = f"{title} {_TITLE_SUFFIXES[int(rng.integers(len(_TITLE_SUFFIXES)))]}" if changes else None
    return _ChannelParams(
        channel=channel, topic=topic,
        subscribers0=float(np.clip(rng.lognormal(np.log(6000.0), 1.0), 300, 500_000)),
        posts_per_day=float(rng.uniform(*ppd)),
        weekend_posting=float(rng.uniform(0.6, 1.0)),
        preferred_hours=tuple(float(h) for h in np.sort(preferred)),
        content_mix=mix,
        reach=float(rng.uniform(0.12, 0.55)),
        noise_sigma=float(rng.uniform(0.25, 0.45)),
        tau_hours=float(rng.uniform(1.0, 3.5)),
        slow_weight=float(rng.uniform(0.08, 0.20)),
        tau_slow_days=float(rng.uniform(2.0, 6.0)),
        forward_rate=float(rng.uniform(0.003, 0.02)),
        reaction_rate=float(rng.uniform(0.005, 0.04)),
        reply_rate=float(0.0 if rng.uniform() < 0.35 else rng.uniform(0.0005, 0.006)),
        forward_share=float(rng.uniform(0.0, 0.10)),
        edit_prob=float(rng.uniform(0.03, 0.15)),
        delete_prob=float(rng.uniform(0.005, 0.025)),
        join_rate=join_rate,
        leave_rate=join_rate * float(rng.uniform(0.35, 1.05)),
        promo_prob=float(rng.uniform(0.0, 0.05)),
        activity=(float(rng.uniform(-1.5, 1.5)), float(rng.uniform(0.3, 0.9)), float(rng.uniform(0.3, 0.7)),
                  float(rng.uniform(0.8, 1.2)), float(rng.uniform(0.05, 0.15))),
        weekend_activity=float(rng.uniform(0.85, 1.12)),
        emoji=tuple(int(e) for e in emoji), emoji_weights=tuple(float(w) for w in ew),
        first_message_id=int(rng.integers(50, 20_000)),
        title_change_day=change_day, new_title=new_title,
    )


def _bump(h: np.ndarray, mu, sd) -> np.ndarray:
    d = np.mod(h - mu + 12.0, 24.0) - 12.0
    return np.exp(-0.5 * (d / sd) ** 2)


def _activity_raw(h: np.ndarray, shift, morning, lunch, evening, floor) -> np.ndarray:
    return (floor + morning * _bump(h, 8.5 + 0.5 * shift, 1.3) + lunch * _bump(h, 13.0 + 0.5 * shift, 1.2)
            + evening * _bump(h, 20.5 + shift, 2.0))


def _activity_max(act: tuple[float, ...]) -> float:
    grid = np.arange(0.0, 24.0, 1.0 / 12.0)
    return float(_activity_raw(grid, *act).max())


def _weekday_activity(p: _ChannelParams) -> np.ndarray:
    w = np.ones(7)
    w[5:] = p.weekend_activity
    return w


def activity_profile(seed: int, channel_index: int) -> np.ndarray:
    """Ground-truth audience multiplier on reach, shape (7, 24): local weekday (Mon=0) x local hour (centre).

    About 0.55 at the quietest hours and 1.3 at the peak; eventual views are proportional to it.
    """
    p = _channel_params(seed, channel_index)
    hours = np.arange(24) + 0.5
    act = 0.5 + 0.8 * _activity_raw(hours, *p.activity) / _activity_max(p.activity)
    return _weekday_activity(p)[:, None] * act[None, :]


def _utc_offsets(zone: str, start: datetime, days: int) -> np.ndarray:
    """UTC offset in seconds of `zone` at noon of each day window."""
    tz = ZoneInfo(zone)
    out = np.empty(days, dtype=np.int64)
    for d in range(days):
        t = (start + timedelta(days=d, hours=12)).replace(tzinfo=ZoneInfo("UTC"))
        out[d] = int(t.astimezone(tz).utcoffset().total_seconds())
    return out


# -- the generator --------------------------------------------------------------------------------------------

def _ts(seconds: np.ndarray) -> pa.Array:
    return pa.array((np.asarray(seconds, dtype=np.int64) * 1_000_000).view("datetime64[us]"))


def _col(params: list[_ChannelParams], attr: str) -> np.ndarray:
    return np.array([getattr(p, attr) for p in params], dtype=np.float64)


def _table(name: str, columns: dict) -> pa.Table:
    schema = RAW_TABLES[name].schema
    return pa.table({f.name: columns[f.name] for f in schema}, schema=schema)


def generate_demo(seed: int = 7, scale: str = "default", days: int | None = None,
                  start: datetime = DEMO_START, observed_from: datetime | None = None) -> DemoDataset:
    """A deterministic, prefix-stable demo dataset (see the module docstring).

    `observed_from` keeps only rows stamped at or after it (observed_at, revision_at, the day's stats): exactly
    the rows of the full dataset in that window, at a fraction of the cost, since only posts young enough to
    be read in the window get snapshots. An incremental refresh asks for the newest day only."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    spec = SCALES[scale]
    n_days = spec.days if days is None else int(days)
    if n_days < 1:
        raise ValueError("days must be at least 1")
    start = utc_naive(start).replace(microsecond=0)
    end = start + timedelta(days=n_days)
    start_s = int((start - datetime(1970, 1, 1)).total_seconds())
    end_s = start_s + n_days * _DAY
    from_s = start_s if observed_from is None else int((utc_naive(observed_from) - datetime(1970, 1, 1)).total_seconds())
    start_weekday = start.weekday()

    params = [_channel_params(seed, i) for i in range(spec.channels)]
    n_ch = len(params)
    channel_ids = np.array([p.channel.channel_id for p in params], dtype=np.int64)
    cidx = np.arange(n_ch)
    didx = np.arange(n_days)

    offsets = np.empty((n_ch, n_days), dtype=np.int64)
    zone_cache: dict[str, np.ndarray] = {}
    for c, p in enumerate(params):
        z = p.channel.time_zone
        if z not in zone_cache:
            zone_cache[z] = _utc_offsets(z, start, n_days)
        offsets[c] = zone_cache[z]

    # ---- posting volume per (channel, day) --------------------------------------------------------------
    day_key = _key(seed, _D_DAY, cidx[:, None], didx[None, :])            # (C, D)
    utc_weekday = (start_weekday + didx) % 7
    lam = _col(params, "posts_per_day")
    lam_eff = lam[:, None] * np.where(utc_weekday[None, :] >= 5, _col(params, "weekend_posting")[:, None], 1.0)
    n_posts = np.floor(lam_eff * np.exp(0.35 * _norm(day_key, 1) - 0.06125) + _unif(day_key, 2))
    n_posts = np.clip(n_posts, 0, _MAX_SLOTS).astype(np.int64)

    # ---- subscribers: joins and leaves, a recurrence over days -------------------------------------------
    jr, lr = _col(params, "join_rate"), _col(params, "leave_rate")
    join_noise = np.exp(0.25 * _norm(day_key, 3) - 0.03125) * np.where(utc_weekday[None, :] >= 5, 0.9, 1.0)
    promo = (_unif(day_key, 4) < _col(params, "promo_prob")[:, None]) * (2.0 + 6.0 * _unif(day_key, 5))
    leave_noise = np.exp(0.25 * _norm(day_key, 6) - 0.03125)
    overposting = 1.0 + 0.06 * np.maximum(0.0, n_posts - lam[:, None])
    subs_start = np.empty((n_ch, n_days), dtype=np.int64)
    joins = np.empty((n_ch, n_days), dtype=np.int64)
    leaves = np.empty((n_ch, n_days), dtype=np.int64)
    s_prev = np.round(_col(params, "subscribers0")).astype(np.int64)
    promo_extra_prev = np.zeros(n_ch)
    for d in range(n_days):
        base_j = s_prev * jr * join_noise[:, d]
        extra = base_j * promo[:, d]
        j = np.floor(base_j + extra + 0.5).astype(np.int64)
        lv = s_prev * lr * leave_noise[:, d] * overposting[:, d] + 0.15 * promo_extra_prev
        lv = np.minimum(np.floor(lv + 0.5).astype(np.int64), s_prev + j - 50).clip(0)
        subs_start[:, d] = s_prev
        joins[:, d], leaves[:, d] = j, lv
        s_prev = s_prev + j - lv
        promo_extra_prev = 0.6 * promo_extra_prev + extra
    net = joins - leaves

    # ---- posts (an album is one post) --------------------------------------------------------------------
    slot_ok = np.arange(_MAX_SLOTS)[None, None, :] < n_posts[:, :, None]
    pc, pd, ps = np.nonzero(slot_ok)
    pkey = _key(seed, _D_POST, pc, pd, ps)

    n_pref = np.array([len(p.preferred_hours) for p in params])
    pref = np.zeros((n_ch, 4))
    for c, p in enumerate(params):
        pref[c, : len(p.preferred_hours)] = p.preferred_hours
    u_mix = _unif(pkey, _P_MIX)
    pref_pick = pref[pc, np.floor(_unif(pkey, _P_PREF) * n_pref[pc]).astype(np.int64)]
    local_h = np.where(
        u_mix < 0.55, pref_pick + 0.6 * _norm(pkey, _P_PREFN),
        np.where(u_mix < 0.90, 7.0 + 16.5 * _unif(pkey, _P_HOUR), 24.0 * _unif(pkey, _P_HOUR)))
    local_h = np.mod(local_h, 24.0)
    off = offsets[pc, pd]
    t_utc = np.mod(np.floor(local_h * 3600.0).astype(np.int64) - off, _DAY)

    order = np.lexsort((ps, t_utc, pd, pc))        # message ids follow posted_at within a channel
    pc, pd, ps, pkey, local_h, t_utc, off = (a[order] for a in (pc, pd, ps, pkey, local_h, t_utc, off))
    n_p = len(pc)
    posted = start_s + pd * _DAY + t_utc
    local_weekday = (start_weekday + (pd * _DAY + t_utc + off) // _DAY) % 7

    # content
    cum_mix = np.cumsum(np.stack([p.content_mix for p in params]), axis=1)
    cum_mix[:, -1] = 1.0
    kind = (_unif(pkey, _P_KIND)[:, None] > cum_mix[pc]).sum(axis=1)
    is_album = kind == _ALBUM
    n_msgs = np.where(is_album, 2 + np.floor(5.0 * _unif(pkey, _P_ALBUM) ** 1.7), 1).astype(np.int64)
    text_len = np.where(
        kind == _KIND_INDEX["text"], np.clip(np.exp(np.log(450.0) + 0.8 * _norm(pkey, _P_TEXT)), 15, 4096),
        np.clip(np.exp(np.log(160.0) + 0.9 * _norm(pkey, _P_TEXT)), 5, 1024))
    text_len = np.where(kind == _KIND_INDEX["poll"], 20 + 180 * _unif(pkey, _P_TEXT), text_len)
    text_len = np.where(_unif(pkey, _P_CAPTION) < _CAPTION_PROB[kind], np.floor(text_len), 0).astype(np.int64)
    is_forward = _unif(pkey, _P_FWD) < _col(params, "forward_share")[pc]

    # reach
    p_act = np.array([p.activity for p in params])                          # (C, 5)
    act_max = np.array([_activity_max(p.activity) for p in params])
    act = 0.5 + 0.8 * _activity_raw(local_h, *(p_act[pc, i] for i in range(5))) / act_max[pc]
    act = act * np.where(local_weekday >= 5, _col(params, "weekend_activity")[pc], 1.0)
    subs_at_post = subs_start[pc, pd] + net[pc, pd] * (t_utc / _DAY)
    text_mult = np.where(text_len > 0, np.exp(-0.06 * np.log(np.maximum(text_len, 1) / 350.0) ** 2), 0.95)
    fatigue = (lam[pc] / np.maximum(n_posts[pc, pd], lam[pc])) ** 0.2
    sigma = _col(params, "noise_sigma")[pc]
    v1 = (subs_at_post * _col(params, "reach")[pc] * act * _VIEW_MULT[kind] * text_mult
          * np.where(is_forward, 0.8, 1.0) * fatigue * np.exp(sigma * _norm(pkey, _P_V) - sigma ** 2 / 2))
    tau = _col(params, "tau_hours")[pc] * act ** -0.8 * np.exp(0.25 * _norm(pkey, _P_TAU))
    wave = _unif(pkey, _P_WAVE) < 0.04
    v2 = np.where(wave, v1 * (0.3 + 1.2 * _unif(pkey, _P_WAVE_SIZE)), 0.0)
    t2 = np.clip(np.exp(np.log(20.0) + 0.8 * _norm(pkey, _P_WAVE_T)), 3.0, 400.0)
    tau2 = 2.0 + 4.0 * _unif(pkey, _P_WAVE_TAU)
    v_total = v1 + v2
    fwd_final = v_total * _col(params, "forward_rate")[pc] * _FWD_MULT[kind] * np.exp(
        0.5 * _norm(pkey, _P_F) - 0.125)
    react_final = v_total * _col(params, "reaction_rate")[pc] * _REACT_MULT[kind] * np.exp(
        0.45 * _norm(pkey, _P_R) - 0.10125)
    reply_final = v_total * _col(params, "reply_rate")[pc] * _REPLY_MULT[kind] * np.exp(
        0.6 * _norm(pkey, _P_RP) - 0.18)

    # edits and deletions (times in seconds after posting)
    edit_at = np.where(
        _unif(pkey, _P_EDIT) < _col(params, "edit_prob")[pc],
        posted + np.clip(np.exp(np.log(600.0) + 1.6 * _norm(pkey, _P_EDIT_T)), 30, 3 * _DAY).astype(np.int64),
        _NEVER)
    delete_at = np.where(
        _unif(pkey, _P_DEL) < _col(params, "delete_prob")[pc],
        posted + np.clip(np.exp(np.log(8 * 3600.0) + 1.5 * _norm(pkey, _P_DEL_T)), 120, 25 * _DAY).astype(
            np.int64),
        _NEVER)
    edit_at = np.where(edit_at < delete_at, edit_at, _NEVER)
    edited_len = np.where(text_len > 0, np.maximum(
        1, np.floor(text_len * (1.0 + 0.06 * _norm(pkey, _P_EDIT_LEN)) + 0.5)), text_len).astype(np.int64)

    # emoji shares (cumulative, per post)
    ew = np.array([p.emoji_weights for p in params])[pc]
    ew = ew * np.exp(0.5 * np.stack([_norm(pkey, _P_EMOJI + k) for k in range(N_EMOJI_SLOTS)], axis=1))
    emoji_cum = np.cumsum(ew / ew.sum(axis=1, keepdims=True), axis=1)
    emoji_cum[:, -1] = 1.0

    # message ids: consecutive per channel in posted order, with occasional gaps (service / vanished messages)
    gap = np.where(_unif(pkey, _P_GAP) < 0.06, 1 + np.floor(3.0 * _unif(pkey, _P_GAP_N)), 0).astype(np.int64)
    step = gap + n_msgs
    cum = np.cumsum(step)
    first_of_channel = np.searchsorted(pc, cidx)
    before = np.concatenate([[0], cum])[first_of_channel]                    # cum total of earlier channels
    first_ids = np.array([p.first_message_id for p in params], dtype=np.int64)
    lead_id = first_ids[pc] + (cum - before[pc]) - n_msgs + 1

    # ---- messages ----------------------------------------------------------------------------------------
    mp = np.repeat(np.arange(n_p), n_msgs)                                   # post of each message
    msg_start = np.cumsum(n_msgs) - n_msgs
    moff = np.arange(len(mp)) - msg_start[mp]                                # offset inside an album
    msg_id = lead_id[mp] + moff
    mkey = pkey[mp]
    msg_kind_u = _unif(_mix(mkey ^ _mix(moff.astype(np.uint64) + np.uint64(_D_MSG << 32))), _P_MSG_KIND)
    album_media = np.where(msg_kind_u < 0.8, _KIND_INDEX["photo"], _KIND_INDEX["video"])
    msg_kind = np.where(is_album[mp], album_media, kind[mp])
    msg_text = np.where(moff == 0, text_len[mp], 0)
    msg_factor = np.where(moff == 0, 1.0, 1.0 - 0.04 * msg_kind_u)         # album views/forwards nearly equal
    grouped = np.where(is_album, 13_400_000_000_000_000 + pc * 1_000_000_000 + lead_id, -1)

    m_ch = channel_ids[pc[mp]]
    m_posted = posted[mp]
    m_grouped = grouped[mp]
    m_fwd = is_forward[mp]
    m_delete = delete_at[mp]
    m_edit = np.where(moff == 0, edit_at[mp], _NEVER)
    m_edit_len = edited_len[mp]

    def revisions(sel: np.ndarray, rev_at, edited, deleted: bool, tlen) -> dict:
        g = m_grouped[sel]
        return {
            "channel_id": pa.array(m_ch[sel]), "message_id": pa.array(msg_id[sel]),
            "revision_at": _ts(rev_at[sel]),
            "grouped_id": pa.array(g, mask=g < 0, type=pa.int64()),
            "posted_at": _ts(m_posted[sel]),
            "edited_at": pa.array((np.asarray(edited[sel]) * 1_000_000).view("datetime64[us]"),
                                  mask=edited[sel] >= _NEVER, type=pa.timestamp("us")),
            "deleted": pa.array(np.full(int(sel.sum()), deleted)),
            "content_type": pa.DictionaryArray.from_arrays(
                pa.array(msg_kind[sel].astype(np.int32)), pa.array(CONTENT_TYPES)).cast(pa.string()),
            "text_length": pa.array(tlen[sel].astype(np.int32)),
            "has_media": pa.array(msg_kind[sel] != _KIND_INDEX["text"]),
            "is_forward": pa.array(m_fwd[sel]),
            "source_kind": pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(int(sel.sum()), dtype=np.int32)), pa.array(["demo"])).cast(pa.string()),
        }

    never = np.full(len(mp), _NEVER)
    original = revisions(np.ones(len(mp), dtype=bool), m_posted, never, False, msg_text)
    edit_sel = m_edit < end_s
    edit_rows = revisions(edit_sel, m_edit, m_edit, False, np.where(moff == 0, m_edit_len, 0))
    del_sel = m_delete < end_s
    deleted_text = np.where((moff == 0) & (m_edit < m_delete), m_edit_len, msg_text)
    del_rows = revisions(del_sel, m_delete, np.where(m_edit < m_delete, m_edit, _NEVER), True, deleted_text)
    posts_table = pa.concat_tables([_table("telegram_posts", t) for t in (original, edit_rows, del_rows)])
    posts_table = posts_table.sort_by([("channel_id", "ascending"), ("message_id", "ascending"),
                                       ("revision_at", "ascending")])

    # ---- post snapshots, vectorised in chunks of messages ------------------------------------------------
    channel_emoji = np.array([p.emoji for p in params], dtype=np.int64)     # (C, slots)
    snap_tables = []
    # only messages young enough to be read at or after from_s (the oldest reading is at the largest age)
    oldest_age = int(SNAPSHOT_AGES.max() * (1.0 + _AGE_JITTER_LOW + _AGE_JITTER_SPAN)) + 1
    readable = np.flatnonzero(m_posted >= from_s - oldest_age)
    for lo in range(0, len(readable), _SNAP_CHUNK):
        sl = readable[lo:lo + _SNAP_CHUNK]
        p_ = mp[sl]
        jitter = np.stack([_unif(pkey[p_], _P_AGE + j) for j in range(len(SNAPSHOT_AGES))], axis=1)
        age = np.floor(SNAPSHOT_AGES[None, :] * (1.0 + _AGE_JITTER_LOW + _AGE_JITTER_SPAN * jitter))
        obs = posted[p_][:, None] + age.astype(np.int64)
        keep = (obs < end_s) & (obs >= from_s) & (obs < delete_at[p_][:, None])
        rows, cols = np.nonzero(keep)
        if len(rows) == 0:
            continue
        rp = p_[rows]                                                        # post of each snapshot row
        t = age[rows, cols] / 3600.0
        w = _col(params, "slow_weight")[pc[rp]]
        tau_slow = _col(params, "tau_slow_days")[pc[rp]] * 24.0
        acc = v1[rp] * ((1.0 - w) * -np.expm1(-t / tau[rp]) + w * -np.expm1(-t / tau_slow))
        dt2 = np.maximum(t - t2[rp], 0.0)
        acc += v2[rp] * -np.expm1(-dt2 / tau2[rp])
        frac = acc / v_total[rp]
        mf = msg_factor[sl][rows]
        lead = moff[sl][rows] == 0
        views = np.floor(acc * mf + 0.5).astype(np.int64)
        forwards = np.floor(fwd_final[rp] * frac ** 1.05 * mf + 0.5).astype(np.int64)
        reactions = np.where(lead, np.floor(react_final[rp] * frac ** 0.85 + 0.5), 0).astype(np.int64)
        replies = np.where(lead, np.floor(reply_final[rp] * frac ** 0.75 + 0.5), 0).astype(np.int64)
        # split reactions by emoji: floor differences of cumulative shares, so the parts sum to the total
        cuts = np.floor(reactions[:, None] * emoji_cum[rp]).astype(np.int64)
        parts = np.diff(cuts, axis=1, prepend=0)
        emo = channel_emoji[pc[rp]]
        df = pl.DataFrame({**{f"n{k}": parts[:, k] for k in range(N_EMOJI_SLOTS)},
                           **{f"e{k}": emo[:, k] for k in range(N_EMOJI_SLOTS)}})
        frags = [
            pl.when(pl.col(f"n{k}") > 0).then(pl.concat_str([
                pl.lit('"'), pl.col(f"e{k}").replace_strict(list(range(len(EMOJI))), list(EMOJI),
                                                            return_dtype=pl.String),
                pl.lit('": '), pl.col(f"n{k}").cast(pl.String)]))
            for k in range(N_EMOJI_SLOTS)
        ]
        by_emoji = df.select(pl.concat_str([pl.lit("{"), pl.concat_str(frags, separator=", ", ignore_nulls=True),
                                            pl.lit("}")]).alias("j"))["j"].to_arrow().cast(pa.string())
        snap_tables.append(_table("telegram_post_snapshots", {
            "channel_id": pa.array(channel_ids[pc[rp]]), "message_id": pa.array(msg_id[sl][rows]),
            "observed_at": _ts(obs[rows, cols]), "views": pa.array(views), "forwards": pa.array(forwards),
            "replies": pa.array(replies), "reactions": pa.array(reactions), "reactions_by_emoji": by_emoji,
        }))
        del jitter, age, obs, keep, rows, cols, rp, t, acc, frac, cuts, parts, emo, df
    snapshots = (pa.concat_tables(snap_tables) if snap_tables
                 else RAW_TABLES["telegram_post_snapshots"].schema.empty_table())

    # ---- channel snapshots and daily stats ---------------------------------------------------------------
    cs_key = _key(seed, _D_CHANSNAP, cidx[:, None, None], didx[None, :, None], np.arange(4)[None, None, :])
    cs_t = np.array([0, 6, 12, 18])[None, None, :] * 3600 + np.where(
        np.arange(4)[None, None, :] == 0, 0, np.floor(600.0 * _unif(cs_key, 1))).astype(np.int64)
    cs_subs = subs_start[:, :, None] + np.floor(net[:, :, None] * cs_t / _DAY + 0.5).astype(np.int64)
    cs_obs = start_s + didx[None, :, None] * _DAY + cs_t
    chan_snaps = _table("telegram_channel_snapshots", {
        "channel_id": pa.array(np.broadcast_to(channel_ids[:, None, None], cs_obs.shape).ravel()),
        "observed_at": _ts(cs_obs.ravel()), "subscribers": pa.array(cs_subs.ravel()),
    })
    day_values = np.array([(start + timedelta(days=int(d))).date() for d in didx], dtype="datetime64[D]")
    daily = _table("telegram_channel_daily_stats", {
        "channel_id": pa.array(np.repeat(channel_ids, n_days)),
        "day": pa.array(np.tile(day_values, n_ch)),
        "joins": pa.array(joins.ravel()), "leaves": pa.array(leaves.ravel()),
        "observed_at": _ts(np.tile(start_s + (didx + 1) * _DAY - 1, n_ch)),
    })

    # ---- channels ----------------------------------------------------------------------------------------
    ch_rows = []
    for c, p in enumerate(params):
        row = {"channel_id": p.channel.channel_id, "observed_at": start, "source_kind": "demo",
               "title": p.channel.title, "username": p.channel.username, "status": "active",
               "status_reason": None}
        ch_rows.append(row)
        if p.title_change_day is not None:
            sec = int(_unif(_key(seed, _D_CHANSNAP, c, p.title_change_day, 99), 1)[0] * _DAY)
            at = start + timedelta(days=p.title_change_day, seconds=sec)
            if at < end:
                ch_rows.append({**row, "observed_at": at, "title": p.new_title})
    channels_table = pa.Table.from_pylist(ch_rows, schema=RAW_TABLES["telegram_channels"].schema)

    if from_s > start_s:
        cut = np.datetime64(from_s, "s").astype("datetime64[us]")
        posts_table = posts_table.filter(_since(posts_table["revision_at"], cut))
        chan_snaps = chan_snaps.filter(_since(chan_snaps["observed_at"], cut))
        daily = daily.filter(_since(daily["observed_at"], cut))
        channels_table = channels_table.filter(_since(channels_table["observed_at"], cut))

    batch = RawBatch({
        "telegram_channels": channels_table,
        "telegram_posts": posts_table,
        "telegram_post_snapshots": snapshots,
        "telegram_channel_snapshots": chan_snaps,
        "telegram_channel_daily_stats": daily,
        "rejected_records": RAW_TABLES["rejected_records"].schema.empty_table(),
    })
    return DemoDataset(channels=[p.channel for p in params], batch=batch, start=start, end=end)


def _since(column: pa.ChunkedArray, cut: np.datetime64) -> pa.ChunkedArray:
    return pac.greater_equal(column, pa.scalar(cut.astype(datetime), pa.timestamp("us")))


def demo_channels(seed: int = 7, scale: str = "default") -> list[DemoChannel]:
    """The demo's channels and owners without generating any posts (for registering them in the app store)."""
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    return [_channel_params(seed, i).channel for i in range(SCALES[scale].channels)]
