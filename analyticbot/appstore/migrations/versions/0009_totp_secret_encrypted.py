"""the dashboards' TOTP secrets encrypted at rest: dashboard_accounts.totp_secret widened from 64 to 255
characters for a Fernet token (~140). Rows are not rewritten here: a plain base32 secret still works and is
encrypted at the account's next login (`dashboards.auth`), so the upgrade needs no key. The downgrade does: it
decrypts every token back to base32, which is what the code of 0008 reads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import context, op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _defer_sqlite_foreign_keys() -> None:
    """As in 0006 and 0008: SQLite batch mode copies `dashboard_accounts` and drops the old table, which the
    sessions that reference it would refuse with foreign keys on; the store switches them on again on its next
    connection. First thing in a migration: SQLite ignores the pragma once a transaction has begun (an UPDATE
    begins one)."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")


def _secret_column(length: int, was: int) -> None:
    with op.batch_alter_table("dashboard_accounts") as batch:
        batch.alter_column("totp_secret", type_=sa.String(length), existing_type=sa.String(was),
                           existing_nullable=False)


def upgrade() -> None:
    _defer_sqlite_foreign_keys()
    _secret_column(255, was=64)


def _decrypt_secrets() -> None:
    """Every encrypted secret back to plain base32, with the key of the settings the migration runs with; stops,
    naming the accounts, if the key cannot open some (restore the key, or reset them after the downgrade)."""
    from analyticbot.secret_box import SecretUnreadable, dashboards_box, is_encrypted
    from analyticbot.settings import get_settings

    bind = op.get_bind()
    rows = [r for r in bind.execute(sa.text("SELECT id, username, totp_secret FROM dashboard_accounts"))
            if is_encrypted(r.totp_secret)]
    if not rows:
        return  # no key needed, and none is made
    box = dashboards_box(context.config.attributes.get("settings") or get_settings())
    plain, unreadable = {}, []
    for row in rows:
        try:
            plain[row.id] = box.decrypt(row.totp_secret)
        except SecretUnreadable:
            unreadable.append(row.username)
    if unreadable:
        raise RuntimeError(f"cannot downgrade below 0009: the dashboards key does not open the TOTP secrets of "
                           f"{', '.join(sorted(unreadable))}; restore the key (ANALYTICBOT_DASHBOARDS_SECRET_KEY or "
                           "<data_dir>/secrets/dashboards.key), or reset those accounts and try again")
    for account_id, secret in plain.items():
        bind.execute(sa.text("UPDATE dashboard_accounts SET totp_secret = :secret WHERE id = :id"),
                     {"secret": secret, "id": account_id})


def downgrade() -> None:
    _defer_sqlite_foreign_keys()
    _decrypt_secrets()
    _secret_column(64, was=255)
