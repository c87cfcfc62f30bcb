"""Who may use the dashboards, and how: accounts, login with a password and a TOTP code, sessions, roles, the
address allowlist, the lockout and the rate limit on admin actions. Pure logic over the operational store (no
Streamlit here), so the pages stay thin and the rules are tested on their own.

- Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second recommendation); a login for a name
  that does not exist still spends one hash, so timing does not tell which names exist.
- The second factor is TOTP (RFC 6238, 30 s steps, one step of clock drift either way). A code is accepted once:
  the step it belongs to is stored, and a code of that step or an earlier one is refused.
- TOTP secrets are stored encrypted (`analyticbot.secret_box`, Fernet, the key from
  `ANALYTICBOT_DASHBOARDS_SECRET_KEY` or `<data_dir>/secrets/dashboards.key`). A secret stored in plain base32
  before that still works, and is encrypted at that account's next login. A secret the key cannot open (the key
  changed) refuses that account's login with a message saying so and what to do (restore the key, or reset the
  account: `make admin-user ACCOUNT=<name> RESET=1`), logs an error and writes a denied audit row; it is not a
  wrong login, so it locks nobody and throttles no address. The right password is checked first, so the message
  tells nobody else anything.
- An account is created without a second factor; its first login with the right password shows the enrolment QR
  code, and the first code from the app completes both the enrolment and the login.
- `login_max_failures` wrong logins in a row (password or code) lock the account for `login_lockout_minutes`.
- `login_address_max_failures` wrong logins from one client address in the last `login_lockout_minutes`, whatever
  the names, refuse that address until the oldest of them ages out: trying many names from one place is slowed
  too. Counted from the audit log; a throttled attempt checks no password, counts against no account and does
  not extend the throttle, and a good login does not clear it (the failures happened).
- Clients outside `ANALYTICBOT_ADMIN_ALLOWLIST` (empty: this machine only) cannot log in or stay logged in.
- A session ends at logout, after `session_idle_minutes` without use, or `session_max_hours` after login.
- Roles: viewer < analyst < admin. `require` raises `Forbidden` below the role a page or an action needs.
- `admin_action` runs a change in one transaction with its audit row, after the role, allowlist and sliding-window
  rate limit (counted from the audit log itself, so it holds across reruns, tabs and processes).

Every refusal and failure writes an audit row with its outcome, in a transaction of its own.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from typing import Any, Iterator

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pyotp.exceptions import OTPVerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from analyticbot.appstore.audit import NO_TELEGRAM_USER, record_admin_action
from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import DASHBOARD_ROLES, AdminAuditLog, DashboardAccount, DashboardSession
from analyticbot.secret_box import SecretBox, SecretUnreadable, dashboards_box, is_encrypted
from analyticbot.settings import IPNetwork, Settings

log = logging.getLogger(__name__)

ROLES = DASHBOARD_ROLES
_RANK = {role: rank for rank, role in enumerate(ROLES)}
ISSUER = "AnalyticBot"
ENROL_MINUTES = 10  # how long the QR step of a first login stays open
# Sign-in events are audited but are not admin actions: they do not count against the rate limit.
SIGN_IN_ACTIONS = ("login", "logout", "lockout", "totp_enrolled", "session_expired")
# Starts with a letter: a name of digits only would read like a Telegram user id in the audit log's target.
USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,63}")

WRONG_LOGIN = "Wrong username, password or code."
ADDRESS_REFUSED = "The dashboards cannot be opened from this address. Ask an admin to add it to the allowlist."

_hasher = PasswordHasher()


# -- errors: each carries the sentence a page shows --------------------------------------------------------------
class AuthError(Exception):
    """A refusal with a message fit to show the person who asked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LoginRefused(AuthError):
    pass


class AccountLocked(LoginRefused):
    def __init__(self, until: datetime):
        super().__init__(f"Too many wrong attempts: this account is locked until {until:%H:%M} UTC.")
        self.until = until


class AddressThrottled(LoginRefused):
    def __init__(self, until: datetime):
        super().__init__(f"Too many wrong logins from this address: try again after {until:%H:%M} UTC.")
        self.until = until


class SecondFactorUnreadable(LoginRefused):
    def __init__(self, username: str):
        super().__init__(f"The second factor of the account {username!r} cannot be read: the server's key for "
                         "second factors has changed (or the stored secret is damaged). Ask an admin to restore "
                         "the key, or to reset the account "
                         f"(`make admin-user ACCOUNT={username} RESET=1` gives it a new password and QR code).")
        self.username = username


