"""Registering owners and channels, and reading them for ingestion. One transaction per call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from analyticbot.appstore.db import session_scope
from analyticbot.appstore.models import SOURCE_KINDS, Channel, Plan, User
from analyticbot.settings import Settings
from analyticbot.warehouse import APP_MIRROR


@dataclass(frozen=True)
class ChannelInfo:
    channel_id: int
    owner_user_id: int
    title: str
    username: str | None
    source_kind: str
    time_zone: str | None
    active: bool
    status: str
    registered_at: datetime | None = None


def upsert_user(settings: Settings | None, user_id: int, *, language: str | None = None,
                time_zone: str | None = None) -> None:
    with session_scope(settings) as s:
        _upsert_user(s, user_id, language, time_zone)


def _upsert_user(s, user_id: int, language: str | None, time_zone: str | None) -> None:
    user = s.get(User, user_id)
    if user is None:
        s.add(User(user_id=user_id, language=language or "en", time_zone=time_zone or "UTC",
                   created_at=datetime.utcnow()))
        return
    if language:
        user.language = language
    if time_zone:
        user.time_zone = time_zone


def register_channel(settings: Settings | None, *, channel_id: int, owner_user_id: int, title: str,
                     source_kind: str, username: str | None = None, time_zone: str | None = None) -> None:
    """Register (or re-activate) a channel for ingestion. The owner must exist."""
    with session_scope(settings) as s:
        _upsert_channel(s, channel_id=channel_id, owner_user_id=owner_user_id, title=title,
                        source_kind=source_kind, username=username, time_zone=time_zone)


def register_owned_channels(settings: Settings | None, owners: list[dict], channels: list[dict]) -> None:
    """Upsert many owners and their channels in one transaction (the demo registers 500 at once).

    `owners`: dicts with user_id, language, time_zone; `channels`: keyword arguments of `register_channel`."""
    with session_scope(settings) as s:
        for o in owners:
            _upsert_user(s, o["user_id"], o.get("language"), o.get("time_zone"))
        s.flush()
        for c in channels:
            _upsert_channel(s, **c)


def _upsert_channel(s, *, channel_id: int, owner_user_id: int, title: str, source_kind: str,
                    username: str | None = None, time_zone: str | None = None,
                    registered_at: datetime | None = None) -> None:
    if source_kind not in SOURCE_KINDS:
        raise ValueError(f"source_kind must be one of {SOURCE_KINDS}, not {source_kind!r}")
    if s.get(User, owner_user_id) is None:
        raise LookupError(f"owner {owner_user_id} is not a registered user")
    ch = s.get(Channel, channel_id)
    if ch is None:
        s.add(Channel(channel_id=channel_id, owner_user_id=owner_user_id, title=title, username=username,
                      source_kind=source_kind, time_zone=time_zone, active=True, status="active",
                      registered_at=registered_at or datetime.utcnow()))
        return
    if ch.owner_user_id != owner_user_id:
        raise PermissionError(f"channel {channel_id} is registered to another owner")
    ch.title, ch.source_kind, ch.active = title, source_kind, True
    ch.username = username or ch.username
    ch.time_zone = time_zone or ch.time_zone


def list_channels(settings: Settings | None, *, source_kind: str | None = None,
                  active_only: bool = True) -> list[ChannelInfo]:
    with session_scope(settings) as s:
        q = select(Channel).order_by(Channel.channel_id)
        if source_kind:
            q = q.where(Channel.source_kind == source_kind)
        if active_only:
            q = q.where(Channel.active.is_(True))
        return [_info(c) for c in s.scalars(q)]


def mark_channel_status(settings: Settings | None, channel_id: int, status: str, reason: str | None) -> None:
    """Record what the last poll found (private, unreachable, active again). Not fatal, never deletes."""
    with session_scope(settings) as s:
        ch = s.get(Channel, channel_id)
        if ch is not None:
            ch.status, ch.status_reason = status, reason


def mirror_tables(settings: Settings | None) -> dict[str, pa.Table]:
    """Users, channels and the plan catalogue as Arrow tables in the warehouse's `raw.app_*` shape (for dbt's dim_channels)."""
    with session_scope(settings) as s:
        users = [dict(user_id=u.user_id, language=u.language, time_zone=u.time_zone, created_at=u.created_at)
                 for u in s.scalars(select(User).order_by(User.user_id))]
        channels = [dict(channel_id=c.channel_id, owner_user_id=c.owner_user_id, title=c.title,
                         username=c.username, source_kind=c.source_kind, time_zone=c.time_zone, active=c.active,
                         registered_at=c.registered_at)
                    for c in s.scalars(select(Channel).order_by(Channel.channel_id))]
        plans = [dict(plan_code=p.plan_code, tier=p.tier, billing_interval=p.billing_interval,
                      interval_months=p.interval_months, usd_cents=p.usd_cents, uzs_tiyin=p.uzs_tiyin,
                      max_channels=p.max_channels, stripe_price_id=p.stripe_price_id, active=p.active)
                 for p in s.scalars(select(Plan).order_by(Plan.plan_code))]
    return {
        "app_plans": pa.Table.from_pylist(plans, schema=APP_MIRROR["app_plans"]),
        "app_users": pa.Table.from_pylist(users, schema=APP_MIRROR["app_users"]),
        "app_channels": pa.Table.from_pylist(channels, schema=APP_MIRROR["app_channels"]),
    }


# -- the bot's side: connecting, listing and disconnecting channels inside the caller's transaction ---------------
CLAIM_CONNECTED, CLAIM_REACTIVATED, CLAIM_UNCHANGED = "connected", "reactivated", "unchanged"
CLAIM_OTHER_OWNER, CLAIM_LIMIT = "other_owner", "limit"


def bare_channel_id(bot_api_chat_id: int) -> int | None:
    """Telegram's bare channel id (PeerChannel.channel_id) from a Bot API id -100XXXXXXXXXX; None for other chats."""
    if bot_api_chat_id >= -10**12:
        return None
    return -bot_api_chat_id - 10**12


