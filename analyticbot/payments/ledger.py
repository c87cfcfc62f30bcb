"""The payment ledger and the quarantine: the two places a gateway's message can end up.

`record_event` writes a ledger row exactly once per `event_key` (a replay or a concurrent duplicate is a no-op,
decided by the database's unique index, not by a read-then-write race). `quarantine` keeps what we refused and
why. Both run inside the caller's transaction, so a protocol answer and its ledger rows commit together."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from analyticbot.appstore.models import PaymentEvent, PaymentQuarantine

SOURCES = ("webhook", "pull", "reconcile")


@dataclass(frozen=True)
class LedgerWrite:
    event_key: str
    inserted: bool  # False: the ledger already had this event (a replay)


def utcnow() -> datetime:
    """UTC as a naive datetime: the stores keep UTC without a zone, like the Telegram tables."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# Built once per dialect and executed with parameters: building `.values(...)` per call cost a third of a
# webhook's time in the profile.
_INSERT_IGNORE = {
    "postgresql": pg_insert(PaymentEvent).on_conflict_do_nothing(index_elements=["event_key"]),
    "sqlite": sqlite_insert(PaymentEvent).on_conflict_do_nothing(index_elements=["event_key"]),
}


def _insert_ignore(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERT_IGNORE:  # pragma: no cover - the two supported stores
        raise NotImplementedError(f"payment ledger on {dialect}")
    return _INSERT_IGNORE[dialect]


def record_event(session: Session, *, gateway: str, event_key: str, event_type: str, source: str,
                 occurred_at: datetime, payload: str | dict[str, Any], api_version: str | None = None,
                 received_at: datetime | None = None) -> LedgerWrite:
    """Append one ledger row unless `event_key` is already there. `payload` is kept verbatim when it is text
    (Stripe's raw body); dicts are stored as canonical JSON so a re-run writes identical bytes."""
    if source not in SOURCES:
        raise ValueError(f"ledger source must be one of {SOURCES}, got {source!r}")
    if not isinstance(payload, str):
        payload = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    result = session.connection().execute(_insert_ignore(session), dict(  # Core: rowcount says if it was new
        gateway=gateway, event_key=event_key, event_type=event_type, source=source, occurred_at=occurred_at,
        received_at=received_at or utcnow(), api_version=api_version, payload=payload,
    ))
    return LedgerWrite(event_key, result.rowcount == 1)


def quarantine(session: Session, *, gateway: str, reason: str, payload: str | bytes | dict[str, Any],
               external_id: str | None = None, received_at: datetime | None = None) -> None:
    """Keep a refused record with its reason. Replays of the same refused record are kept once."""
    if isinstance(payload, bytes):
        payload = payload.decode("utf-8", errors="replace")
    elif not isinstance(payload, str):
        payload = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    reason = reason[:512]
    if external_id is not None:
        seen = session.query(PaymentQuarantine.quarantine_id).filter_by(
            gateway=gateway, external_id=external_id, reason=reason).first()
        if seen is not None:
            return
    session.execute(insert(PaymentQuarantine).values(
        gateway=gateway, external_id=external_id, reason=reason, received_at=received_at or utcnow(),
        payload=payload))
