"""the bot's per-owner settings (digests, alerts, quiet hours, watermark, role), the admin audit log, erasure
requests and plan entitlements paid in the store

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

LedgerId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("role", sa.String(8), nullable=False, server_default="owner"))
        batch.add_column(sa.Column("digest_period", sa.String(8), nullable=False, server_default="daily"))
        batch.add_column(sa.Column("digest_hour", sa.SmallInteger(), nullable=False, server_default="9"))
        batch.add_column(sa.Column("digest_weekday", sa.SmallInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("alerts_enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("quiet_start_hour", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("quiet_end_hour", sa.SmallInteger(), nullable=True))
        batch.add_column(sa.Column("watermark_text", sa.String(64), nullable=True))
        batch.add_column(sa.Column("watermark_position", sa.String(16), nullable=False,
                                   server_default="bottom-right"))
        batch.add_column(sa.Column("watermark_opacity", sa.SmallInteger(), nullable=False, server_default="50"))
        batch.add_column(sa.Column("watermark_tile", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.create_check_constraint("ck_users_role", "role IN ('owner', 'admin')")
        batch.create_check_constraint("ck_users_digest_period", "digest_period IN ('daily', 'weekly', 'off')")
        batch.create_check_constraint("ck_users_digest_hour", "digest_hour BETWEEN 0 AND 23")
        batch.create_check_constraint("ck_users_digest_weekday", "digest_weekday BETWEEN 0 AND 6")
        batch.create_check_constraint("ck_users_watermark_opacity", "watermark_opacity BETWEEN 5 AND 100")
    op.create_table(
        "admin_audit_log",
        sa.Column("id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("admin_user_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("source", sa.String(16), nullable=False, server_default="bot"),
        sa.Column("at", sa.DateTime(), nullable=False, index=True),
    )
    op.create_table(
        "erasure_requests",
        sa.Column("id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("channel_ids", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("erasure_requests")
    op.drop_table("admin_audit_log")
    with op.batch_alter_table("users") as batch:
        for name in ("ck_users_role", "ck_users_digest_period", "ck_users_digest_hour", "ck_users_digest_weekday",
                     "ck_users_watermark_opacity"):
            batch.drop_constraint(name, type_="check")
        for col in ("role", "digest_period", "digest_hour", "digest_weekday", "alerts_enabled", "quiet_start_hour",
                    "quiet_end_hour", "watermark_text", "watermark_position", "watermark_opacity", "watermark_tile"):
            batch.drop_column(col)