class SessionExpired(AuthError):
    pass


class Forbidden(AuthError):
    pass


class RateLimited(AuthError):
    pass


class ActionRefused(AuthError):
    """Raised by the body of an `admin_action` for input it will not act on (say, a plan that does not exist):
    the change rolls back, the attempt is audited as denied, and the page shows the message."""

    def __init__(self, message: str, reason: str = "invalid_input"):
        super().__init__(message)
        self.reason = reason


class AccountExists(ValueError):
    pass


# -- values --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Principal:
    """The logged-in person, as of this rerun."""
    account_id: int
    username: str
    role: str
    token: str
    client_address: str | None

    def can(self, role: str) -> bool:
        return has_role(self.role, role)


@dataclass(frozen=True)
class Enrolment:
    uri: str
    qr_png: bytes


@dataclass(frozen=True)
class LoginStep:
    """`active`: logged in (`principal`). `enrol`: password right, show `enrolment` and ask for the first code."""
    stage: str
    token: str
    principal: Principal | None = None
    enrolment: Enrolment | None = None


@dataclass(frozen=True)
class NewAccount:
    username: str
    role: str
    password: str  # shown once, never stored
    enrolment_uri: str


@dataclass
class ActionRecord:
    """What the body of an `admin_action` fills in for its audit row, and the session to make the change in."""
    session: Session
    before: Any = None
    after: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


def utcnow() -> datetime:
    """Naive UTC, as every time in the operational store."""
    return datetime.now(UTC).replace(tzinfo=None)


# -- roles, addresses ----------------------------------------------------------------------------------------------
def has_role(actual: str, needed: str) -> bool:
    if needed not in _RANK:
        raise ValueError(f"unknown role {needed!r}; expected one of {', '.join(ROLES)}")
    return _RANK.get(actual, -1) >= _RANK[needed]


def require(principal: Principal | None, role: str) -> Principal:
    """The principal, if they hold `role` or a higher one; otherwise `Forbidden` (or `SessionExpired` if nobody
    is logged in)."""
    if principal is None:
        raise SessionExpired("Log in first.")
    if not principal.can(role):
        raise Forbidden(f"This needs the {role} role; your account has the {principal.role} role.")
    return principal


def address_allowed(address: str | None, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether a client address is inside the allowlist. An address that is missing or not an IP address is not
    (it cannot be checked, so it cannot be let in)."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d
    return any(ip.version == net.version and ip in net for net in networks)


# -- passwords, TOTP -----------------------------------------------------------------------------------------------
def normalise_username(username: str) -> str:
    name = (username or "").strip().lower()
    if not USERNAME.fullmatch(name):
        raise ValueError("a username is 2 to 64 characters: letters a-z, digits, '.', '_' or '-', "
                         "starting with a letter")
    return name


def generate_password() -> str:
    return secrets.token_urlsafe(18)  # 24 characters, 144 bits


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _decoy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(18))


