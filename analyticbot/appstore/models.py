"""Operational-store tables. Keys are Telegram's own ids (user id, bare channel id), so no mapping tables."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer,
                        SmallInteger, String, Text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SOURCE_KINDS = ("telethon", "export", "demo")


class Base(DeclarativeBase):
    pass


USER_ROLES = ("owner", "admin")
DIGEST_PERIODS = ("daily", "weekly", "off")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'admin')", name="ck_users_role"),
        CheckConstraint("digest_period IN ('daily', 'weekly', 'off')", name="ck_users_digest_period"),
        CheckConstraint("digest_hour BETWEEN 0 AND 23", name="ck_users_digest_hour"),
        CheckConstraint("digest_weekday BETWEEN 0 AND 6", name="ck_users_digest_weekday"),
        CheckConstraint("watermark_opacity BETWEEN 5 AND 100", name="ck_users_watermark_opacity"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False,
                                         comment="Telegram user id")
    language: Mapped[str] = mapped_column(String(8), default="en")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", comment="IANA zone; numbers are shown in it")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)
    blocked_at: Mapped[datetime | None] = mapped_column(
        DateTime, nullable=True, comment="when the bot got 403 for this user's chat; cleared when they return")
    role: Mapped[str] = mapped_column(String(8), default="owner", comment="owner | admin (admin commands)")
    # Since 0008: set by the admin panel; the bot refuses a suspended user (bot/context.py).
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True,
                                                          comment="when the team suspended the user; None = not")
    # digests: daily, weekly (on digest_weekday, Monday = 0) or off, at digest_hour in the user's time zone
    digest_period: Mapped[str] = mapped_column(String(8), default="daily")
    digest_hour: Mapped[int] = mapped_column(SmallInteger, default=9)
    digest_weekday: Mapped[int] = mapped_column(SmallInteger, default=0)
    alerts_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # local hours [start, end) in which alerts wait; both None = no quiet hours; start > end wraps midnight
    quiet_start_hour: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    quiet_end_hour: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    watermark_text: Mapped[str | None] = mapped_column(String(64), nullable=True)
    watermark_position: Mapped[str] = mapped_column(String(16), default="bottom-right")
    watermark_opacity: Mapped[int] = mapped_column(SmallInteger, default=50, comment="percent, 5..100")
    watermark_tile: Mapped[bool] = mapped_column(Boolean, default=False)

    channels: Mapped[list["Channel"]] = relationship(back_populates="owner")


class Channel(Base):
    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint("source_kind IN ('telethon', 'export', 'demo')", name="ck_channels_source_kind"),
    )

    channel_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False,
                                            comment="bare Telegram channel id (PeerChannel.channel_id)")
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), index=True)
    title: Mapped[str] = mapped_column(String(256))
    username: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(16), default="active",
                                        comment="active | private | unreachable, as the last poll found it")
    status_reason: Mapped[str | None] = mapped_column(String(256), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=datetime.utcnow)

    owner: Mapped[User] = relationship(back_populates="channels")


# -- payments ---------------------------------------------------------------------------------------------
# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
LedgerId = BigInteger().with_variant(Integer, "sqlite")

GATEWAYS = ("stripe", "payme", "click")


class Plan(Base):
    """The plan catalogue. Rows are kept in step with `analyticbot.payments.catalogue.PLANS` by `migrate()`."""
    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("tier IN ('free', 'pro', 'business')", name="ck_plans_tier"),
        CheckConstraint("billing_interval IN ('month', 'year')", name="ck_plans_interval"),
    )

    plan_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    tier: Mapped[str] = mapped_column(String(16))
    billing_interval: Mapped[str] = mapped_column(String(8))
    interval_months: Mapped[int] = mapped_column(Integer)
    usd_cents: Mapped[int] = mapped_column(Integer, comment="Stripe price, US cents per interval")
    uzs_tiyin: Mapped[int] = mapped_column(BigInteger, comment="Payme/Click price, tiyin (1/100 UZS) per interval")
    max_channels: Mapped[int] = mapped_column(Integer)
    features: Mapped[str] = mapped_column(Text, comment="JSON list of feature codes")
    stripe_price_id: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Order(Base):
    """What a user asked to buy through Payme or Click: one period of one plan, at a fixed price.

    Payme's `account.order_id` and Click's `merchant_trans_id` name an order; the gateway must pay exactly its
    amount. An order is paid at most once. Since 0008 a "manual" order of amount 0 is a plan the team granted in
    the admin panel (`dashboards.admin_reads`): no gateway, no money, in force like a paid one."""
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("gateway IN ('payme', 'click', 'manual')", name="ck_orders_gateway"),
        CheckConstraint("status IN ('pending', 'paid', 'cancelled')", name="ck_orders_status"),
    )

    order_id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    # No foreign key since 0006: an order is an accounting record and outlives an erased user (analyticbot.privacy).
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    plan_code: Mapped[str] = mapped_column(ForeignKey("plans.plan_code"))
    gateway: Mapped[str] = mapped_column(String(8))
    amount_tiyin: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="UZS")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class PaymentEvent(Base):
    """The payment ledger: append-only, one row per thing a gateway told us, exactly once (`event_key`).

    Stripe events keep their raw body; Payme and Click state changes keep the transaction as it became. The
    warehouse loads it incrementally by `ledger_id`."""
    __tablename__ = "payment_events"
    __table_args__ = (
        CheckConstraint("gateway IN ('stripe', 'payme', 'click')", name="ck_payment_events_gateway"),
    )

    ledger_id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String(8))
    event_key: Mapped[str] = mapped_column(String(160), unique=True,
                                           comment="Stripe event id; payme:<id>:<state>; click:<id>:<status>")
    event_type: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), comment="webhook | pull | reconcile")
    occurred_at: Mapped[datetime] = mapped_column(DateTime, comment="when it happened at the gateway, UTC")
    received_at: Mapped[datetime] = mapped_column(DateTime)
    api_version: Mapped[str | None] = mapped_column(String(40), nullable=True)
    payload: Mapped[str] = mapped_column(Text)


class PaymentQuarantine(Base):
    """Records we could not accept, with the reason. Nothing a gateway sends is dropped silently."""
    __tablename__ = "payment_quarantine"

    quarantine_id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    gateway: Mapped[str] = mapped_column(String(8))
    external_id: Mapped[str | None] = mapped_column(String(160), nullable=True, index=True)
    reason: Mapped[str] = mapped_column(String(512))
    received_at: Mapped[datetime] = mapped_column(DateTime)
    payload: Mapped[str] = mapped_column(Text)


class PaymeTransaction(Base):
    """Payme merchant-API transaction and its state machine (1 created, 2 performed, -1 cancelled, -2 cancelled
    after perform). Times are Payme's: milliseconds since the epoch; 0 means not yet."""
    __tablename__ = "payme_transactions"
    __table_args__ = (CheckConstraint("state IN (1, 2, -1, -2)", name="ck_payme_state"),)

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    payme_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), index=True)
    amount_tiyin: Mapped[int] = mapped_column(BigInteger)
    payme_time: Mapped[int] = mapped_column(BigInteger, comment="Payme's `time` of the create request, ms")
    create_time: Mapped[int] = mapped_column(BigInteger, index=True)
    perform_time: Mapped[int] = mapped_column(BigInteger, default=0)
    cancel_time: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[int] = mapped_column(SmallInteger)
    reason: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)


