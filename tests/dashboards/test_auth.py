"""dashboards.auth on SQLite and PostgreSQL: passwords, TOTP enrolment and replay, lockout, the allowlist and the
per-address throttle, TOTP secrets encrypted at rest, sessions that expire, roles, and admin actions with their
audit rows and rate limit."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import os
import stat
from datetime import datetime, timedelta

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import inspect, select, text

from analyticbot.appstore.audit import record_admin_action
from analyticbot.appstore.db import AppStore, alembic_config, migrate
from analyticbot.appstore.models import DashboardAccount, DashboardSession, RuntimeSetting
from analyticbot.secret_box import SecretBox, dashboards_box, key_file
from analyticbot.settings import LOOPBACK_NETWORKS, ConfigError, get_settings
from dashboards import auth
from tests.dashboards.logins import audit_rows, code_at, new_account, secret_of

T0 = datetime(2026, 12, 2, 10, 0, 0)
HOME = "127.0.0.1"


def enrolled(store, settings, username="alice", role="admin", at=T0) -> tuple[auth.NewAccount, auth.LoginStep]:
    """An account through its first login (password, then the first code): returns it and the active login."""
    account = new_account(store, username, role)
    step = auth.login(store, settings, username, account.password, "", HOME, at)
    return account, auth.complete_enrolment(store, settings, step.token, code_at(account, at), HOME, at)


# -- passwords, names, TOTP (pure) ---------------------------------------------------------------------------------
def test_password_hashes_are_argon2id_salted_and_verify_only_the_right_password():
    a, b = auth.hash_password("correct horse"), auth.hash_password("correct horse")
    assert a.startswith("$argon2id$") and a != b
    assert auth.verify_password(a, "correct horse") and auth.verify_password(b, "correct horse")
    assert not auth.verify_password(a, "correct horse ") and not auth.verify_password(a, "")
    assert not auth.verify_password("not a hash", "correct horse")
    assert len({auth.generate_password() for _ in range(50)}) == 50


@pytest.mark.parametrize("name", ["a", "", "  ", "al ice", "-alice", "alice!", "a" * 65, "алиса", "12345", "1a"])
def test_a_username_outside_the_rules_is_refused(name):
    with pytest.raises(ValueError, match="2 to 64 characters"):
        auth.normalise_username(name)


def test_usernames_are_case_insensitive():
    assert auth.normalise_username("  Alice.B ") == "alice.b"


def test_a_code_is_accepted_within_one_step_of_drift_and_only_once():
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    totp = auth.pyotp.TOTP(secret)
    now = T0.replace(tzinfo=auth.UTC)
    step = totp.timecode(now)

    def code(offset: int = 0) -> str:
        return totp.at(now, counter_offset=offset)

    assert auth.totp_counter(secret, code(), T0) == step
    assert auth.totp_counter(secret, code(-1), T0) == step - 1  # the phone is a little behind
    assert auth.totp_counter(secret, code(1), T0) == step + 1  # or a little ahead
    assert auth.totp_counter(secret, code(2), T0) is None
    assert auth.totp_counter(secret, code(-2), T0) is None
    assert auth.totp_counter(secret, code(), T0, after=step) is None  # seen once: never again
    assert auth.totp_counter(secret, code(-1), T0, after=step) is None  # nor an older one
    assert auth.totp_counter(secret, code(1), T0, after=step) == step + 1
    assert auth.totp_counter(secret, f"{code()[:3]} {code()[3:]}", T0) == step  # as the app groups the digits
    for bad in ("", "12345", "1234567", "abcdef", "١٢٣٤٥٦"):
        assert auth.totp_counter(secret, bad, T0) is None


def test_the_enrolment_uri_names_the_issuer_and_account_and_the_qr_code_is_a_png():
    uri = auth.enrolment_uri("alice", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert uri == "otpauth://totp/AnalyticBot:alice?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=AnalyticBot"
    png = auth.qr_png(uri)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 200


# -- roles, allowlist (pure) ---------------------------------------------------------------------------------------
def test_roles_are_ordered_viewer_analyst_admin():
    assert [auth.has_role(r, "analyst") for r in ("viewer", "analyst", "admin")] == [False, True, True]
    assert [auth.has_role(r, "admin") for r in ("viewer", "analyst", "admin")] == [False, False, True]
    assert auth.has_role("viewer", "viewer") and not auth.has_role("owner", "viewer")
    with pytest.raises(ValueError):
        auth.has_role("admin", "superuser")


def test_require_returns_the_principal_or_says_which_role_is_missing():
    viewer = auth.Principal(1, "vic", "viewer", "t", HOME)
    assert auth.require(viewer, "viewer") is viewer
    with pytest.raises(auth.Forbidden, match="needs the admin role; your account has the viewer role"):
        auth.require(viewer, "admin")
    with pytest.raises(auth.SessionExpired, match="Log in first"):
        auth.require(None, "viewer")


def test_the_default_allowlist_is_this_machine_only():
    allowed = lambda a: auth.address_allowed(a, LOOPBACK_NETWORKS)  # noqa: E731
    assert all(allowed(a) for a in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"))
    assert not any(allowed(a) for a in ("10.0.0.1", "192.168.1.10", "8.8.8.8", "::2", None, "", "localhost",
                                        "not an address"))


def test_an_allowlist_of_cidr_networks_lets_in_exactly_those(monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_ADMIN_ALLOWLIST", "10.20.0.0/16, 192.168.1.7  2001:db8::/32")
    networks = get_settings().admin_allowlist
    assert networks == (ipaddress.ip_network("10.20.0.0/16"), ipaddress.ip_network("192.168.1.7/32"),
                        ipaddress.ip_network("2001:db8::/32"))
    assert all(auth.address_allowed(a, networks) for a in ("10.20.3.4", "192.168.1.7", "2001:db8::5",
                                                            "::ffff:10.20.0.1"))
    assert not any(auth.address_allowed(a, networks) for a in ("10.21.0.1", "192.168.1.8", "127.0.0.1", "::1"))


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.0.0.0/8,nonsense", "300.1.1.1"])
def test_a_malformed_allowlist_stops_the_start_and_names_the_variable_not_the_value(monkeypatch, value):
    monkeypatch.setenv("ANALYTICBOT_ADMIN_ALLOWLIST", value)
    with pytest.raises(ConfigError) as error:
        get_settings()
    assert "ANALYTICBOT_ADMIN_ALLOWLIST" in str(error.value) and "nonsense" not in str(error.value)


# -- accounts and login (both stores) ------------------------------------------------------------------------------
def test_creating_an_account_twice_or_with_an_unknown_role_is_refused(store):
    account = new_account(store, "Alice", "analyst")
    assert (account.username, account.role) == ("alice", "analyst")
    with pytest.raises(auth.AccountExists):
        new_account(store, "ALICE", "viewer")
    with pytest.raises(ValueError, match="unknown role"):
        new_account(store, "bob", "owner")
    with store.transaction() as session:
        row = session.scalar(select(DashboardAccount))
        assert row.password_hash.startswith("$argon2id$") and account.password not in row.password_hash
        assert row.totp_enrolled_at is None and row.failed_logins == 0 and not row.disabled


def test_the_first_login_enrols_the_second_factor_and_later_logins_need_a_fresh_code(store, settings):
    account = new_account(store)
    step = auth.login(store, settings, "Alice", account.password, "", HOME, T0)
    assert step.stage == "enrol" and step.principal is None
    assert step.enrolment.uri == account.enrolment_uri and step.enrolment.qr_png.startswith(b"\x89PNG")
    with pytest.raises(auth.SessionExpired):  # the enrolment token is no login
        auth.resume(store, settings, step.token, HOME, T0)
    with pytest.raises(auth.LoginRefused, match="code is not right"):
        auth.complete_enrolment(store, settings, step.token, "000000", HOME, T0)

    done = auth.complete_enrolment(store, settings, step.token, code_at(account, T0), HOME, T0)
    assert done.stage == "active" and done.token != step.token
    assert done.principal == auth.Principal(done.principal.account_id, "alice", "admin", done.token, HOME)
    assert auth.resume(store, settings, done.token, HOME, T0 + timedelta(minutes=1)) == done.principal
    with pytest.raises(auth.SessionExpired):  # used once
        auth.complete_enrolment(store, settings, step.token, code_at(account, T0), HOME, T0)

    later = T0 + timedelta(minutes=5)
    with pytest.raises(auth.LoginRefused, match="Wrong username, password or code"):
        auth.login(store, settings, "alice", account.password, "", HOME, later)  # enrolled: a code is a must
    again = auth.login(store, settings, "alice", account.password, code_at(account, later), HOME, later)
    assert again.stage == "active" and again.principal.role == "admin"
    with pytest.raises(auth.LoginRefused):  # the same code a second time (someone looking over a shoulder)
        auth.login(store, settings, "alice", account.password, code_at(account, later), HOME, later)

    assert [(r["action"], r["outcome"], r["detail"].get("reason")) for r in audit_rows(store)] == [
        ("login", "failed", "enrolment_code"), ("totp_enrolled", "ok", None), ("login", "ok", None),
        ("login", "failed", "code"), ("login", "ok", None), ("login", "failed", "code")]
    assert {r["address"] for r in audit_rows(store)} == {HOME}


def test_the_enrolment_step_times_out(store, settings):
    account = new_account(store)
    step = auth.login(store, settings, "alice", account.password, "", HOME, T0)
    late = T0 + timedelta(minutes=auth.ENROL_MINUTES + 1)
    with pytest.raises(auth.SessionExpired, match="timed out"):
        auth.complete_enrolment(store, settings, step.token, code_at(account, late), HOME, late)


def test_wrong_logins_lock_the_account_for_a_while_and_every_attempt_is_audited(store, settings):
    settings = dataclasses.replace(settings, login_max_failures=3, login_lockout_minutes=15)
    account, _ = enrolled(store, settings)
    start = len(audit_rows(store))
    t = T0 + timedelta(minutes=1)
    for n in range(2):
        with pytest.raises(auth.LoginRefused) as refused:
            auth.login(store, settings, "alice", f"guess {n}", "123456", HOME, t)
        assert not isinstance(refused.value, auth.AccountLocked)
    with pytest.raises(auth.AccountLocked, match="locked until 10:16 UTC"):
        auth.login(store, settings, "alice", "guess 3", "123456", HOME, t)
    # Locked: even the right password and code are refused, and the attempt does not extend the lock.
    t2 = t + timedelta(minutes=10)
    with pytest.raises(auth.AccountLocked, match="10:16"):
        auth.login(store, settings, "alice", account.password, code_at(account, t2), HOME, t2)

    rows = audit_rows(store)[start:]
    assert [(r["action"], r["outcome"], r["detail"].get("reason")) for r in rows] == [
        ("login", "failed", "password"), ("login", "failed", "password"), ("login", "failed", "password"),
        ("lockout", "denied", None), ("login", "denied", "locked")]
    assert [r["detail"].get("failed_logins") for r in rows[:3]] == [1, 2, 3]
    assert rows[3]["detail"]["until"] == "2026-12-02 10:16:00"

    after = t + timedelta(minutes=16)
    step = auth.login(store, settings, "alice", account.password, code_at(account, after), HOME, after)
    assert step.stage == "active"
    with store.transaction() as session:
        row = session.scalar(select(DashboardAccount))
        assert row.failed_logins == 0 and row.locked_until is None and row.last_login_at == after


def test_a_good_login_clears_the_count_of_wrong_ones(store, settings):
    settings = dataclasses.replace(settings, login_max_failures=3)
    account, _ = enrolled(store, settings)
    for minute in (1, 3, 5):  # two wrong, one right, two wrong: never three in a row
        t = T0 + timedelta(minutes=minute)
        for _ in range(2):
            with pytest.raises(auth.LoginRefused) as refused:
                auth.login(store, settings, "alice", account.password, "000000", HOME, t)  # wrong code counts too
            assert not isinstance(refused.value, auth.AccountLocked)
        auth.login(store, settings, "alice", account.password, code_at(account, t), HOME, t)


def test_an_unknown_user_gets_the_same_answer_and_the_attempt_is_audited(store, settings):
    with pytest.raises(auth.LoginRefused) as refused:
        auth.login(store, settings, "Mallory", "password", "123456", "127.0.0.2", T0)
    assert refused.value.message == auth.WRONG_LOGIN
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["target"], row["address"], row["account_id"], row["source"]) == (
        "login", "failed", "mallory", "127.0.0.2", None, "admin_panel")
    assert row["detail"] == {"reason": "unknown_user"}


def test_an_address_outside_the_allowlist_cannot_log_in_and_the_attempt_is_audited(store, settings):
    account = new_account(store)
    for address in ("192.0.2.10", None):
        with pytest.raises(auth.LoginRefused, match="cannot be opened from this address"):
            auth.login(store, settings, "alice", account.password, "", address, T0)
    rows = audit_rows(store)
    assert [(r["action"], r["outcome"], r["address"], r["detail"]["reason"]) for r in rows] == [
        ("login", "denied", "192.0.2.10", "address"), ("login", "denied", None, "address")]
    with store.transaction() as session:
        assert session.scalar(select(DashboardAccount.failed_logins)) == 0  # not a wrong password


def test_wrong_logins_over_many_names_from_one_address_hold_that_address_back(store, settings):
    settings = dataclasses.replace(settings, login_address_max_failures=3, login_max_failures=5,
                                   login_lockout_minutes=15)
    account, _ = enrolled(store, settings)
    carol = new_account(store, "carol")
    there = "127.0.0.5"  # allowed (loopback), but not HOME
    minute = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    with pytest.raises(auth.LoginRefused, match="Wrong"):
        auth.login(store, settings, "mallory", "guess", "123456", there, minute(1))
    with pytest.raises(auth.LoginRefused, match="Wrong"):
        auth.login(store, settings, "alice", "guess", "123456", there, minute(2))
    # A good login from there in between: the failures happened all the same, so the count stays.
    assert auth.login(store, settings, "alice", account.password, code_at(account, minute(3)), there,
                      minute(3)).stage == "active"
    with pytest.raises(auth.LoginRefused, match="Wrong"):
        auth.login(store, settings, "bob", "guess", "123456", there, minute(4))
    start = len(audit_rows(store))

    # The limit is reached: even the right password and code are refused, until the 10:01 failure is 15 min old.
    refusal = "Too many wrong logins from this address: try again after 10:16 UTC."
    for m in (5, 10):
        with pytest.raises(auth.AddressThrottled) as throttled:
            auth.login(store, settings, "alice", account.password, code_at(account, minute(m)), there, minute(m))
        assert throttled.value.message == refusal
    enrol = auth.login(store, settings, "carol", carol.password, "", HOME, minute(10))
    with pytest.raises(auth.AddressThrottled, match="after 10:16 UTC"):
        auth.complete_enrolment(store, settings, enrol.token, code_at(carol, minute(10)), there, minute(10))
    rows = audit_rows(store)[start:]
    assert [(r["action"], r["outcome"], r["target"], r["address"], r["account_id"], r["detail"].get("reason"))
            for r in rows] == [("login", "denied", "alice", there, None, "address_throttled"),
                               ("login", "denied", "alice", there, None, "address_throttled"),
                               ("login", "denied", None, there, None, "address_throttled")]
    assert rows[0]["detail"] == {"reason": "address_throttled", "until": "2026-12-02 10:16:00", "failures": 3}
    with store.transaction() as session:  # no password was checked, so no account paid for it
        assert session.scalar(select(DashboardAccount.failed_logins).where(DashboardAccount.username == "alice")) == 0

    # Another address is not held back, and the throttled one gets in once the oldest failure ages out.
    assert auth.login(store, settings, "alice", account.password, code_at(account, minute(11)), HOME,
                      minute(11)).stage == "active"
    assert auth.login(store, settings, "alice", account.password, code_at(account, minute(16)), there,
                      minute(16)).stage == "active"


def test_the_address_limit_comes_from_the_environment_and_is_at_least_one(monkeypatch, data_dir):
    assert get_settings().login_address_max_failures == 20
    monkeypatch.setenv("ANALYTICBOT_LOGIN_ADDRESS_MAX_FAILURES", "50")
    assert get_settings().login_address_max_failures == 50
    for value, message in (("0", "at least 1"), ("many", "a whole number")):
        monkeypatch.setenv("ANALYTICBOT_LOGIN_ADDRESS_MAX_FAILURES", value)
        with pytest.raises(ConfigError, match=f"ANALYTICBOT_LOGIN_ADDRESS_MAX_FAILURES must be {message}"):
            get_settings()


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(store, settings):
    account, done = enrolled(store, settings)
    with store.transaction() as session:
        session.scalar(select(DashboardAccount)).disabled = True
    with pytest.raises(auth.SessionExpired, match="disabled"):
        auth.resume(store, settings, done.token, HOME, T0 + timedelta(minutes=1))
    t = T0 + timedelta(minutes=2)
    with pytest.raises(auth.LoginRefused, match="disabled"):
        auth.login(store, settings, "alice", account.password, code_at(account, t), HOME, t)
    with pytest.raises(auth.LoginRefused, match="Wrong"):  # a wrong password learns nothing about the state
        auth.login(store, settings, "alice", "guess", code_at(account, t), HOME, t)


# -- TOTP secrets at rest (both stores) ----------------------------------------------------------------------------
def stored_secret(store, username: str = "alice") -> str:
    with store.transaction() as session:
        return session.scalar(select(DashboardAccount.totp_secret).where(DashboardAccount.username == username))


def test_the_stored_totp_secret_is_encrypted_and_opens_to_the_one_the_app_was_given(store, settings):
    account = new_account(store)
    stored = stored_secret(store)
    assert secret_of(account) not in stored and stored.startswith("gAAAAA")
    assert dashboards_box(settings).decrypt(stored) == secret_of(account)
    with store.transaction() as session:
        reset = auth.reset_credentials(session, settings, "alice")
    assert secret_of(reset) not in stored_secret(store)
    assert dashboards_box(settings).decrypt(stored_secret(store)) == secret_of(reset)


def test_a_plain_secret_from_before_encryption_still_logs_in_and_that_login_encrypts_it(store, settings):
    account, _ = enrolled(store, settings)
    with store.transaction() as session:  # as 0008 stored it
        session.scalar(select(DashboardAccount)).totp_secret = secret_of(account)
    t = T0 + timedelta(minutes=1)
    with pytest.raises(auth.LoginRefused, match="Wrong"):  # a wrong code leaves it as it is
        auth.login(store, settings, "alice", account.password, code_at(account, t, steps=5), HOME, t)
    assert stored_secret(store) == secret_of(account)
    assert auth.login(store, settings, "alice", account.password, code_at(account, t), HOME, t).stage == "active"
    assert stored_secret(store) != secret_of(account)
    assert dashboards_box(settings).decrypt(stored_secret(store)) == secret_of(account)
    t = T0 + timedelta(minutes=2)
    assert auth.login(store, settings, "alice", account.password, code_at(account, t), HOME, t).stage == "active"


def test_a_secret_the_key_cannot_open_refuses_that_login_clearly_and_locks_nobody(store, settings, caplog):
    settings = dataclasses.replace(settings, login_max_failures=2, login_address_max_failures=2)
    account, _ = enrolled(store, settings)
    other_key = dataclasses.replace(settings, dashboards_secret_key=Fernet.generate_key().decode())
    for minute in (1, 2, 3):  # more than both limits: not a wrong login, so neither the account nor the address
        t = T0 + timedelta(minutes=minute)
        with pytest.raises(auth.SecondFactorUnreadable) as refused:
            auth.login(store, other_key, "alice", account.password, code_at(account, t), HOME, t)
    assert "'alice' cannot be read" in refused.value.message
    assert "make admin-user ACCOUNT=alice RESET=1" in refused.value.message
    assert "Traceback" not in caplog.text and "alice" in caplog.text
    assert [r.levelno for r in caplog.records if "cannot be decrypted" in r.getMessage()] == [logging.ERROR] * 3
    row = audit_rows(store)[-1]
    assert (row["action"], row["outcome"], row["target"], row["detail"]) == (
        "login", "denied", "alice", {"reason": "totp_secret_unreadable"})
    with pytest.raises(auth.LoginRefused) as wrong:  # only the right password hears about the key
        auth.login(store, other_key, "alice", "guess", "123456", HOME, T0 + timedelta(minutes=4))
    assert wrong.value.message == auth.WRONG_LOGIN
    with store.transaction() as session:
        row = session.scalar(select(DashboardAccount))
        assert row.failed_logins == 1 and row.locked_until is None

    with store.transaction() as session:  # the way out the message names
        reset = auth.reset_credentials(session, other_key, "alice")
    t = T0 + timedelta(minutes=5)
    assert auth.login(store, other_key, "alice", reset.password, "", HOME, t).stage == "enrol"


def test_without_a_configured_key_one_is_generated_once_in_a_private_file(data_dir):
    settings = get_settings()
    previous = os.umask(0)  # the file and folder are private whatever the umask says
    try:
        token = dashboards_box(settings).encrypt("JBSWY3DPEHPK3PXP")
    finally:
        os.umask(previous)
    path = key_file(settings)
    assert path == data_dir / "secrets" / "dashboards.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["dashboards.key"]  # no temporary file left behind
    key = path.read_bytes()
    assert dashboards_box(get_settings()).decrypt(token) == "JBSWY3DPEHPK3PXP" and path.read_bytes() == key


def test_a_configured_key_is_used_and_no_key_file_is_made(monkeypatch, data_dir):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("ANALYTICBOT_DASHBOARDS_SECRET_KEY", key)
    settings = get_settings()
    assert SecretBox(key).decrypt(dashboards_box(settings).encrypt("JBSWY3DPEHPK3PXP")) == "JBSWY3DPEHPK3PXP"
    assert not key_file(settings).exists() and key not in repr(settings)


@pytest.mark.parametrize("value", ["not-a-key", Fernet.generate_key().decode()[:-4], "c2hvcnQ=", "ключ" * 11])
def test_a_malformed_secret_key_stops_the_start_and_names_the_variable_not_the_value(monkeypatch, data_dir, value):
    monkeypatch.setenv("ANALYTICBOT_DASHBOARDS_SECRET_KEY", value)
    with pytest.raises(ConfigError) as error:
        get_settings()
    assert "ANALYTICBOT_DASHBOARDS_SECRET_KEY must be a Fernet key" in str(error.value)
    assert value not in str(error.value)


def test_a_damaged_key_file_is_refused_naming_the_file(data_dir):
    settings = get_settings()
    key_file(settings).parent.mkdir(parents=True)
    key_file(settings).write_text("not a key\n")
    with pytest.raises(ConfigError, match="dashboards.key is not a Fernet key") as error:
        dashboards_box(settings)
    assert "not a key\n" not in str(error.value)


# -- sessions (both stores) ----------------------------------------------------------------------------------------
def test_a_session_ends_after_the_idle_time_and_each_use_moves_it_on(store, settings):
    settings = dataclasses.replace(settings, session_idle_minutes=30, session_max_hours=12)
    _, done = enrolled(store, settings)
    t = T0
    for _ in range(4):  # used every 25 minutes: stays
        t += timedelta(minutes=25)
        assert auth.resume(store, settings, done.token, HOME, t).username == "alice"
    with pytest.raises(auth.SessionExpired, match="30 minutes without use"):
        auth.resume(store, settings, done.token, HOME, t + timedelta(minutes=31))
    with pytest.raises(auth.SessionExpired, match="has ended"):  # and stays ended
        auth.resume(store, settings, done.token, HOME, t + timedelta(minutes=32))
    assert audit_rows(store)[-1]["action"] == "session_expired" and audit_rows(store)[-1]["detail"] == {
        "reason": "idle"}


def test_a_session_ends_after_the_absolute_time_however_busy(store, settings):
    settings = dataclasses.replace(settings, session_idle_minutes=30, session_max_hours=1)
    _, done = enrolled(store, settings)
    for minutes in (20, 40, 60):
        auth.resume(store, settings, done.token, HOME, T0 + timedelta(minutes=minutes))
    with pytest.raises(auth.SessionExpired, match="at most 1 hours"):
        auth.resume(store, settings, done.token, HOME, T0 + timedelta(minutes=61))


def test_a_session_from_an_address_outside_the_allowlist_ends(store, settings):
    _, done = enrolled(store, settings)
    with pytest.raises(auth.SessionExpired, match="this address"):
        auth.resume(store, settings, done.token, "198.51.100.7", T0)
    with pytest.raises(auth.SessionExpired):
        auth.resume(store, settings, done.token, HOME, T0)
    row = audit_rows(store)[-1]
    assert (row["action"], row["outcome"], row["address"]) == ("session_expired", "denied", "198.51.100.7")


def test_logout_ends_the_session_and_unknown_tokens_open_nothing(store, settings):
    _, done = enrolled(store, settings)
    auth.logout(store, done.token, HOME, T0)
    with pytest.raises(auth.SessionExpired):
        auth.resume(store, settings, done.token, HOME, T0)
    for token in (None, "", "made-up"):
        with pytest.raises(auth.SessionExpired):
            auth.resume(store, settings, token, HOME, T0)
    assert audit_rows(store)[-1]["action"] == "logout"
    with store.transaction() as session:  # the store keeps digests of tokens, never the tokens
        assert done.token not in {s.token_hash for s in session.scalars(select(DashboardSession))}


def test_a_role_change_applies_to_a_running_session(store, settings):
    _, done = enrolled(store, settings, role="admin")
    with store.transaction() as session:
        session.scalar(select(DashboardAccount)).role = "viewer"
    assert auth.resume(store, settings, done.token, HOME, T0).role == "viewer"


# -- admin actions (both stores) -----------------------------------------------------------------------------------
def set_flag(store, settings, principal, key, value, now, role="admin"):
    with auth.admin_action(store, settings, principal, "set_runtime_setting", target=key, role=role,
                           now=now) as act:
        row = act.session.get(RuntimeSetting, key)
        act.before = None if row is None else json.loads(row.value)
        if row is None:
            row = RuntimeSetting(key=key, value="null", updated_at=now)
            act.session.add(row)
        row.value, row.updated_at, row.updated_by = json.dumps(value), now, principal.username
        act.after = value


def flags(store) -> dict:
    with store.transaction() as session:
        return {r.key: json.loads(r.value) for r in session.scalars(select(RuntimeSetting))}


def test_an_admin_action_writes_the_change_and_one_audit_row_with_before_and_after(store, settings):
    _, done = enrolled(store, settings)
    start = len(audit_rows(store))
    set_flag(store, settings, done.principal, "digests_enabled", True, T0)
    set_flag(store, settings, done.principal, "digests_enabled", False, T0 + timedelta(seconds=1))
    assert flags(store) == {"digests_enabled": False}
    rows = audit_rows(store)[start:]
    assert [(r["action"], r["outcome"], r["target"], r["before"], r["after"], r["account_id"], r["address"])
            for r in rows] == [
        ("set_runtime_setting", "ok", "digests_enabled", None, True, done.principal.account_id, HOME),
        ("set_runtime_setting", "ok", "digests_enabled", True, False, done.principal.account_id, HOME)]


def test_a_viewer_trying_an_admin_action_changes_nothing_and_is_audited(store, settings):
    _, done = enrolled(store, settings, "vic", "viewer")
    start = len(audit_rows(store))
    with pytest.raises(auth.Forbidden, match="needs the admin role"):
        set_flag(store, settings, done.principal, "digests_enabled", True, T0)
    assert flags(store) == {}
    [row] = audit_rows(store)[start:]
    assert (row["action"], row["outcome"], row["detail"], row["target"]) == (
        "set_runtime_setting", "denied", {"reason": "role"}, "digests_enabled")


def test_an_analyst_action_is_allowed_where_the_analyst_role_is_enough(store, settings):
    _, done = enrolled(store, settings, "ann", "analyst")
    set_flag(store, settings, done.principal, "export_ok", True, T0, role="analyst")
    assert flags(store) == {"export_ok": True}


def test_refused_input_and_errors_roll_the_change_back_and_are_audited(store, settings):
    _, done = enrolled(store, settings)
    start = len(audit_rows(store))
    with pytest.raises(auth.ActionRefused, match="no plan"):
        with auth.admin_action(store, settings, done.principal, "change_plan", target=42, now=T0) as act:
            act.session.add(RuntimeSetting(key="half_done", value="1", updated_at=T0))
            act.after = {"plan": "platinum"}
            raise auth.ActionRefused("There is no plan 'platinum'.", reason="unknown_plan")
    with pytest.raises(ZeroDivisionError):
        with auth.admin_action(store, settings, done.principal, "change_plan", target=42, now=T0) as act:
            act.session.add(RuntimeSetting(key="half_done", value="1", updated_at=T0))
            act.session.flush()
            1 / 0
    assert flags(store) == {}
    rows = audit_rows(store)[start:]
    assert [(r["action"], r["outcome"], r["detail"].get("reason")) for r in rows] == [
        ("change_plan", "denied", "unknown_plan"), ("change_plan", "failed", "error")]
    assert rows[0]["detail"]["attempted"] == {"plan": "platinum"} and rows[1]["detail"]["error"] == "ZeroDivisionError"


def test_admin_actions_are_rate_limited_in_a_sliding_window_that_holds_across_store_connections(store, settings):
    settings = dataclasses.replace(settings, admin_rate_limit=3, admin_rate_window_seconds=60)
    _, done = enrolled(store, settings)
    _, other = enrolled(store, settings, "bob")
    for second in (0, 20, 40):
        set_flag(store, settings, done.principal, "k", second, T0 + timedelta(seconds=second))
    # A second engine stands for another rerun, tab or server process: the count is in the store.
    elsewhere = AppStore(settings)
    try:
        with pytest.raises(auth.RateLimited, match="at most 3 in 60 s"):
            set_flag(elsewhere, settings, done.principal, "k", 50, T0 + timedelta(seconds=50))
        with pytest.raises(auth.RateLimited):  # a refusal does not count, but does not help either
            set_flag(elsewhere, settings, done.principal, "k", 59, T0 + timedelta(seconds=59))
        set_flag(elsewhere, settings, other.principal, "k", "bob", T0 + timedelta(seconds=59))  # per account
        set_flag(elsewhere, settings, done.principal, "k", 61, T0 + timedelta(seconds=61))  # the 0 s one aged out
    finally:
        elsewhere.dispose()
    assert flags(store) == {"k": 61}
    rows = [r for r in audit_rows(store) if r["action"] == "set_runtime_setting"]
    assert [(r["outcome"], r["detail"].get("reason")) for r in rows] == [
        ("ok", None), ("ok", None), ("ok", None), ("denied", "rate_limit"), ("denied", "rate_limit"), ("ok", None),
        ("ok", None)]


def test_a_session_of_a_disabled_account_cannot_act(store, settings):
    _, done = enrolled(store, settings)
    with store.transaction() as session:
        session.scalar(select(DashboardAccount)).disabled = True
    with pytest.raises(auth.Forbidden):
        set_flag(store, settings, done.principal, "k", 1, T0)
    assert flags(store) == {} and audit_rows(store)[-1]["detail"] == {"reason": "account"}


# -- the migrations (both stores) ----------------------------------------------------------------------------------
def downgrade_to(store, settings, revision: str) -> None:
    with store.engine.begin() as connection:
        cfg = alembic_config(settings)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def test_migration_0007_adds_the_tables_and_columns_keeps_old_audit_rows_and_downgrades(store, settings):
    downgrade_to(store, settings, "0006")
    tables = set(inspect(store.engine).get_table_names())
    assert not {"dashboard_accounts", "dashboard_sessions", "runtime_settings"} & tables
    with store.engine.begin() as connection:  # a bot audit row written before the upgrade
        connection.execute(text("INSERT INTO admin_audit_log (admin_user_id, action, target, detail, source, at) "
                                "VALUES (1001, 'broadcast', NULL, '{}', 'bot', :at)"), {"at": T0})
    migrate(settings)
    migrate(settings)  # idempotent
    columns = {c["name"] for c in inspect(store.engine).get_columns("admin_audit_log")}
    assert {"account_id", "client_address", "before_value", "after_value", "outcome"} <= columns
    with store.transaction() as session:
        record_admin_action(session, 1001, "user_lookup", target=5)  # the bot's call, unchanged
    rows = audit_rows(store)
    assert [(r["action"], r["outcome"], r["source"], r["account_id"]) for r in rows] == [
        ("broadcast", "ok", "bot", None), ("user_lookup", "ok", "bot", None)]
    with pytest.raises(ValueError, match="unknown audit outcome"):
        with store.transaction() as session:
            record_admin_action(session, 1001, "user_lookup", outcome="maybe")
    enrolled(store, settings)  # the new tables work


def totp_secret_length(store) -> int:
    [column] = [c for c in inspect(store.engine).get_columns("dashboard_accounts") if c["name"] == "totp_secret"]
    return column["type"].length


def test_migration_0009_widens_the_totp_secret_and_its_downgrade_decrypts_the_secrets(store, settings):
    account, done = enrolled(store, settings)
    assert totp_secret_length(store) == 255 and stored_secret(store) != secret_of(account)
    other_key = dataclasses.replace(settings, dashboards_secret_key=Fernet.generate_key().decode())
    with pytest.raises(RuntimeError, match="does not open the TOTP secrets of alice; restore the key"):
        downgrade_to(store, other_key, "0008")
    assert totp_secret_length(store) == 255  # nothing changed

    downgrade_to(store, settings, "0008")
    assert totp_secret_length(store) == 64 and stored_secret(store) == secret_of(account)  # what 0008 reads
    migrate(settings)
    migrate(settings)  # idempotent
    assert totp_secret_length(store) == 255 and stored_secret(store) == secret_of(account)  # rows are not rewritten
    assert auth.resume(store, settings, done.token, HOME, T0).username == "alice"  # sessions kept their account
    t = T0 + timedelta(minutes=1)
    assert auth.login(store, settings, "alice", account.password, code_at(account, t), HOME, t).stage == "active"
    assert dashboards_box(settings).decrypt(stored_secret(store)) == secret_of(account)