def enrolment_uri(username: str, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_png(uri: str) -> bytes:
    buffer = BytesIO()
    segno.make(uri, error="m").save(buffer, kind="png", scale=6, border=2)
    return buffer.getvalue()


def totp_counter(secret: str, code: str, now: datetime, after: int | None = None) -> int | None:
    """The time step a code belongs to (now, or one step either side), or None if it is not right. A step at or
    before `after` (the last accepted one) is refused, so a code that was seen cannot be used again."""
    code = (code or "").replace(" ", "")
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    moment = now.replace(tzinfo=UTC)  # pyotp reads a naive time as local time
    try:
        step = pyotp.TOTP(secret).verify_and_get_timecode(code, for_time=moment, valid_window=1)
    except OTPVerificationError:
        return None
    return step if after is None or step > after else None


# -- accounts ------------------------------------------------------------------------------------------------------
def create_account(session: Session, settings: Settings, username: str, role: str, *,
                   now: datetime | None = None) -> NewAccount:
    """A new account with a generated password and TOTP secret (stored encrypted), not yet enrolled. The caller
    audits it."""
    name = normalise_username(username)
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    if session.scalar(select(DashboardAccount.id).where(DashboardAccount.username == name)) is not None:
        raise AccountExists(f"an account named {name!r} exists already")
    password, secret = generate_password(), pyotp.random_base32()
    session.add(DashboardAccount(username=name, password_hash=hash_password(password),
                                 totp_secret=dashboards_box(settings).encrypt(secret), role=role, failed_logins=0,
                                 disabled=False, created_at=now or utcnow()))
    session.flush()
    return NewAccount(name, role, password, enrolment_uri(name, secret))


def reset_credentials(session: Session, settings: Settings, username: str) -> NewAccount:
    """A new password and TOTP secret for an existing account (a lost phone, a forgotten password): enrolment
    starts again, the lockout is lifted and every session of the account ends. Also the way out for a secret the
    key no longer opens."""
    name = normalise_username(username)
    account = session.scalar(select(DashboardAccount).where(DashboardAccount.username == name))
    if account is None:
        raise LookupError(f"no account named {name!r}")
    password, secret = generate_password(), pyotp.random_base32()
    account.password_hash = hash_password(password)
    account.totp_secret = dashboards_box(settings).encrypt(secret)
    account.totp_enrolled_at = account.totp_last_counter = account.locked_until = None
    account.failed_logins = 0
    now = utcnow()
    for row in session.scalars(select(DashboardSession).where(DashboardSession.account_id == account.id,
                                                              DashboardSession.ended_at.is_(None))):
        row.ended_at = now
    return NewAccount(name, account.role, password, enrolment_uri(name, secret))


# -- audit helpers -------------------------------------------------------------------------------------------------
def _audit(session: Session, action: str, *, outcome: str, at: datetime, account_id: int | None = None,
           target: str | None = None, address: str | None = None, **detail: Any) -> None:
    record_admin_action(session, NO_TELEGRAM_USER, action, target, detail, source="admin_panel", at=at,
                        account_id=account_id, client_address=address, outcome=outcome)


def _audit_alone(store: AppStore, action: str, **kwargs: Any) -> None:
    with store.transaction() as session:
        _audit(session, action, **kwargs)


# -- sessions ------------------------------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_session(session: Session, account: DashboardAccount, stage: str, address: str | None,
                  now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(DashboardSession(token_hash=_token_hash(token), account_id=account.id, stage=stage,
                                 client_address=address, created_at=now, last_seen_at=now))
    return token


def _principal(account: DashboardAccount, token: str, address: str | None) -> Principal:
    return Principal(account.id, account.username, account.role, token, address)


def _count_failure(session: Session, settings: Settings, account: DashboardAccount, reason: str,
                   address: str | None, now: datetime) -> LoginRefused:
    """One more wrong login; the one that reaches the limit locks the account. Returns what to tell the user."""
    account.failed_logins += 1
    _audit(session, "login", outcome="failed", at=now, account_id=account.id, target=account.username,
           address=address, reason=reason, failed_logins=account.failed_logins)
    if account.failed_logins < settings.login_max_failures:
        return LoginRefused(WRONG_LOGIN)
    account.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
    account.failed_logins = 0  # after the lockout, a fresh count
    _audit(session, "lockout", outcome="denied", at=now, account_id=account.id, target=account.username,
           address=address, until=account.locked_until, failures=settings.login_max_failures)
    return AccountLocked(account.locked_until)


def _totp_secret(box: SecretBox, account: DashboardAccount) -> str | None:
    """The account's TOTP secret in plain text (a legacy plain row as it is); None if the key cannot open it."""
    if not is_encrypted(account.totp_secret):
        return account.totp_secret
    try:
        return box.decrypt(account.totp_secret)
    except SecretUnreadable:
        return None


def _unreadable_secret(session: Session, account: DashboardAccount, address: str | None,
                       now: datetime) -> LoginRefused:
    """Refuses a login whose second factor the key cannot open: loudly (the message, an error in the log, a
    denied audit row) and without counting it as a wrong login, so the account is not locked for the server's
    fault."""
    log.error("dashboards: the TOTP secret of account %r cannot be decrypted with the dashboards key (did "
              "ANALYTICBOT_DASHBOARDS_SECRET_KEY or <data_dir>/secrets/dashboards.key change?); restore the key, or "
              "reset the account with `make admin-user ACCOUNT=%s RESET=1`", account.username, account.username)
    _audit(session, "login", outcome="denied", at=now, account_id=account.id, target=account.username,
           address=address, reason="totp_secret_unreadable")
    return SecondFactorUnreadable(account.username)


def _refuse_address(store: AppStore, settings: Settings, action: str, address: str | None, now: datetime,
                    **kwargs: Any) -> None:
    if not address_allowed(address, settings.admin_allowlist):
        _audit_alone(store, action, outcome="denied", at=now, address=address, reason="address", **kwargs)
        raise LoginRefused(ADDRESS_REFUSED)


def _refuse_throttled_address(store: AppStore, settings: Settings, address: str, now: datetime,
                              **kwargs: Any) -> None:
    """`AddressThrottled` (and a denied audit row) once `login_address_max_failures` wrong logins came from this
    address in the lockout window. Only the newest that many are read: the throttle lifts when the oldest of them
    leaves the window (there may be more than the limit, from logins checked at the same moment)."""
    window = timedelta(minutes=settings.login_lockout_minutes)
    with store.transaction() as session:
        failures = session.scalars(select(AdminAuditLog.at).where(
            AdminAuditLog.action == "login", AdminAuditLog.outcome == "failed",
            AdminAuditLog.client_address == address, AdminAuditLog.at > now - window)
            .order_by(AdminAuditLog.at.desc()).limit(settings.login_address_max_failures)).all()
    if len(failures) < settings.login_address_max_failures:
        return
    until = failures[-1] + window
    _audit_alone(store, "login", outcome="denied", at=now, address=address, reason="address_throttled",
                 until=until, failures=len(failures), **kwargs)
    raise AddressThrottled(until)


def login(store: AppStore, settings: Settings, username: str, password: str, code: str,
          client_address: str | None, now: datetime | None = None) -> LoginStep:
    """Check a login form. Returns the next step; raises `LoginRefused` (or `AccountLocked`) with the message."""
    now = now or utcnow()
    name = (username or "").strip().lower()[:64]
    _refuse_address(store, settings, "login", client_address, now, target=name)
    _refuse_throttled_address(store, settings, client_address, now, target=name)
    box = dashboards_box(settings)
    refusal: LoginRefused | None = None
    with store.transaction() as session:
        account = session.scalar(select(DashboardAccount).where(DashboardAccount.username == name)
                                 .with_for_update())  # concurrent wrong logins each count (PostgreSQL)
        if account is None:
            verify_password(_decoy_hash(), password or "")
            _audit(session, "login", outcome="failed", at=now, target=name, address=client_address,
                   reason="unknown_user")
            refusal = LoginRefused(WRONG_LOGIN)
        elif account.locked_until is not None and account.locked_until > now:
            _audit(session, "login", outcome="denied", at=now, account_id=account.id, target=name,
                   address=client_address, reason="locked", until=account.locked_until)
            refusal = AccountLocked(account.locked_until)
        elif not verify_password(account.password_hash, password or ""):
            refusal = _count_failure(session, settings, account, "password", client_address, now)
        elif account.disabled:
            _audit(session, "login", outcome="denied", at=now, account_id=account.id, target=name,
                   address=client_address, reason="disabled")
            refusal = LoginRefused("This account is disabled. Ask an admin.")
        elif (secret := _totp_secret(box, account)) is None:
            refusal = _unreadable_secret(session, account, client_address, now)
        elif account.totp_enrolled_at is None:
            token = _open_session(session, account, "enrol", client_address, now)
            uri = enrolment_uri(account.username, secret)
            return LoginStep("enrol", token, enrolment=Enrolment(uri, qr_png(uri)))
        else:
            step = totp_counter(secret, code, now, after=account.totp_last_counter)
            if step is None:
                refusal = _count_failure(session, settings, account, "code", client_address, now)
            else:
                return _logged_in(session, box, account, step, client_address, now, password)
    raise refusal


def _logged_in(session: Session, box: SecretBox, account: DashboardAccount, step: int, address: str | None,
               now: datetime, password: str | None = None) -> LoginStep:
    account.totp_last_counter, account.failed_logins, account.locked_until = step, 0, None
    account.last_login_at = now
    if not is_encrypted(account.totp_secret):
        account.totp_secret = box.encrypt(account.totp_secret)  # stored in plain text before 0009
    if password is not None and _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)  # argon2 parameters raised since the hash was made
    # Sessions that ended or can no longer be resumed are dead weight: a login tidies its own account's.
    session.execute(delete(DashboardSession).where(
        DashboardSession.account_id == account.id,
        or_(DashboardSession.ended_at.is_not(None), DashboardSession.created_at < now - timedelta(days=2))))
    token = _open_session(session, account, "active", address, now)
    _audit(session, "login", outcome="ok", at=now, account_id=account.id, target=account.username, address=address)
    return LoginStep("active", token, principal=_principal(account, token, address))


