"""the team's dashboards: accounts (argon2 password, TOTP, role, lockout), their login sessions, runtime settings
(feature flags), and the audit log's client address, before and after values and outcome

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

LedgerId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("admin_audit_log") as batch:
        batch.add_column(sa.Column("account_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("client_address", sa.String(64), nullable=True))
        batch.add_column(sa.Column("before_value", sa.Text(), nullable=True))
        batch.add_column(sa.Column("after_value", sa.Text(), nullable=True))
        # Every row written before this one recorded an action that happened.
        batch.add_column(sa.Column("outcome", sa.String(8), nullable=False, server_default="ok"))
        batch.create_check_constraint("ck_admin_audit_log_outcome", "outcome IN ('ok', 'denied', 'failed')")
        batch.create_index("ix_admin_audit_log_account_id", ["account_id"])
    op.create_table(
        "dashboard_accounts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("totp_enrolled_at", sa.DateTime(), nullable=True),
        sa.Column("totp_last_counter", sa.BigInteger(), nullable=True),
        sa.Column("role", sa.String(8), nullable=False, server_default="viewer"),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'analyst', 'admin')", name="ck_dashboard_accounts_role"),
        sa.CheckConstraint("failed_logins >= 0", name="ck_dashboard_accounts_failed_logins"),
    )
    op.create_table(
        "dashboard_sessions",
        sa.Column("id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("account_id", sa.Integer(), sa.ForeignKey("dashboard_accounts.id"), nullable=False, index=True),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("client_address", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("stage IN ('enrol', 'active')", name="ck_dashboard_sessions_stage"),
    )
    op.create_table(
        "runtime_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("runtime_settings")
    op.drop_table("dashboard_sessions")
    op.drop_table("dashboard_accounts")
    with op.batch_alter_table("admin_audit_log") as batch:
        batch.drop_index("ix_admin_audit_log_account_id")
        batch.drop_constraint("ck_admin_audit_log_outcome", type_="check")
        for col in ("outcome", "after_value", "before_value", "client_address", "account_id"):
            batch.drop_column(col)
