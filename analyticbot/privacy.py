"""A user's data in the operational store: everything about them as one JSON document (/mydata), and erasure
(/deleteme).

What erasure removes and what it keeps (the choice, written down):

- Removed at once, in one transaction: the user row (language, time zone, every setting, watermark text), their
  channels, their activity counters, the bot's outbox rows addressed to them, and their watermark logo file.
- Kept, detached: orders, Payme and Click transactions and the payment ledger. They are accounting records the
  business must keep (tax law), and they hold no content: a bare user id number, plan, amounts, times. Migration
  0006 drops the foreign key from `orders.user_id` to `users`, so the order outlives the user row and a later
  /start creates a fresh account with no settings. The warehouse keeps the revenue models built on them
  (payments, MRR, cohorts) for the same reason; everything else of the user and their channels is purged there
  by the next pipeline run (`analyticbot.erasure`, `orchestration/defs/privacy`), and the churn scores leave
  them out although their payments stay: a risk score of a person is no accounting record.
- Kept: audit-log rows where an admin acted on them (the audit log is append-only by design) and the
  `erasure_requests` row itself (ids only), which is how the pipeline knows what to purge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import delete, inspect, or_, select
from sqlalchemy.orm import Session

from analyticbot.appstore.models import (AdminAuditLog, Channel, ClickTransaction, ErasureRequest, Order,
                                         OutboxMessage, PaymentEvent, PaymeTransaction, User, UserActivityDaily)


def _iso(value: Any) -> Any:
    """Datetimes as ISO 8601 in UTC (the store keeps naive UTC), dates as ISO days."""
    if isinstance(value, datetime):
        aware = value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
        return aware.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _row(obj: Any) -> dict[str, Any]:
    """Every mapped column of a row, by attribute name, JSON-ready."""
    return {attr.key: _iso(getattr(obj, attr.key)) for attr in inspect(type(obj)).column_attrs}


def _stripe_events_of(session: Session, user_id: int) -> list[PaymentEvent]:
    """Stripe events about this user: those whose object carries `metadata.telegram_user_id` = them, and every
    event naming one of the customers those objects belong to (invoices, charges carry only the customer).

    A LIKE on the id narrows the scan; the JSON is then checked exactly, so user 12 never gets user 123's."""
    def obj(ev: PaymentEvent) -> dict:
        try:
            o = json.loads(ev.payload).get("data", {}).get("object", {})
        except (ValueError, AttributeError):
            return {}
        return o if isinstance(o, dict) else {}

    marked = session.scalars(select(PaymentEvent).where(PaymentEvent.gateway == "stripe",
                                                        PaymentEvent.payload.like(f"%{user_id}%"))).all()
    customers: set[str] = set()
    for ev in marked:
        o = obj(ev)
        if str((o.get("metadata") or {}).get("telegram_user_id")) == str(user_id):
            cust = o.get("id") if o.get("object") == "customer" else o.get("customer")
            if isinstance(cust, str):
                customers.add(cust)
    if not customers:
        return []
    found = session.scalars(select(PaymentEvent).where(
        PaymentEvent.gateway == "stripe",
        or_(*(PaymentEvent.payload.like(f"%{c}%") for c in sorted(customers)))).order_by(PaymentEvent.ledger_id))
    out = []
    for ev in found:
        o = obj(ev)
        cust = o.get("id") if o.get("object") == "customer" else o.get("customer")
        if cust in customers or str((o.get("metadata") or {}).get("telegram_user_id")) == str(user_id):
            out.append(ev)
    return out


def _order_events_of(session: Session, order_ids: set[int]) -> list[PaymentEvent]:
    """Payme and Click ledger rows of these orders (their payload names the order)."""
    if not order_ids:
        return []
    out = []
    candidates = session.scalars(select(PaymentEvent).where(PaymentEvent.gateway.in_(("payme", "click")))
                                 .order_by(PaymentEvent.ledger_id))
    for ev in candidates:
        try:
            if json.loads(ev.payload).get("order_id") in order_ids:
                out.append(ev)
        except (ValueError, AttributeError):
            continue
    return out


STAFF_COLUMNS = frozenset({"admin_user_id", "account_id", "client_address"})