def complete_enrolment(store: AppStore, settings: Settings, token: str, code: str, client_address: str | None,
                       now: datetime | None = None) -> LoginStep:
    """The first code from the authenticator app: enrols the account and logs in (a new token)."""
    now = now or utcnow()
    _refuse_address(store, settings, "login", client_address, now)
    _refuse_throttled_address(store, settings, client_address, now)
    box = dashboards_box(settings)
    refusal: AuthError | None = None
    with store.transaction() as session:
        row = session.scalar(select(DashboardSession).where(DashboardSession.token_hash == _token_hash(token),
                                                            DashboardSession.stage == "enrol",
                                                            DashboardSession.ended_at.is_(None)))
        if row is None or row.created_at + timedelta(minutes=ENROL_MINUTES) < now:
            refusal = SessionExpired("The enrolment step timed out. Log in again.")
        else:
            account = session.get(DashboardAccount, row.account_id, with_for_update=True)
            if account.locked_until is not None and account.locked_until > now:
                refusal = AccountLocked(account.locked_until)
            elif account.disabled or account.totp_enrolled_at is not None:
                refusal = SessionExpired("Log in again.")
            elif (secret := _totp_secret(box, account)) is None:
                row.ended_at = now
                refusal = _unreadable_secret(session, account, client_address, now)
            elif (step := totp_counter(secret, code, now)) is None:
                refusal = _count_failure(session, settings, account, "enrolment_code", client_address, now)
                if isinstance(refusal, AccountLocked):
                    row.ended_at = now
                else:
                    refusal = LoginRefused("That code is not right. Scan the QR code again, check that the "
                                           "phone's clock is right, and enter the newest code.")
            else:
                row.ended_at = now  # the enrolment token never becomes a login: the login gets a new one
                account.totp_enrolled_at = now
                _audit(session, "totp_enrolled", outcome="ok", at=now, account_id=account.id,
                       target=account.username, address=client_address)
                return _logged_in(session, box, account, step, client_address, now)
    raise refusal


