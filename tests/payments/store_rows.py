"""Reading back what the protocol code wrote: the ledger and the quarantine, in the order it wrote them."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import PaymentEvent, PaymentQuarantine


def ledger(store: AppStore) -> list[tuple[str, str, datetime, dict]]:
    with store.transaction() as s:
        return [(e.event_key, e.event_type, e.occurred_at, json.loads(e.payload))
                for e in s.scalars(select(PaymentEvent).order_by(PaymentEvent.ledger_id))]


def quarantined(store: AppStore) -> list[tuple[str, str | None, str]]:
    with store.transaction() as s:
        return [(q.gateway, q.external_id, q.reason)
                for q in s.scalars(select(PaymentQuarantine).order_by(PaymentQuarantine.quarantine_id))]