def export_user_data(session: Session, user_id: int) -> dict[str, Any]:
    """Everything the operational store holds about `user_id`, as a JSON-ready dict (datetimes ISO, UTC)."""
    user = session.get(User, user_id)
    orders = session.scalars(select(Order).where(Order.user_id == user_id).order_by(Order.order_id)).all()
    order_ids = {o.order_id for o in orders}
    payme = session.scalars(select(PaymeTransaction).where(PaymeTransaction.order_id.in_(order_ids))
                            .order_by(PaymeTransaction.id)).all() if order_ids else []
    click = session.scalars(select(ClickTransaction).where(ClickTransaction.order_id.in_(order_ids))
                            .order_by(ClickTransaction.id)).all() if order_ids else []
    events = sorted(_stripe_events_of(session, user_id) + _order_events_of(session, order_ids),
                    key=lambda e: e.ledger_id)

    def rows(model, *where, order):
        return [_row(r) for r in session.scalars(select(model).where(*where).order_by(order))]

    return {
        "user_id": user_id,
        "exported_at": _iso(datetime.now(timezone.utc)),
        "user": _row(user) if user is not None else None,
        "channels": rows(Channel, Channel.owner_user_id == user_id, order=Channel.channel_id),
        "orders": [_row(o) for o in orders],
        "payme_transactions": [_row(t) for t in payme],
        "click_transactions": [_row(t) for t in click],
        "payment_events": [{**_row(e), "payload": _json_or_text(e.payload)} for e in events],
        "activity_daily": rows(UserActivityDaily, UserActivityDaily.user_id == user_id,
                               order=UserActivityDaily.activity_date),
        "outbox_messages": [{**r, "payload": _json_or_text(r["payload"])} for r in rows(
            OutboxMessage, OutboxMessage.chat_id == user_id, OutboxMessage.chat_kind == "private",
            order=OutboxMessage.id)],
        # what the team did to their account, not who on the team did it or from which address (staff data)
        "admin_audit_log": [{k: v for k, v in r.items() if k not in STAFF_COLUMNS} for r in rows(
            AdminAuditLog, AdminAuditLog.target == str(user_id), order=AdminAuditLog.id)],
        "erasure_requests": [{**r, "channel_ids": json.loads(r["channel_ids"])} for r in rows(
            ErasureRequest, ErasureRequest.user_id == user_id, order=ErasureRequest.id)],
    }


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def export_json(session: Session, user_id: int) -> bytes:
    """`export_user_data` as UTF-8 JSON bytes, indented for a human reader."""
    return json.dumps(export_user_data(session, user_id), ensure_ascii=False, indent=2).encode("utf-8")


def logo_path(data_dir: Path, user_id: int) -> Path:
    """Where the watermark feature keeps an owner's logo."""
    return Path(data_dir) / "logos" / f"{user_id}.png"


@dataclass(frozen=True)
class Erasure:
    request_id: int
    user_id: int
    channel_ids: list[int]


def erase_user(session: Session, user_id: int, data_dir: Path | None = None,
               now: datetime | None = None) -> Erasure | None:
    """Delete the user from the operational store and record an erasure request for the warehouse purge.

    Runs inside the caller's transaction (all or nothing). Returns None when there is no such user, so a
    repeated or late confirmation deletes nothing and records nothing. Orders and the payment ledger stay,
    detached (see the module docstring). The logo file goes last, after every row is deleted and flushed, so
    a failure in those deletes rolls back with the file still there; a failure of the caller's commit after it
    would leave the rows with the logo gone (the owner uploads it again)."""
    user = session.get(User, user_id)
    if user is None:
        return None
    now = now or datetime.utcnow()
    channel_ids = sorted(session.scalars(select(Channel.channel_id).where(Channel.owner_user_id == user_id)))
    request = ErasureRequest(user_id=user_id, channel_ids=json.dumps(channel_ids), requested_at=now)
    session.add(request)
    session.execute(delete(Channel).where(Channel.owner_user_id == user_id))
    session.execute(delete(UserActivityDaily).where(UserActivityDaily.user_id == user_id))
    session.execute(delete(OutboxMessage).where(OutboxMessage.chat_id == user_id,
                                                OutboxMessage.chat_kind == "private"))
    session.delete(user)
    session.flush()
    if data_dir is not None:
        logo_path(data_dir, user_id).unlink(missing_ok=True)
    return Erasure(request.id, user_id, channel_ids)


def pending_erasures(session: Session) -> list[Erasure]:
    """Erasure requests the warehouse has not been purged of yet, oldest first."""
    q = select(ErasureRequest).where(ErasureRequest.purged_at.is_(None)).order_by(ErasureRequest.id)
    return [Erasure(r.id, r.user_id, [int(c) for c in json.loads(r.channel_ids)]) for r in session.scalars(q)]


def mark_purged(session: Session, request_ids: list[int], now: datetime | None = None) -> None:
    """The warehouse and the published snapshot no longer hold these requests' rows."""
    now = now or datetime.utcnow()
    for r in session.scalars(select(ErasureRequest).where(ErasureRequest.id.in_(request_ids))):
        r.purged_at = now


def erased_ids(session: Session) -> tuple[set[int], set[int]]:
    """User ids and channel ids ever erased: the demo registration skips them, so an erased demo owner is not
    re-created by the next `make demo`."""
    users, channels = set(), set()
    for r in session.scalars(select(ErasureRequest)):
        users.add(r.user_id)
        channels.update(int(c) for c in json.loads(r.channel_ids))
    return users, channels