def resume(store: AppStore, settings: Settings, token: str | None, client_address: str | None,
           now: datetime | None = None) -> Principal:
    """The principal of a session token, on every rerun; `SessionExpired` once it is over (and then it stays
    over). Counts as use for the idle timeout. The role is read afresh, so a change applies at once."""
    now = now or utcnow()
    if not token:
        raise SessionExpired("Log in first.")
    expired: SessionExpired | None = None
    with store.transaction() as session:
        row = session.scalar(select(DashboardSession).where(DashboardSession.token_hash == _token_hash(token),
                                                            DashboardSession.stage == "active"))
        if row is None or row.ended_at is not None:
            raise SessionExpired("Your session has ended. Log in again.")
        account = session.get(DashboardAccount, row.account_id)
        reason = None
        if not address_allowed(client_address, settings.admin_allowlist):
            reason, expired = "address", SessionExpired(ADDRESS_REFUSED)
        elif row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) < now:
            reason = "idle"
            expired = SessionExpired(f"You were logged out after {settings.session_idle_minutes} minutes without "
                                     "use. Log in again.")
        elif row.created_at + timedelta(hours=settings.session_max_hours) < now:
            reason = "max_age"
            expired = SessionExpired(f"Logins last at most {settings.session_max_hours} hours. Log in again.")
        elif account.disabled:
            reason, expired = "disabled", SessionExpired("This account is disabled. Ask an admin.")
        elif account.locked_until is not None and account.locked_until > now:
            reason, expired = "locked", AccountLocked(account.locked_until)
        if expired is None:
            row.last_seen_at = now
            return _principal(account, token, client_address)
        row.ended_at = now
        _audit(session, "session_expired", outcome="denied" if reason == "address" else "ok", at=now,
               account_id=account.id, target=account.username, address=client_address, reason=reason)
    raise expired