def ensure_user(session: Session, user_id: int, language: str) -> bool:
    """Register a user on first contact (a channel connected before /start, a payment); True if new. A known
    user keeps the language they chose."""
    if session.get(User, user_id) is not None:
        return False
    session.add(User(user_id=user_id, language=language, time_zone="UTC", created_at=datetime.utcnow()))
    session.flush()
    return True


def active_channel_count(session: Session, owner_user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Channel).where(
        Channel.owner_user_id == owner_user_id, Channel.active.is_(True))) or 0


def claim_channel(session: Session, *, channel_id: int, owner_user_id: int, title: str, username: str | None,
                  max_channels: int, source_kind: str = "telethon") -> str:
    """Connect a channel for `owner_user_id` if it is not another owner's and their plan has room.

    Returns one of CLAIM_*: a channel of another owner is never touched (and nothing of it is returned); the limit
    counts active channels, so re-activating a disconnected channel needs room as well."""
    ch = session.get(Channel, channel_id)
    if ch is not None and ch.owner_user_id != owner_user_id:
        return CLAIM_OTHER_OWNER
    if ch is not None and ch.active:
        ch.title, ch.username = title, username or ch.username
        return CLAIM_UNCHANGED
    if active_channel_count(session, owner_user_id) >= max_channels:
        return CLAIM_LIMIT
    _upsert_channel(session, channel_id=channel_id, owner_user_id=owner_user_id, title=title,
                    source_kind=source_kind, username=username)
    return CLAIM_CONNECTED if ch is None else CLAIM_REACTIVATED


def deactivate_channel(session: Session, channel_id: int, owner_user_id: int | None = None) -> ChannelInfo | None:
    """Stop ingesting a channel (never deletes: its history stays until the owner deletes it). With
    `owner_user_id`, only that owner's channel. Returns the channel as it was, or None when there was no such
    (owned, active) channel."""
    ch = session.get(Channel, channel_id)
    if ch is None or not ch.active or (owner_user_id is not None and ch.owner_user_id != owner_user_id):
        return None
    info = _info(ch)
    ch.active = False
    return info


def owned_channels(session: Session, owner_user_id: int) -> list[ChannelInfo]:
    """An owner's channels, active first, then by when they were connected."""
    q = (select(Channel).where(Channel.owner_user_id == owner_user_id)
         .order_by(Channel.active.desc(), Channel.registered_at, Channel.channel_id))
    return [_info(c) for c in session.scalars(q)]


def _info(c: Channel) -> ChannelInfo:
    return ChannelInfo(c.channel_id, c.owner_user_id, c.title, c.username, c.source_kind, c.time_zone, c.active,
                       c.status, c.registered_at)
