"""Dashboards accounts from the command line: `analyticbot admin-user` (`make admin-user`) and the demo's admin.

A generated password is printed once and never stored (only its argon2 hash is); whoever runs the command on the
server is trusted, as with `analyticbot grant-admin`, and the audit row says "cli" and the OS user.
"""

from __future__ import annotations

import getpass
import sys

from analyticbot.appstore.audit import CLI_ADMIN_ID, record_admin_action
from analyticbot.appstore.db import session_scope
from analyticbot.settings import Settings
from dashboards.auth import AccountExists, NewAccount, create_account, reset_credentials

DEMO_ADMIN = "admin"


def dashboards_url(settings: Settings) -> str:
    return f"http://{settings.dashboards_host}:{settings.dashboards_port}"


def _os_user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return None


def _credentials(account: NewAccount, settings: Settings) -> str:
    return (f"  username: {account.username}\n"
            f"  password: {account.password}   (shown this once; it is not stored)\n"
            f"  second factor: the first login at {dashboards_url(settings)} shows a QR code for an authenticator\n"
            f"  app, or add this to the app by hand: {account.enrolment_uri}")


def add_account(settings: Settings, username: str, role: str, *, reset: bool = False) -> NewAccount:
    """Create an account (or, with `reset`, give an existing one a new password and second factor), audited in the
    same transaction. Raises ValueError for a bad name or role, AccountExists or LookupError."""
    with session_scope(settings) as session:
        if reset:
            account = reset_credentials(session, settings, username)
            action, after = "reset_credentials", {"username": account.username}
        else:
            account = create_account(session, settings, username, role)
            action, after = "create_account", {"username": account.username, "role": account.role}
        record_admin_action(session, CLI_ADMIN_ID, action, target=account.username, after=after,
                            detail={"os_user": _os_user()}, source="cli")
    return account


def cmd_admin_user(settings: Settings, username: str, role: str, reset: bool) -> int:
    try:
        account = add_account(settings, username, role, reset=reset)
    except AccountExists as exc:
        print(f"error: {exc}; nothing changed (--reset gives it a new password and second factor)",
              file=sys.stderr)
        return 1
    except (ValueError, LookupError) as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    verb = "New password and second factor for" if reset else "Created"
    print(f"{verb} the dashboards account {account.username!r} (role {account.role}):\n"
          f"{_credentials(account, settings)}")
    return 0


def ensure_demo_admin(settings: Settings) -> str:
    """The demo's admin account, created on the first `make demo` only; the text says how to log in."""
    try:
        account = add_account(settings, DEMO_ADMIN, "admin")
    except AccountExists:
        return (f"Dashboards (`make dashboards`, {dashboards_url(settings)}): the demo admin account "
                f"{DEMO_ADMIN!r} exists; its password was printed when `make demo` created it "
                f"(`make admin-user ACCOUNT={DEMO_ADMIN} RESET=1` makes a new one).")
    return (f"Dashboards (`make dashboards`, {dashboards_url(settings)}): log in with the demo admin account\n"
            f"{_credentials(account, settings)}")