def logout(store: AppStore, token: str | None, client_address: str | None, now: datetime | None = None) -> None:
    now = now or utcnow()
    if not token:
        return
    with store.transaction() as session:
        row = session.scalar(select(DashboardSession).where(DashboardSession.token_hash == _token_hash(token),
                                                            DashboardSession.ended_at.is_(None)))
        if row is None:
            return
        row.ended_at = now
        account = session.get(DashboardAccount, row.account_id)
        _audit(session, "logout", outcome="ok", at=now, account_id=account.id, target=account.username,
               address=client_address)


# -- admin actions -------------------------------------------------------------------------------------------------
def actions_in_window(session: Session, settings: Settings, account_id: int, now: datetime) -> int:
    """Admin actions this account took (or tried and failed) in the sliding window; refusals do not count, so a
    limited account gets its turn back as its own actions age out."""
    since = now - timedelta(seconds=settings.admin_rate_window_seconds)
    return session.scalar(select(func.count()).select_from(AdminAuditLog).where(
        AdminAuditLog.account_id == account_id, AdminAuditLog.source == "admin_panel",
        AdminAuditLog.at > since, AdminAuditLog.outcome != "denied",
        AdminAuditLog.action.not_in(SIGN_IN_ACTIONS)))


class _Refused(Exception):
    def __init__(self, error: AuthError, reason: str):
        self.error, self.reason = error, reason


@contextmanager
def admin_action(store: AppStore, settings: Settings, principal: Principal, action: str,
                 target: str | int | None = None, *, role: str = "admin",
                 now: datetime | None = None) -> Iterator[ActionRecord]:
    """Run one change with its audit row in the same transaction:

        with admin_action(store, settings, principal, "suspend_user", target=user_id) as act:
            user = act.session.get(User, user_id)
            act.before, act.after = {"suspended": False}, {"suspended": True}
            ...

    Refused first, with a denied audit row and the error raised, when the account lacks `role` (or is disabled,
    locked or no longer exists), the client's address is not allowed, or the account used up its rate limit. The
    body may raise `ActionRefused` (denied, rolled back) for input it will not act on; any other error rolls back,
    is audited as failed and propagates. Inside the body use `act.session` only: on SQLite a second transaction
    of the same store would wait for this one."""
    now = now or utcnow()
    address = principal.client_address
    common = dict(at=now, account_id=principal.account_id, target=None if target is None else str(target),
                  address=address)
    record: ActionRecord | None = None
    try:
        if not address_allowed(address, settings.admin_allowlist):
            raise _Refused(LoginRefused(ADDRESS_REFUSED), "address")
        with store.transaction() as session:
            # Row lock: two actions of one account at once are counted one after the other (PostgreSQL; SQLite
            # has one writer anyway).
            account = session.get(DashboardAccount, principal.account_id, with_for_update=True)
            if account is None or account.disabled or (account.locked_until or now) > now:
                raise _Refused(Forbidden("This account cannot act now. Log in again."), "account")
            if not has_role(account.role, role):
                raise _Refused(Forbidden(f"This needs the {role} role; your account has the {account.role} role."),
                               "role")
            if actions_in_window(session, settings, account.id, now) >= settings.admin_rate_limit:
                raise _Refused(RateLimited(
                    f"Too many admin actions: at most {settings.admin_rate_limit} in "
                    f"{settings.admin_rate_window_seconds} s. Wait a little and try again."), "rate_limit")
            record = ActionRecord(session)
            yield record
            record_admin_action(session, NO_TELEGRAM_USER, action, target, record.detail, source="admin_panel",
                                at=now, account_id=account.id, client_address=address, before=record.before,
                                after=record.after, outcome="ok")
    except _Refused as refused:
        _audit_alone(store, action, outcome="denied", reason=refused.reason, **common)
        raise refused.error from None
    except ActionRefused as refused:
        _audit_alone(store, action, outcome="denied", reason=refused.reason, message=refused.message,
                     **({"attempted": record.after} if record is not None and record.after is not None else {}),
                     **common)
        raise
    except Exception as exc:
        _audit_alone(store, action, outcome="failed", reason="error", error=type(exc).__name__, **common)
        raise


def record_refusal(store: AppStore, principal: Principal, action: str, target: str | None, *, reason: str,
                   now: datetime | None = None) -> None:
    """A denied audit row for something the principal tried and may not do (a page above their role)."""
    _audit_alone(store, action, outcome="denied", at=now or utcnow(), account_id=principal.account_id,
                 target=target, address=principal.client_address, reason=reason)
