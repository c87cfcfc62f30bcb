"""Accounts, their codes and the audit log, and pages opened logged in, as the dashboards tests need them."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pyotp
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from analyticbot.appstore.models import AdminAuditLog
from analyticbot.settings import get_settings
from dashboards import auth, session


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


def logged_in(store, username: str, role: str) -> str:
    """A session token of a new account that has enrolled its second factor, as the login page leaves it."""
    account = new_account(store, username, role)
    settings = get_settings()
    step = auth.login(store, settings, username, account.password, "", "127.0.0.1")
    return auth.complete_enrolment(store, settings, step.token, code_at(account, auth.utcnow()), "127.0.0.1").token


def one_page(url: str):
    """What the app does when a browser opens /<url>: the login page without a session, else that page (whose
    guard checks the role: a typed URL skips the navigation's filter)."""
    from dashboards import session
    from dashboards.views import PAGES, login

    if session.current_principal() is None:
        login.render()
    else:
        next(p for p in PAGES if p.URL == url).render()


def open_page(url: str, token: str | None = None) -> AppTest:
    """`one_page(url)` run once in AppTest, as the holder of `token` (none: nobody logged in); it must not raise."""
    at = AppTest.from_function(one_page, args=(url,), default_timeout=60)
    if token:
        at.session_state[session.TOKEN] = token
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at