class ClickTransaction(Base):
    """Click Prepare/Complete record. Our `id` is the `merchant_prepare_id` we answer Prepare with."""
    __tablename__ = "click_transactions"
    __table_args__ = (
        CheckConstraint("status IN ('prepared', 'completed', 'cancelled')", name="ck_click_status"),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    click_trans_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    service_id: Mapped[int] = mapped_column(BigInteger)
    click_paydoc_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.order_id"), index=True)
    amount: Mapped[str] = mapped_column(String(32), comment="as Click sent it, UZS with decimals")
    amount_tiyin: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int] = mapped_column(Integer, default=0)
    prepared_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# -- product usage ----------------------------------------------------------------------------------------
ACTIVITY_KINDS = ("bot_commands", "miniapp_opens", "reports_viewed")


class UserActivityDaily(Base):
    """How much a user used the product on one UTC day: counters the bot and the Mini App API increment
    (`analyticbot.appstore.activity.record_activity`). Daily counters rather than an event log: the churn model
    needs usage by day, and a counter row per active user-day stays small where an event log would not."""
    __tablename__ = "user_activity_daily"
    __table_args__ = (
        CheckConstraint("bot_commands >= 0 AND miniapp_opens >= 0 AND reports_viewed >= 0",
                        name="ck_user_activity_daily_counts"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.user_id"), primary_key=True)
    activity_date: Mapped[date] = mapped_column(Date, primary_key=True, comment="UTC day")
    bot_commands: Mapped[int] = mapped_column(Integer, default=0, comment="commands and button presses in the bot")
    miniapp_opens: Mapped[int] = mapped_column(Integer, default=0, comment="Mini App sessions opened")
    reports_viewed: Mapped[int] = mapped_column(Integer, default=0, comment="digests and reports opened")


# -- the bot's outgoing queue -----------------------------------------------------------------------------
OUTBOX_CHAT_KINDS = ("private", "group", "channel")
OUTBOX_KINDS = ("digest", "alert", "broadcast", "reply")
OUTBOX_STATUSES = ("queued", "sent", "failed", "dropped_blocked")


class OutboxMessage(Base):
    """One message the bot owes a chat, sent by `bot.outbox.OutboxSender` within Telegram's limits.

    `payload` is JSON {"method": "sendMessage" | "sendPhoto" | "sendDocument", "params": {...}}. A row is marked
    sent only after Telegram accepted it, so delivery is at least once (see `bot/outbox.py`)."""
    __tablename__ = "bot_outbox"
    __table_args__ = (
        CheckConstraint("chat_kind IN ('private', 'group', 'channel')", name="ck_bot_outbox_chat_kind"),
        CheckConstraint("kind IN ('digest', 'alert', 'broadcast', 'reply')", name="ck_bot_outbox_kind"),
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'dropped_blocked')", name="ck_bot_outbox_status"),
        Index("ix_bot_outbox_due", "status", "not_before", "id"),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_kind: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[str] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(160), unique=True, nullable=True,
                                                   comment="e.g. digest:<channel>:<day>; enqueued once")
    not_before: Mapped[datetime] = mapped_column(DateTime, comment="UTC; moved on by retry-after and backoff")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    last_error: Mapped[str | None] = mapped_column(String(512), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# -- admin and privacy ------------------------------------------------------------------------------------
AUDIT_OUTCOMES = ("ok", "denied", "failed")


class AdminAuditLog(Base):
    """Every admin action (bot commands, admin panel, command line) and every sign-in event of the dashboards:
    who, what, on whom, when, from which address, the values before and after, and how it ended. Append-only."""
    __tablename__ = "admin_audit_log"
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'denied', 'failed')", name="ck_admin_audit_log_outcome"),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    admin_user_id: Mapped[int] = mapped_column(BigInteger, index=True,
                                               comment="Telegram user id; 0 = none (command line, dashboards)")
    action: Mapped[str] = mapped_column(String(32), comment="e.g. broadcast, user_lookup, login")
    target: Mapped[str | None] = mapped_column(String(64), nullable=True, comment="e.g. the looked-up user id")
    detail: Mapped[str] = mapped_column(Text, default="{}", comment="JSON")
    source: Mapped[str] = mapped_column(String(16), default="bot", comment="bot | admin_panel | cli")
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # Since 0007. No foreign key: the log outlives whatever it names.
    account_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True,
                                                   comment="dashboard_accounts.id of a dashboards actor")
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True,
                                                       comment="the dashboards client's IP address")
    before_value: Mapped[str | None] = mapped_column(Text, nullable=True, comment="JSON, what the change replaced")
    after_value: Mapped[str | None] = mapped_column(Text, nullable=True, comment="JSON, what the change wrote")
    outcome: Mapped[str] = mapped_column(String(8), default="ok", comment="ok | denied | failed")


