"""One place for configuration. Everything comes from the environment.

`ANALYTICBOT_DATA_DIR` (default ``./data``) holds the embedded files: the SQLite operational store, the DuckDB
warehouse, the published snapshots and the Telegram export landing folder. `ANALYTICBOT_APP_DB_URL` and
`ANALYTICBOT_WAREHOUSE_URL` override either store, e.g. with a ``postgresql://`` URL.

Secrets are read here and nowhere else; `Settings.__repr__` hides them so they never reach a log or an error.
"""

from __future__ import annotations

import binascii
import ipaddress
import os
from base64 import b64decode
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlparse

REPO_ROOT = Path(__file__).resolve().parent.parent

# Telemetry off everywhere (Dagster, dbt, Streamlit, Great Expectations). Set at import of the shared core so
# that every entry point that reads settings also inherits these, including dbt subprocesses.
TELEMETRY_OFF = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
}
for _key, _value in TELEMETRY_OFF.items():
    os.environ.setdefault(_key, _value)


class ConfigError(ValueError):
    """A configuration value is missing or malformed. The message names the variable, never its value."""


def _secret(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value else None


def _int_env(name: str, default: int | None) -> int | None:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number") from None


def _positive_int_env(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < 1:  # 0 failures before a lockout or a 0-minute session would lock everybody out
        raise ConfigError(f"{name} must be at least 1")
    return value


def _float_env(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# An empty ANALYTICBOT_ADMIN_ALLOWLIST lets in this machine only: the dashboards hold customers' payments and an
# admin panel, so reaching them from elsewhere is a decision somebody writes down, not a default.
LOOPBACK_NETWORKS: tuple[IPNetwork, ...] = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _networks_env(name: str) -> tuple[IPNetwork, ...]:
    """A comma- or space-separated list of addresses or CIDR networks; empty = the loopback networks."""
    entries = [e for e in os.environ.get(name, "").replace(",", " ").split() if e]
    networks = []
    for n, entry in enumerate(entries, 1):
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: entry {n} is not an IP address or CIDR network") from None
    return tuple(networks) or LOOPBACK_NETWORKS


def _fernet_key_env(name: str) -> str | None:
    """A Fernet key (urlsafe base64 of 32 bytes), checked here so that a typo stops the start rather than the
    first login; unset = None (the dashboards then keep a generated key in the data dir, see
    `analyticbot.secret_box`)."""
    value = _secret(name)
    if value is None:
        return None
    try:
        valid = len(b64decode(value, altchars=b"-_", validate=True)) == 32
    except (binascii.Error, ValueError):  # ValueError: not ASCII
        valid = False
    if not valid:
        raise ConfigError(f"{name} must be a Fernet key, urlsafe base64 of 32 bytes; make one with: python -c "
                          "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    app_db_url: str
    warehouse_url: str
    telegram_api_id: int | None = field(default=None, repr=False)
    telegram_api_hash: str | None = field(default=None, repr=False)
    telegram_session: str | None = field(default=None, repr=False)
    bot_token: str | None = field(default=None, repr=False)
    stripe_api_key: str | None = field(default=None, repr=False)
    stripe_webhook_secret: str | None = field(default=None, repr=False)
    stripe_api_base: str | None = None  # a local Stripe-compatible server (tests, benchmarks); None = Stripe
    payme_merchant_key: str | None = field(default=None, repr=False)
    click_service_id: int | None = None
    # Checkout links (bot /upgrade): the merchant ids are public (they appear in every payment link); a gateway
    # whose ids or keys are missing is not offered.
    payme_merchant_id: str | None = None
    click_merchant_id: int | None = None
    # Where a payer lands after paying; None = the bot's own t.me link.
    payment_return_url: str | None = None
    stripe_success_url: str | None = None
    stripe_cancel_url: str | None = None
    click_secret_key: str | None = field(default=None, repr=False)
    fx_rates_csv: Path | None = None  # daily rates from a real source; the demo rates fill the rest
    demo_seed: int = 7
    demo_scale: str = "default"
    demo_days: int | None = None
    # The payment history's own scale: its `large` (a million ledger events, ~11 min through the protocol
    # code) is for the revenue benchmark, so the large Telegram demo keeps the default payment history.
    demo_payment_scale: str = "default"
    # The Mini App API (serving.api): how old an initData may be, the per-user rate limit, and how often the
    # published snapshot's version is re-read (a new snapshot is served at most this many seconds late).
    api_init_data_max_age: int = 3600
    api_rate_per_second: float = 10.0
    api_rate_burst: int = 40
    api_version_ttl: float = 1.0
    # The public HTTPS address of the Mini App page (`make api` serves it at /app/): the bot's menu button.
    miniapp_url: str | None = None
    # A self-hosted Telegram Bot API server (github.com/tdlib/telegram-bot-api) instead of api.telegram.org:
    # lifts the 20 MB download limit in production, and lets tests run `make bot` against a local stand-in.
    telegram_bot_api_url: str | None = None
    # The team's dashboards (`make dashboards`, dashboards/): where Streamlit listens, which client addresses may
    # log in, how many wrong logins lock an account and for how long (and how many from one address, over all
    # names, in the same window hold that address back), how long a login lasts (idle and in all), how many admin
    # actions one account may take in a sliding window, and the key the TOTP secrets are encrypted with (None = a
    # key generated once in <data_dir>/secrets/dashboards.key).
    dashboards_host: str = "127.0.0.1"
    dashboards_port: int = 8501
    admin_allowlist: tuple[IPNetwork, ...] = LOOPBACK_NETWORKS
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_address_max_failures: int = 20
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    admin_rate_limit: int = 20
    admin_rate_window_seconds: int = 60
    dashboards_secret_key: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(os.environ.get("ANALYTICBOT_DATA_DIR", "./data")).expanduser().resolve()
        app_db_url = os.environ.get("ANALYTICBOT_APP_DB_URL") or f"sqlite:///{data_dir / 'app.sqlite'}"
        warehouse_url = os.environ.get("ANALYTICBOT_WAREHOUSE_URL") or f"duckdb:///{data_dir / 'warehouse.duckdb'}"
        api_id = os.environ.get("TELEGRAM_API_ID")
        if api_id is not None and api_id != "" and not api_id.isdigit():
            raise ConfigError("TELEGRAM_API_ID must be a whole number")
        demo_scale = os.environ.get("ANALYTICBOT_DEMO_SCALE", "default")
        settings = cls(
            data_dir=data_dir,
            app_db_url=app_db_url,
            warehouse_url=warehouse_url,
            telegram_api_id=int(api_id) if api_id else None,
            telegram_api_hash=_secret("TELEGRAM_API_HASH"),
            telegram_session=_secret("TELEGRAM_SESSION"),
            bot_token=_secret("BOT_TOKEN"),
            stripe_api_key=_secret("STRIPE_API_KEY"),
            stripe_webhook_secret=_secret("STRIPE_WEBHOOK_SECRET"),
            stripe_api_base=os.environ.get("STRIPE_API_BASE") or None,
            payme_merchant_key=_secret("PAYME_MERCHANT_KEY"),
            click_service_id=_int_env("CLICK_SERVICE_ID", None),
            click_secret_key=_secret("CLICK_SECRET_KEY"),
            payme_merchant_id=os.environ.get("PAYME_MERCHANT_ID") or None,
            click_merchant_id=_int_env("CLICK_MERCHANT_ID", None),
            payment_return_url=os.environ.get("ANALYTICBOT_PAYMENT_RETURN_URL") or None,
            stripe_success_url=os.environ.get("ANALYTICBOT_STRIPE_SUCCESS_URL") or None,
            stripe_cancel_url=os.environ.get("ANALYTICBOT_STRIPE_CANCEL_URL") or None,
            fx_rates_csv=Path(os.environ["ANALYTICBOT_FX_CSV"]) if os.environ.get("ANALYTICBOT_FX_CSV") else None,
            demo_seed=_int_env("ANALYTICBOT_DEMO_SEED", 7),
            demo_scale=demo_scale,
            demo_days=_int_env("ANALYTICBOT_DEMO_DAYS", None),
            demo_payment_scale=os.environ.get("ANALYTICBOT_DEMO_PAYMENT_SCALE")
            or ("tiny" if demo_scale == "tiny" else "default"),
            api_init_data_max_age=_int_env("ANALYTICBOT_API_INIT_DATA_MAX_AGE", 3600),
            api_rate_per_second=_float_env("ANALYTICBOT_API_RATE_PER_SECOND", 10.0),
            api_rate_burst=_int_env("ANALYTICBOT_API_RATE_BURST", 40),
            api_version_ttl=_float_env("ANALYTICBOT_API_VERSION_TTL", 1.0),
            miniapp_url=os.environ.get("ANALYTICBOT_MINIAPP_URL") or None,
            telegram_bot_api_url=os.environ.get("TELEGRAM_BOT_API_URL") or None,
            dashboards_host=os.environ.get("ANALYTICBOT_DASHBOARDS_HOST") or "127.0.0.1",
            dashboards_port=_int_env("ANALYTICBOT_DASHBOARDS_PORT", 8501),
            admin_allowlist=_networks_env("ANALYTICBOT_ADMIN_ALLOWLIST"),
            login_max_failures=_positive_int_env("ANALYTICBOT_LOGIN_MAX_FAILURES", 5),
            login_lockout_minutes=_positive_int_env("ANALYTICBOT_LOGIN_LOCKOUT_MINUTES", 15),
            login_address_max_failures=_positive_int_env("ANALYTICBOT_LOGIN_ADDRESS_MAX_FAILURES", 20),
            session_idle_minutes=_positive_int_env("ANALYTICBOT_SESSION_IDLE_MINUTES", 30),
            session_max_hours=_positive_int_env("ANALYTICBOT_SESSION_MAX_HOURS", 12),
            admin_rate_limit=_positive_int_env("ANALYTICBOT_ADMIN_RATE_LIMIT", 20),
            admin_rate_window_seconds=_positive_int_env("ANALYTICBOT_ADMIN_RATE_WINDOW_SECONDS", 60),
            dashboards_secret_key=_fernet_key_env("ANALYTICBOT_DASHBOARDS_SECRET_KEY"),
        )
        settings.warehouse_kind  # validate early: a typo in the URL scheme should fail at start, not mid-run
        return settings

    def __repr__(self) -> str:  # secrets and passwords in URLs stay out of logs
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.repr}
        shown["app_db_url"] = redact_url(self.app_db_url)
        shown["warehouse_url"] = redact_url(self.warehouse_url)
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in shown.items())})"

    # -- warehouse ---------------------------------------------------------------------------------
    @cached_property
    def warehouse_kind(self) -> str:
        scheme = urlparse(self.warehouse_url).scheme.split("+")[0]
        if scheme == "duckdb":
            return "duckdb"
        if scheme in ("postgresql", "postgres"):
            return "postgres"
        raise ConfigError("ANALYTICBOT_WAREHOUSE_URL must start with duckdb:/// or postgresql://")

    @property
    def duckdb_path(self) -> Path:
        if self.warehouse_kind != "duckdb":
            raise ConfigError("the warehouse is not DuckDB")
        return Path(urlparse(self.warehouse_url).path).resolve()

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def export_landing_dir(self) -> Path:
        return self.data_dir / "landing" / "telegram_exports"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def postgres_params(self) -> dict[str, str]:
        """Connection parameters of the PostgreSQL warehouse, for psycopg and for dbt's profile."""
        url = urlparse(self.warehouse_url)
        return {
            "host": url.hostname or "127.0.0.1",
            "port": str(url.port or 5432),
            "user": unquote(url.username or "postgres"),
            "password": unquote(url.password or ""),
            "dbname": (url.path or "/postgres").lstrip("/") or "postgres",
        }

    def dbt_env(self) -> dict[str, str]:
        """Environment that dbt's ``profiles.yml`` reads; derived from the warehouse URL so there is one source."""
        env = {"ANALYTICBOT_DBT_TARGET": self.warehouse_kind}
        if self.warehouse_kind == "duckdb":
            env["ANALYTICBOT_DUCKDB_PATH"] = str(self.duckdb_path)
        else:
            p = self.postgres_params()
            env.update(
                ANALYTICBOT_PG_HOST=p["host"], ANALYTICBOT_PG_PORT=p["port"], ANALYTICBOT_PG_USER=p["user"],
                ANALYTICBOT_PG_PASSWORD=p["password"], ANALYTICBOT_PG_DBNAME=p["dbname"],
            )
        return env

    def require(self, name: str) -> str:
        """A secret that this entry point cannot work without; the error names the variable, not a value."""
        value = getattr(self, name)
        if value in (None, ""):
            raise ConfigError(f"{name.upper()} is not set")
        return value

    def ensure_dirs(self) -> None:
        for d in (self.data_dir, self.published_dir, self.export_landing_dir, self.models_dir):
            d.mkdir(parents=True, exist_ok=True)


def redact_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def get_settings() -> Settings:
    """Settings as the environment says now (not cached: tests and CLIs change the environment)."""
    return Settings.from_env()
