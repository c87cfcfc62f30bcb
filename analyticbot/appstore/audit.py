"""The admin audit log: one append-only row per admin action, from the bot, the admin panel or the command line.

Callers write the row in the same transaction as the action itself, so an action and its audit row commit (or
roll back) together. `detail` is JSON of ids, counts and digests: never a token, a password or a user's message.
One exception, by design: a broadcast preview holds the text the admin is about to send to everyone, because the
Confirm button reads it back from that row (callback data is 64 bytes); the rows after it hold ids and counts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.orm import Session

from analyticbot.appstore.models import AdminAuditLog

AUDIT_SOURCES = ("bot", "admin_panel", "cli")
CLI_ADMIN_ID = 0  # the command line has no Telegram user; whoever runs it on the server acts as user 0


def record_admin_action(session: Session, admin_user_id: int, action: str, target: str | int | None = None,
                        detail: Mapping[str, Any] | None = None, *, source: str = "bot",
                        at: datetime | None = None) -> int:
    """Append an audit row in the caller's transaction and return its id."""
    if source not in AUDIT_SOURCES:
        raise ValueError(f"unknown audit source {source!r}; expected one of {', '.join(AUDIT_SOURCES)}")
    row = AdminAuditLog(admin_user_id=admin_user_id, action=action,
                        target=None if target is None else str(target),
                        detail=json.dumps(dict(detail or {}), ensure_ascii=False, sort_keys=True, default=str),
                        source=source, at=at or datetime.utcnow())
    session.add(row)
    session.flush()
    return row.id
