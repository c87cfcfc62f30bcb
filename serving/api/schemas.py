"""Response bodies of the Mini App API: what the OpenAPI page documents and what every answer is built from.

Numbers that a channel cannot have (reach of a Telegram Desktop export, a rate with no posts) are null, never 0:
the page shows them as unavailable. Times are ISO 8601 in UTC; `*_local` fields and the heatmap are in the
channel's display time zone (`time_zone`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    error: str = Field(description="machine-readable code: unauthorized, not_found, bad_request, rate_limited, "
                                   "unavailable")
    detail: str = Field(description="one short sentence for a person")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    snapshot_version: str | None
    published_at: datetime | None
    age_seconds: float | None = Field(description="seconds since the snapshot was published")


class ChannelHeadline(BaseModel):
    channel_id: int
    title: str
    username: str | None
    time_zone: str
    status: str = Field(description="active | private | unreachable, as the last poll found it")
    reach_available: bool = Field(description="false for Desktop exports: they carry no views")
    subscribers: int | None
    subscribers_growth_30d: int | None = Field(description="subscribers now minus 30 days before")
    avg_post_reach: float | None
    err: float | None = Field(description="avg_post_reach / subscribers, posts of the last 30 days")
    last_post_at: datetime | None


class MyChannels(BaseModel):
    user_id: int
    snapshot_version: str
    channels: list[ChannelHeadline]


class DailyPoint(BaseModel):
    date: date
    subscribers: int | None
    net_subscribers: int | None
    joins: int | None
    leaves: int | None
    posts: int
    daily_reach: float | None
    avg_post_reach: float | None
    err: float | None
    err24: float | None
    er: float | None


class Overview(BaseModel):
    channel_id: int
    title: str
    time_zone: str
    days: int
    date_from: date | None
    date_to: date | None
    subscribers: int | None = Field(description="on the newest day")
    growth: int | None = Field(description="subscribers on the newest day minus the day before the window")
    growth_pct: float | None
    posts: int = Field(description="posts in the window")
    avg_post_reach: float | None = Field(description="trailing 30 days, on the newest day")
    err: float | None
    err24: float | None
    er: float | None
    daily: list[DailyPoint]


class Post(BaseModel):
    message_id: int
    posted_at: datetime
    posted_at_local: datetime
    content_type: str | None
    text_length: int | None
    views_1h: float | None
    views_24h: float | None
    views_48h: float | None
    views_latest: float | None
    forwards: int | None
    replies: int | None
    reactions: int | None
    er: float | None
    is_forward: bool
    is_edited: bool
    link: str | None = Field(description="t.me link for public channels")


class PostPage(BaseModel):
    channel_id: int
    sort: str
    order: Literal["asc", "desc"]
    limit: int
    items: list[Post]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class DecayPoint(BaseModel):
    age_hours: int
    views: float
    share_of_latest: float | None = Field(description="views at this age / latest views")


class PostDetail(BaseModel):
    channel_id: int
    post: Post
    decay: list[DecayPoint] = Field(description="views by post age, interpolated between counter snapshots")


class HeatmapCell(BaseModel):
    weekday: int = Field(description="0 = Monday .. 6 = Sunday, in the channel's time zone")
    hour: int
    posts: int
    mean_views_24h_per_subscriber: float | None


class Heatmap(BaseModel):
    channel_id: int
    time_zone: str
    cells: list[HeatmapCell]


ModelState = Literal["available", "not_enough_data", "not_available_yet"]


class Slot(BaseModel):
    rank: int
    weekday: int
    hour: int
    expected_relative_reach: float = Field(description="expected views at 24 h against the channel's average post")
    relative_reach_lower: float | None
    relative_reach_upper: float | None
    posts_observed: int


class BestTimes(BaseModel):
    channel_id: int
    time_zone: str
    status: ModelState
    reason: str | None
    source: str | None = Field(description="model | baseline")
    model_version: str | None
    slots: list[Slot]


class ForecastPoint(BaseModel):
    date: date
    yhat: float
    yhat_lower: float | None
    yhat_upper: float | None


class ForecastSeries(BaseModel):
    metric: Literal["subscribers", "daily_reach"]
    status: ModelState
    reason: str | None
    source: str | None
    model_version: str | None
    history_end: date | None
    points: list[ForecastPoint]


class Forecast(BaseModel):
    channel_id: int
    series: list[ForecastSeries]
