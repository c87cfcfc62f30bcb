"""The admin audit log: one append-only row per admin action, from the bot, the admin panel or the command line.

Callers write the row in the same transaction as the action itself, so an action and its audit row commit (or
roll back) together. `detail` is JSON of ids, counts and digests: never a token, a password or a user's message.
One exception, by design: a broadcast preview holds the text the admin is about to send to everyone, because the
Confirm button reads it back from that row (callback data is 64 bytes); the rows after it hold ids and counts.

The dashboards (source "admin_panel") also record the actor's account, the client's address, the values before
and after a change, and the outcome: "ok" (done), "denied" (a rule refused it: role, allowlist, lockout, rate
limit) or "failed" (tried and did not work: a wrong password, an error). A refusal or a failure gets its row in a
transaction of its own, since the action's own transaction rolls back.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.orm import Session

from analyticbot.appstore.models import AUDIT_OUTCOMES, AdminAuditLog

AUDIT_SOURCES = ("bot", "admin_panel", "cli")
NO_TELEGRAM_USER = 0
CLI_ADMIN_ID = NO_TELEGRAM_USER  # the command line has no Telegram user; whoever runs it on the server acts as 0


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record_admin_action(session: Session, admin_user_id: int, action: str, target: str | int | None = None,
                        detail: Mapping[str, Any] | None = None, *, source: str = "bot",
                        at: datetime | None = None, account_id: int | None = None,
                        client_address: str | None = None, before: Any = None, after: Any = None,
                        outcome: str = "ok") -> int:
    """Append an audit row in the caller's transaction and return its id. `before`/`after` are stored as JSON
    (None = not recorded); a target longer than the column is cut, so an odd input never loses its row."""
    if source not in AUDIT_SOURCES:
        raise ValueError(f"unknown audit source {source!r}; expected one of {', '.join(AUDIT_SOURCES)}")
    if outcome not in AUDIT_OUTCOMES:
        raise ValueError(f"unknown audit outcome {outcome!r}; expected one of {', '.join(AUDIT_OUTCOMES)}")
    row = AdminAuditLog(admin_user_id=admin_user_id, action=action,
                        target=None if target is None else str(target)[:64],
                        detail=_json(dict(detail or {})), source=source, at=at or datetime.utcnow(),
                        account_id=account_id, client_address=client_address,
                        before_value=None if before is None else _json(before),
                        after_value=None if after is None else _json(after), outcome=outcome)
    session.add(row)
    session.flush()
    return row.id
