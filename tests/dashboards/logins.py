"""Accounts, their codes and the audit log, as the dashboards tests need them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pyotp
from sqlalchemy import select

from analyticbot.appstore.models import AdminAuditLog
from dashboards import auth


def new_account(store, username: str = "alice", role: str = "admin") -> auth.NewAccount:
    with store.transaction() as session:
        return auth.create_account(session, store.settings, username, role)


def secret_of(account: auth.NewAccount) -> str:
    return parse_qs(urlparse(account.enrolment_uri).query)["secret"][0]


def code_at(account: auth.NewAccount, when, steps: int = 0) -> str:
    """The code the app shows at `when` (naive UTC), `steps` time steps later."""
    return pyotp.TOTP(secret_of(account)).at(when.replace(tzinfo=auth.UTC), counter_offset=steps)


def audit_rows(store) -> list[dict]:
    with store.transaction() as session:
        return [dict(action=r.action, outcome=r.outcome, target=r.target, account_id=r.account_id,
                     address=r.client_address, source=r.source, detail=json.loads(r.detail),
                     before=None if r.before_value is None else json.loads(r.before_value),
                     after=None if r.after_value is None else json.loads(r.after_value))
                for r in session.scalars(select(AdminAuditLog).order_by(AdminAuditLog.id))]
