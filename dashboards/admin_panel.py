"""What the admin pages read and change: users, orders and payments, runtime settings, exports of the snapshot
and the audit log. Pure functions over the operational store and the published snapshot (no Streamlit), so the
pages stay thin and every rule is tested on its own.

Every change goes through `dashboards.auth.admin_action`: the role, allowlist and rate limit are checked first,
and the change commits with its audit row (who, when, from which address, before and after) or not at all. Input
the panel will not act on (a plan that does not exist, a flag value that is not JSON, an export over the row cap)
raises `ActionRefused` inside the action, so nothing changes and the attempt is audited as denied.

A plan granted by hand is an `Order` of the "manual" gateway (since migration 0008), paid now, amount 0:
`analyticbot.entitlements` counts the store's paid orders, so the grant is in force at once, for one period of
the plan, in the bot and everywhere else, without a second notion of "plan" to keep in step. Money is counted
from the payment ledger, never from orders, so a grant never shows as revenue. A grant replaces the previous
grant; a period paid on a gateway is not the panel's to take away (that is a refund, at the gateway).
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import AdminAuditLog, Channel, DashboardAccount, Order, RuntimeSetting, User
from analyticbot.entitlements import CurrentPlan, current_plan, plan_in_force
from analyticbot.payments.catalogue import PLANS_BY_CODE
from analyticbot.settings import Settings
from analyticbot.snapshot import PUBLISHED_SCHEMAS, ReadConnection, SnapshotReader, SnapshotUnavailable
from dashboards import auth

PAGE_SIZE = 50
SEARCH_LIMIT = 50
EXPORT_MAX_ROWS = 500_000  # a bigger table is a warehouse query, not a browser download
EXPORT_FORMATS = ("csv", "parquet")
FLAG_KEY = re.compile(r"[a-z][a-z0-9_.-]{0,63}")
MANUAL = "manual"
_DIGITS = re.compile(r"\d{1,19}")


# -- small shared helpers ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    """One page of a filtered list: its rows and how many rows the filters match in all."""
    rows: pl.DataFrame
    total: int
    page: int
    pages: int


def _page_bounds(total: int, page: int, size: int) -> tuple[int, int]:
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    return page, pages


def _day_range(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """[since 00:00, until+1 00:00): both days included."""
    return (None if since is None else datetime.combine(since, time()),
            None if until is None else datetime.combine(until + timedelta(days=1), time()))


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(sep=" ", timespec="seconds")


def _where(query: Select, filters) -> Select:
    """`query` with each (value, condition) filter whose value is given (None = not filtered)."""
    for value, condition in filters:
        if value is not None:
            query = query.where(condition(value))
    return query


def to_csv(frame: pl.DataFrame) -> bytes:
    """CSV of a frame; JSON-like columns (lists, structs) as JSON text, since CSV has no nesting."""
    nested = [c for c, t in frame.schema.items() if isinstance(t, (pl.List, pl.Struct, pl.Array))]
    if nested:
        frame = frame.with_columns(pl.col(c).map_elements(lambda v: json.dumps(v.to_list() if hasattr(
            v, "to_list") else v, default=str), return_dtype=pl.String) for c in nested)
    return frame.write_csv().encode()


# -- users ---------------------------------------------------------------------------------------------------------
def search_users(session: Session, query: str, limit: int = SEARCH_LIMIT) -> list[dict]:
    """Users whose Telegram id is `query`, or who own a channel whose title or @username contains it."""
    text = (query or "").strip()
    if not text:
        return []
    conditions = []
    if _DIGITS.fullmatch(text):
        conditions.append(User.user_id == int(text))
    like = f"%{text.lstrip('@').lower()}%"
    owners = select(Channel.owner_user_id).where(or_(func.lower(Channel.title).like(like),
                                                     func.lower(Channel.username).like(like)))
    conditions.append(User.user_id.in_(owners))
    users = session.scalars(select(User).where(or_(*conditions)).order_by(User.user_id).limit(limit)).all()
    channels: dict[int, list[str]] = {}
    for c in session.scalars(select(Channel).where(Channel.owner_user_id.in_([u.user_id for u in users]))
                             .order_by(Channel.channel_id)):
        channels.setdefault(c.owner_user_id, []).append(c.title + (f" (@{c.username})" if c.username else ""))
    return [{"user_id": u.user_id, "role": u.role, "language": u.language, "suspended": u.suspended_at is not None,
             "channels": ", ".join(channels.get(u.user_id, []))} for u in users]


def plan_summary(plan: CurrentPlan) -> dict:
    return {"plan_code": plan.spec.plan_code, "tier": plan.spec.tier, "source": plan.source,
            "until": _iso(plan.period_end)}


def user_detail(store: AppStore, snapshots: SnapshotReader, user_id: int) -> dict | None:
    """Everything the users page shows of one user, or None if they never started the bot."""
    with store.transaction() as s:
        user = s.get(User, user_id)
        if user is None:
            return None
        detail = {
            "user_id": user.user_id, "language": user.language, "time_zone": user.time_zone, "role": user.role,
            "created_at": _iso(user.created_at), "blocked_at": _iso(user.blocked_at),
            "suspended_at": _iso(user.suspended_at),
            "channels": [{"channel_id": c.channel_id, "title": c.title, "username": c.username,
                          "source_kind": c.source_kind, "active": c.active, "status": c.status,
                          "registered_at": _iso(c.registered_at)}
                         for c in s.scalars(select(Channel).where(Channel.owner_user_id == user_id)
                                            .order_by(Channel.channel_id))],
            "orders": [_order_row(o) for o in s.scalars(select(Order).where(Order.user_id == user_id)
                                                         .order_by(Order.order_id.desc()))],
        }
    detail["plan"] = plan_summary(plan_in_force(store, snapshots, user_id))
    return detail


def _order_row(o: Order) -> dict:
    return {"order_id": o.order_id, "user_id": o.user_id, "plan_code": o.plan_code, "gateway": o.gateway,
            "status": o.status, "amount_tiyin": o.amount_tiyin, "currency": o.currency,
            "created_at": o.created_at, "paid_at": o.paid_at}


def _user(act: auth.ActionRecord, user_id: int) -> User:
    user = act.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise auth.ActionRefused(f"No user {user_id}: they have not started the bot. Nothing changed.",
                                 "no_such_user")
    return user


def set_suspended(store: AppStore, settings: Settings, principal: auth.Principal, user_id: int,
                  suspended: bool, now: datetime | None = None) -> None:
    """Suspend a user (the bot answers them with one polite refusal) or lift it."""
    now = now or auth.utcnow()
    action = "suspend_user" if suspended else "unsuspend_user"
    with auth.admin_action(store, settings, principal, action, target=user_id, now=now) as act:
        user = _user(act, user_id)
        if (user.suspended_at is not None) == suspended:
            raise auth.ActionRefused(f"User {user_id} is {'already' if suspended else 'not'} suspended. "
                                     "Nothing changed.", "no_change")
        act.before = {"suspended_at": _iso(user.suspended_at)}
        user.suspended_at = now if suspended else None
        act.after = {"suspended_at": _iso(user.suspended_at)}


def set_bot_admin(store: AppStore, settings: Settings, principal: auth.Principal, user_id: int,
                  admin: bool, now: datetime | None = None) -> None:
    """Give a user the bot's admin role (/user, /broadcast) or take it back; the same action names as
    `analyticbot grant-admin`, so the audit log reads the same whichever way it was done."""
    role = "admin" if admin else "owner"
    with auth.admin_action(store, settings, principal, "grant_admin" if admin else "revoke_admin",
                           target=user_id, now=now) as act:
        user = _user(act, user_id)
        if user.role == role:
            raise auth.ActionRefused(f"User {user_id} has the {role} role already. Nothing changed.", "no_change")
        act.before, act.after = {"role": user.role}, {"role": role}
        user.role = role


def _snapshot_plan(session: Session, snapshots: SnapshotReader, user_id: int, now: datetime) -> CurrentPlan:
    try:
        with snapshots.connect() as con:
            return current_plan(session, user_id, con, now)
    except SnapshotUnavailable:
        return current_plan(session, user_id, None, now)


def change_plan(store: AppStore, settings: Settings, snapshots: SnapshotReader, principal: auth.Principal,
                user_id: int, plan_code: str, now: datetime | None = None) -> CurrentPlan:
    """Grant `plan_code` by hand for one period from now (ending the previous grant), or with "free" end the
    grant. Returns the plan in force afterwards, which a period paid on a gateway may still outrank."""
    now = now or auth.utcnow()
    code = (plan_code or "").strip()
    with auth.admin_action(store, settings, principal, "change_plan", target=user_id, now=now) as act:
        act.after = {"plan_code": code}
        spec = PLANS_BY_CODE.get(code)
        if spec is None:
            raise auth.ActionRefused(f"There is no plan {code!r}; the plans are {', '.join(PLANS_BY_CODE)}. "
                                     "Nothing changed.", "unknown_plan")
        _user(act, user_id)
        before = _snapshot_plan(act.session, snapshots, user_id, now)
        ended = []
        for order in act.session.scalars(select(Order).where(Order.user_id == user_id, Order.gateway == MANUAL,
                                                             Order.status == "paid")):
            order.status = "cancelled"
            ended.append(order.order_id)
        granted = None
        if spec.tier != "free":
            order = Order(user_id=user_id, plan_code=code, gateway=MANUAL, amount_tiyin=0, currency="UZS",
                          status="paid", created_at=now, paid_at=now)
            act.session.add(order)
            act.session.flush()
            granted = order.order_id
        act.session.flush()
        after = _snapshot_plan(act.session, snapshots, user_id, now)
        act.before = plan_summary(before)
        act.after = plan_summary(after)
        act.detail.update(granted_order=granted, ended_orders=ended, asked=code)
    return after


# -- orders and payments -------------------------------------------------------------------------------------------
ORDER_STATUSES = ("pending", "paid", "cancelled")
ORDER_GATEWAYS = ("payme", "click", MANUAL)


def orders_page(session: Session, *, gateway: str | None = None, status: str | None = None,
                user_id: int | None = None, since: date | None = None, until: date | None = None,
                page: int = 1, size: int = PAGE_SIZE) -> Page:
    """Orders in the operational store (live: Payme, Click and manual grants; Stripe has no orders), newest
    first."""
    start, end = _day_range(since, until)
    query = _where(select(Order), ((gateway, Order.gateway.__eq__), (status, Order.status.__eq__),
                                   (user_id, Order.user_id.__eq__), (start, Order.created_at.__ge__),
                                   (end, Order.created_at.__lt__)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = _page_bounds(total, page, size)
    rows = [_order_row(o) for o in session.scalars(query.order_by(Order.order_id.desc())
                                                   .offset((page - 1) * size).limit(size))]
    return Page(pl.DataFrame(rows, schema=_ORDER_SCHEMA), total, page, pages)


_ORDER_SCHEMA = {"order_id": pl.Int64, "user_id": pl.Int64, "plan_code": pl.String, "gateway": pl.String,
                 "status": pl.String, "amount_tiyin": pl.Int64, "currency": pl.String, "created_at": pl.Datetime,
                 "paid_at": pl.Datetime}

PAYMENT_GATEWAYS = ("stripe", "payme", "click")
REFUND_STATUSES = ("none", "partly refunded", "refunded", "disputed")
# Charges with what reversed them: a refund or dispute row names the charge it reverses in `charge_id`, and a
# charge's own `charge_id` is itself (or NULL for a Stripe invoice whose charge never arrived).
_PAYMENTS_SQL = """
WITH reversals AS (
    SELECT charge_id,
           sum(CASE WHEN movement_type = 'refund' THEN amount ELSE 0 END) AS refunded,
           sum(CASE WHEN movement_type = 'dispute' THEN 1 ELSE 0 END) AS disputes
    FROM marts.fct_payments WHERE movement_type <> 'charge' AND charge_id IS NOT NULL GROUP BY charge_id
), charges AS (
    SELECT c.payment_id, c.gateway, c.customer_id, c.plan_code, c.currency, c.amount, c.amount_usd,
           c.occurred_at, coalesce(r.refunded, 0) AS refunded_amount, coalesce(r.disputes, 0) AS disputes,
           CASE WHEN coalesce(r.disputes, 0) > 0 THEN 'disputed'
                WHEN coalesce(r.refunded, 0) >= c.amount THEN 'refunded'
                WHEN coalesce(r.refunded, 0) > 0 THEN 'partly refunded'
                ELSE 'none' END AS refund_status
    FROM marts.fct_payments c
    LEFT JOIN reversals r ON r.charge_id = coalesce(c.charge_id, c.payment_id)
    WHERE c.movement_type = 'charge'
)
SELECT * FROM charges WHERE {where}
"""


def payments_page(con: ReadConnection, *, gateway: str | None = None, refund_status: str | None = None,
                  customer: str | None = None, since: date | None = None, until: date | None = None,
                  page: int = 1, size: int = PAGE_SIZE) -> Page:
    """Charges on every gateway from the published snapshot (`marts.fct_payments`: the one place that knows
    Stripe's charges, refunds and disputes as well as Payme's and Click's), with their refund status, newest
    first."""
    where, params = ["1 = 1"], []
    start, end = _day_range(since, until)
    for sql, value in (("gateway = ?", gateway), ("refund_status = ?", refund_status),
                       ("customer_id = ?", (customer or "").strip() or None),
                       ("occurred_at >= ?", start), ("occurred_at < ?", end)):
        if value is not None:
            where.append(sql)
            params.append(value)
    base = _PAYMENTS_SQL.format(where=" AND ".join(where))
    total = int(con.query(f"SELECT count(*) AS n FROM ({base}) t", params)["n"][0])
    page, pages = _page_bounds(total, page, size)
    rows = con.query(f"{base} ORDER BY occurred_at DESC, payment_id LIMIT {int(size)} OFFSET {(page - 1) * size}",
                     params)
    return Page(rows, total, page, pages)


# -- runtime settings ----------------------------------------------------------------------------------------------
def runtime_settings(session: Session) -> pl.DataFrame:
    rows = [{"key": r.key, "value": r.value, "updated_at": r.updated_at, "updated_by": r.updated_by}
            for r in session.scalars(select(RuntimeSetting).order_by(RuntimeSetting.key))]
    return pl.DataFrame(rows, schema={"key": pl.String, "value": pl.String, "updated_at": pl.Datetime,
                                      "updated_by": pl.String})


def _flag_key(key: str) -> str:
    name = (key or "").strip()
    if not FLAG_KEY.fullmatch(name):
        raise auth.ActionRefused("A setting's name is 1 to 64 characters: a-z, digits, '_', '.' or '-', starting "
                                 "with a letter. Nothing changed.", "bad_key")
    return name


def set_runtime_setting(store: AppStore, settings: Settings, principal: auth.Principal, key: str,
                        value_json: str, now: datetime | None = None) -> Any:
    """Create or update a setting from the JSON text an admin typed; returns the parsed value."""
    now = now or auth.utcnow()
    with auth.admin_action(store, settings, principal, "set_runtime_setting", target=(key or "").strip()[:64],
                           now=now) as act:
        name = _flag_key(key)
        try:
            value = json.loads(value_json)
        except (TypeError, ValueError) as exc:
            act.after = {"value_text": (value_json or "")[:200]}  # the denied row keeps what was typed
            raise auth.ActionRefused(f"The value is not valid JSON ({exc}). Use true, 3, \"text\", [1, 2] or "
                                     "{\"a\": 1}. Nothing changed.", "bad_json") from None
        row = act.session.get(RuntimeSetting, name, with_for_update=True)
        act.before = None if row is None else {"value": json.loads(row.value)}
        if row is None:
            row = RuntimeSetting(key=name, value="null", updated_at=now)
            act.session.add(row)
        row.value, row.updated_at, row.updated_by = json.dumps(value, ensure_ascii=False), now, principal.username
        act.after = {"value": value}
    return value


def delete_runtime_setting(store: AppStore, settings: Settings, principal: auth.Principal, key: str,
                           now: datetime | None = None) -> None:
    with auth.admin_action(store, settings, principal, "delete_runtime_setting", target=(key or "").strip()[:64],
                           now=now) as act:
        row = act.session.get(RuntimeSetting, (key or "").strip(), with_for_update=True)
        if row is None:
            raise auth.ActionRefused(f"There is no setting {key!r}. Nothing changed.", "no_such_setting")
        act.before = {"value": json.loads(row.value)}
        act.session.delete(row)


# -- exports of the snapshot ---------------------------------------------------------------------------------------
def snapshot_tables(con: ReadConnection) -> list[str]:
    """The marts and ml tables of the snapshot, "schema.table": the only names an export accepts."""
    placeholders = ", ".join("?" for _ in PUBLISHED_SCHEMAS)
    rows = con.query("SELECT table_schema AS s, table_name AS t FROM information_schema.tables "
                     f"WHERE table_schema IN ({placeholders}) ORDER BY 1, 2", list(PUBLISHED_SCHEMAS))
    return [f"{s}.{t}" for s, t in rows.iter_rows()]


@dataclass(frozen=True)
class Export:
    table: str
    fmt: str
    rows: int
    data: bytes
    version: str

    @property
    def file_name(self) -> str:
        return f"{self.table.replace('.', '_')}-{self.version}.{self.fmt}"

    @property
    def mime(self) -> str:
        return "text/csv" if self.fmt == "csv" else "application/vnd.apache.parquet"


def export_table(store: AppStore, settings: Settings, snapshots: SnapshotReader, principal: auth.Principal,
                 table: str, fmt: str, *, max_rows: int | None = None, now: datetime | None = None) -> Export:
    """One snapshot table as CSV or Parquet, audited (who took which data when); a table over the row cap, an
    unknown table or format is refused and audited."""
    cap = EXPORT_MAX_ROWS if max_rows is None else max_rows
    with auth.admin_action(store, settings, principal, "export_table", target=table, now=now) as act:
        act.detail.update(format=fmt, max_rows=cap)
        if fmt not in EXPORT_FORMATS:
            raise auth.ActionRefused(f"Exports are {' or '.join(EXPORT_FORMATS)}, not {fmt!r}.", "bad_format")
        try:
            with snapshots.connect() as con:
                if table not in snapshot_tables(con):
                    raise auth.ActionRefused(f"The snapshot has no table {table!r}.", "no_such_table")
                rows = int(con.query(f"SELECT count(*) AS n FROM {table}")["n"][0])
                act.after = {"rows": rows, "max_rows": cap, "format": fmt}  # kept by a denied row too
                if rows > cap:
                    raise auth.ActionRefused(
                        f"{table} has {rows:,} rows, over the export limit of {cap:,}. Nothing was exported: "
                        "query the warehouse for a table this size.", "too_many_rows")
                frame, version = con.query(f"SELECT * FROM {table}"), con.version
        except SnapshotUnavailable:
            raise auth.ActionRefused("No published snapshot yet: nothing to export.", "no_snapshot") from None
        if fmt == "csv":
            data = to_csv(frame)
        else:
            buffer = io.BytesIO()
            frame.write_parquet(buffer)
            data = buffer.getvalue()
        act.detail.update(rows=rows, bytes=len(data))
        act.after = None  # an export changes nothing: no before/after
    return Export(table, fmt, rows, data, version)


# -- the audit log -------------------------------------------------------------------------------------------------
AUDIT_OUTCOMES = ("ok", "denied", "failed")
AUDIT_SOURCES = ("admin_panel", "bot", "cli")


def audit_actions(session: Session) -> list[str]:
    return list(session.scalars(select(AdminAuditLog.action).distinct().order_by(AdminAuditLog.action)))


def audit_page(session: Session, *, action: str | None = None, outcome: str | None = None,
               source: str | None = None, username: str | None = None, target: str | None = None,
               since: date | None = None, until: date | None = None, page: int = 1,
               size: int = PAGE_SIZE) -> Page:
    """Audit rows, newest first, with the dashboards account's name."""
    query = (select(AdminAuditLog, DashboardAccount.username)
             .join(DashboardAccount, DashboardAccount.id == AdminAuditLog.account_id, isouter=True))
    start, end = _day_range(since, until)
    query = _where(query, ((action, AdminAuditLog.action.__eq__), (outcome, AdminAuditLog.outcome.__eq__),
                           (source, AdminAuditLog.source.__eq__),
                           ((username or "").strip().lower() or None, DashboardAccount.username.__eq__),
                           ((target or "").strip() or None, AdminAuditLog.target.__eq__),
                           (start, AdminAuditLog.at.__ge__), (end, AdminAuditLog.at.__lt__)))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = _page_bounds(total, page, size)
    rows = [{"id": r.id, "at": r.at, "account": who, "telegram_admin": r.admin_user_id or None,
             "source": r.source, "action": r.action, "target": r.target, "outcome": r.outcome,
             "address": r.client_address, "before": r.before_value, "after": r.after_value, "detail": r.detail}
            for r, who in session.execute(query.order_by(AdminAuditLog.id.desc())
                                          .offset((page - 1) * size).limit(size))]
    return Page(pl.DataFrame(rows, schema=_AUDIT_SCHEMA), total, page, pages)


_AUDIT_SCHEMA = {"id": pl.Int64, "at": pl.Datetime, "account": pl.String, "telegram_admin": pl.Int64,
                 "source": pl.String, "action": pl.String, "target": pl.String, "outcome": pl.String,
                 "address": pl.String, "before": pl.String, "after": pl.String, "detail": pl.String}
