"""The dashboards app in Streamlit's AppTest: nothing without a login; wrong password, lockout, a refused address
and an ended session each say so; the first login enrols the second factor from the QR code; a page above the
account's role stops and is audited."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.appstore.models import DashboardSession
from analyticbot.settings import get_settings
from dashboards import auth, session
from tests.dashboards.logins import audit_rows, code_at, new_account

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
LOGIN_TITLE = "AnalyticBot dashboards"


@pytest.fixture
def store(data_dir, monkeypatch):
    """A SQLite store (the pages do not depend on the engine; dashboards.auth is tested on both), and the client
    connecting from this machine: AppTest has no browser connection, hence no peer address of its own."""
    monkeypatch.setattr(session, "client_address", lambda: "127.0.0.1")
    migrate(get_settings())
    s = AppStore(get_settings())
    yield s
    s.dispose()


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    return at


def submit(at: AppTest, username: str, password: str, code: str = "") -> AppTest:
    at.text_input(key="login.username").input(username)
    at.text_input(key="login.password").input(password)
    at.text_input(key="login.code").input(code)
    next(b for b in at.button if b.label == "Log in").click()
    return at.run()


def enrol(at: AppTest, code: str) -> AppTest:
    at.text_input(key="enrol.code").input(code)
    next(b for b in at.button if b.label == "Confirm").click()
    return at.run()


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def on_home(at: AppTest) -> bool:
    return titles(at) == ["AnalyticBot"] and any(m.value.startswith("Logged in as") for m in at.markdown)


def test_without_a_login_only_the_login_form_shows(store):
    new_account(store)
    at = app()
    assert not at.exception
    assert titles(at) == [LOGIN_TITLE] and not on_home(at)
    assert [t.label for t in at.text_input] == ["Username", "Password", "Authenticator code"]
    assert at.text_input(key="login.password").proto.type == at.text_input(key="login.password").proto.PASSWORD
    assert not at.sidebar.button  # no logout, no pages


def test_a_wrong_password_says_so_and_stays_on_the_login_page(store):
    new_account(store)
    at = submit(app(), "alice", "not the password")
    assert [e.value for e in at.error] == [auth.WRONG_LOGIN]
    assert titles(at) == [LOGIN_TITLE] and not on_home(at)
    assert [(r["action"], r["outcome"], r["address"]) for r in audit_rows(store)] == [
        ("login", "failed", "127.0.0.1")]


def test_the_first_login_enrols_from_the_qr_code_and_later_logins_ask_for_a_code(store):
    account = new_account(store, "alice", "analyst")
    at = submit(app(), "alice", account.password)
    assert [s.value for s in at.subheader] == ["Set up your second factor"]
    assert len(at.get("image")) == 1  # the QR code
    assert account.enrolment_uri in [c.value for c in at.code]  # and the same by hand

    at = enrol(at, "000000")
    assert "code is not right" in at.error[0].value and not on_home(at)

    when = auth.utcnow()
    at = enrol(at, code_at(account, when))
    assert on_home(at) and not at.exception
    assert "Logged in as **alice**, role **analyst**." in [m.value for m in at.markdown]
    assert "No published snapshot yet" in at.warning[0].value  # this data dir has no pipeline run
    assert at.sidebar.markdown[0].value == "**alice** · analyst"

    at.sidebar.button(key="logout").click()
    at = at.run()
    assert titles(at) == [LOGIN_TITLE] and [i.value for i in at.info] == ["You have logged out."]

    at = submit(at, "alice", account.password, code_at(account, when, steps=1))  # the next code, no QR any more
    assert on_home(at) and not at.get("image")
    assert [(r["action"], r["outcome"]) for r in audit_rows(store)] == [
        ("login", "failed"), ("totp_enrolled", "ok"), ("login", "ok"), ("logout", "ok"), ("login", "ok")]


def test_a_locked_account_says_until_when(store, monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_LOGIN_MAX_FAILURES", "2")
    account = new_account(store)
    at = submit(app(), "alice", "guess one")
    assert [e.value for e in at.error] == [auth.WRONG_LOGIN]
    at = submit(at, "alice", "guess two")
    assert "this account is locked until" in at.error[0].value
    at = submit(at, "alice", account.password)  # the right password does not open it now
    assert "this account is locked until" in at.error[0].value and not at.subheader
    assert [(r["action"], r["outcome"]) for r in audit_rows(store)] == [
        ("login", "failed"), ("login", "failed"), ("lockout", "denied"), ("login", "denied")]


def test_an_address_outside_the_allowlist_is_told_so(store, monkeypatch):
    account = new_account(store)
    monkeypatch.setattr(session, "client_address", lambda: "203.0.113.5")
    at = submit(app(), "alice", account.password)
    assert [e.value for e in at.error] == [auth.ADDRESS_REFUSED] and not at.subheader
    assert [(r["outcome"], r["address"]) for r in audit_rows(store)] == [("denied", "203.0.113.5")]


def test_an_idle_session_goes_back_to_the_login_page_with_the_reason(store):
    account = new_account(store)
    at = enrol(submit(app(), "alice", account.password), code_at(account, auth.utcnow()))
    assert on_home(at)
    with store.transaction() as s:  # 31 minutes pass without a click
        for row in s.scalars(select(DashboardSession)):
            row.last_seen_at -= timedelta(minutes=31)
    at = at.run()
    assert titles(at) == [LOGIN_TITLE]
    assert [i.value for i in at.info] == ["You were logged out after 30 minutes without use. Log in again."]
    with store.transaction() as s:
        assert all(row.ended_at is not None for row in s.scalars(select(DashboardSession)))


def page_for_admins_only():
    import streamlit as st

    from dashboards import session

    principal = session.guard("admin", "Admin panel")
    st.write(f"admin page for {principal.username}")


def test_a_page_above_the_role_stops_with_the_reason_and_the_attempt_is_audited(store):
    new_account(store, "vic", "viewer")
    at = AppTest.from_function(page_for_admins_only, default_timeout=30)
    at.session_state[session.PRINCIPAL] = auth.Principal(1, "vic", "viewer", "token", "127.0.0.1")
    at.run()
    assert [e.value for e in at.error] == ["This needs the admin role; your account has the viewer role."]
    assert not [m for m in at.markdown if "admin page" in m.value]
    assert [(r["action"], r["outcome"], r["target"], r["account_id"]) for r in audit_rows(store)] == [
        ("open_page", "denied", "Admin panel", 1)]

    at.session_state[session.PRINCIPAL] = auth.Principal(2, "ada", "admin", "token", "127.0.0.1")
    at.run()
    assert not at.error and [m.value for m in at.markdown] == ["admin page for ada"]
