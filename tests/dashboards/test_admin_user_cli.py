"""`analyticbot admin-user` (`make admin-user`) and the demo's admin account: the password is printed once and
works, the account enrols on its first login, nothing is created twice, and every change has a "cli" audit row."""

from __future__ import annotations

import re

import pytest

from analyticbot import cli
from dashboards import auth
from dashboards.accounts import DEMO_ADMIN, ensure_demo_admin
from tests.dashboards.logins import audit_rows

T0 = auth.utcnow()


def printed_credentials(out: str) -> tuple[str, str]:
    [password] = re.findall(r"password: (\S+)", out)
    [uri] = re.findall(r"(otpauth://totp/\S+)", out)
    return password, uri


def test_admin_user_prints_a_working_password_once_and_the_enrolment_uri(store, settings, capsys):
    assert cli.main(["admin-user", "Alice", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    password, uri = printed_credentials(out)
    assert "Created the dashboards account 'alice' (role admin)" in out
    assert uri.startswith("otpauth://totp/AnalyticBot:alice?secret=")
    step = auth.login(store, settings, "alice", password, "", "127.0.0.1", T0)
    assert step.stage == "enrol" and step.enrolment.uri == uri
    [row] = audit_rows(store)
    assert (row["action"], row["source"], row["target"], row["after"]) == (
        "create_account", "cli", "alice", {"username": "alice", "role": "admin"})
    assert password not in str(row)

    assert cli.main(["admin-user", "alice", "--role", "viewer"]) == 1  # exists: nothing changes, no password
    captured = capsys.readouterr()
    assert "exists already; nothing changed" in captured.err and "password" not in captured.out
    assert len(audit_rows(store)) == 1


def test_reset_gives_a_new_password_and_second_factor_and_the_old_ones_stop_working(store, settings, capsys):
    assert cli.main(["admin-user", "bob", "--role", "analyst"]) == 0
    old_password, old_uri = printed_credentials(capsys.readouterr().out)
    assert cli.main(["admin-user", "bob", "--reset"]) == 0
    new_password, new_uri = printed_credentials(capsys.readouterr().out)
    assert new_password != old_password and new_uri != old_uri
    with pytest.raises(auth.LoginRefused):
        auth.login(store, settings, "bob", old_password, "", "127.0.0.1", T0)
    step = auth.login(store, settings, "bob", new_password, "", "127.0.0.1", T0)
    assert step.stage == "enrol" and step.enrolment.uri == new_uri
    assert [r["action"] for r in audit_rows(store) if r["source"] == "cli"] == ["create_account", "reset_credentials"]
    assert cli.main(["admin-user", "nobody", "--reset"]) == 2
    assert "no account named 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize("args, message", [(["admin-user", "a b"], "2 to 64 characters"),
                                           (["admin-user", "x!"], "2 to 64 characters")])
def test_a_bad_name_is_refused_with_the_rule(store, args, message, capsys):
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err and audit_rows(store) == []


def test_an_unknown_role_is_a_usage_error(store, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["admin-user", "carol", "--role", "owner"])
    assert exited.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_the_demo_admin_is_created_once_and_a_second_demo_says_it_exists(store, settings):
    first = ensure_demo_admin(settings)
    password, _ = printed_credentials(first)
    assert f"username: {DEMO_ADMIN}" in first and "http://127.0.0.1:8501" in first
    assert auth.login(store, settings, DEMO_ADMIN, password, "", "127.0.0.1", T0).stage == "enrol"
    second = ensure_demo_admin(settings)
    assert "exists" in second and "password:" not in second and password not in second
    assert [r["action"] for r in audit_rows(store)] == ["create_account"]


def test_make_demo_prints_the_demo_admin_last_and_only_the_first_time(store, monkeypatch, capsys):
    monkeypatch.setattr(cli, "build_demo", lambda settings: True)  # the pipeline has tests of its own
    monkeypatch.setattr(cli, "print_summary", lambda settings: print("SUMMARY"))
    assert cli.main(["demo"]) == 0
    out = capsys.readouterr().out
    password, _ = printed_credentials(out)
    assert out.index("SUMMARY") < out.index(f"username: {DEMO_ADMIN}") < out.index(password)
    assert cli.main(["demo"]) == 0
    again = capsys.readouterr().out
    assert "exists" in again and password not in again and "password:" not in again