# -- the team's dashboards --------------------------------------------------------------------------------
DASHBOARD_ROLES = ("viewer", "analyst", "admin")  # in increasing order of what they may do


class DashboardAccount(Base):
    """A person of the team who logs in to the dashboards (`analyticbot admin-user`): not a Telegram user.

    The password is an argon2id hash. The TOTP secret must stay readable (verifying a code needs it), so since
    0009 it is a Fernet token of the dashboards key (`analyticbot.secret_box`); a row from before holds plain
    base32 until the account's next login encrypts it."""
    __tablename__ = "dashboard_accounts"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'analyst', 'admin')", name="ck_dashboard_accounts_role"),
        CheckConstraint("failed_logins >= 0", name="ck_dashboard_accounts_failed_logins"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, comment="lower case")
    password_hash: Mapped[str] = mapped_column(String(256))
    totp_secret: Mapped[str] = mapped_column(String(255))  # a Fernet token is ~140 characters (0009)
    totp_enrolled_at: Mapped[datetime | None] = mapped_column(
        DateTime, nullable=True, comment="first code accepted; until then a login shows the enrolment QR code")
    totp_last_counter: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, comment="time step of the last accepted code: a code works once")
    role: Mapped[str] = mapped_column(String(8), default="viewer")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, comment="wrong logins since the last good one")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


SESSION_STAGES = ("enrol", "active")


class DashboardSession(Base):
    """A login: the browser holds the token, the store holds its SHA-256, so a copy of the store opens nothing.

    `enrol` = password right, second factor not yet set up (the next step shows the QR code); `active` = logged
    in. A session ends at logout, after `session_idle_minutes` unused, or `session_max_hours` after it began."""
    __tablename__ = "dashboard_sessions"
    __table_args__ = (
        CheckConstraint("stage IN ('enrol', 'active')", name="ck_dashboard_sessions_stage"),
    )

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("dashboard_accounts.id"), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    client_address: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class RuntimeSetting(Base):
    """Feature flags and other settings the admin panel changes while everything runs (no restart, no deploy).
    Written only with an audit row holding the value before and after."""
    __tablename__ = "runtime_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text, comment="JSON")
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    updated_by: Mapped[str | None] = mapped_column(String(64), nullable=True,
                                                   comment="dashboards username, or cli")


class ErasureRequest(Base):
    """A user asked to be deleted (/deleteme). The store rows go at once; the next pipeline run removes the user's
    and these channels' rows from the warehouse and the published snapshot and sets `purged_at`.

    Kept after the user row is gone (it holds ids only, no content): it is how the pipeline knows what to purge."""
    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(LedgerId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    channel_ids: Mapped[str] = mapped_column(Text, comment="JSON list of bare channel ids owned at deletion")
    requested_at: Mapped[datetime] = mapped_column(DateTime)
    purged_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
