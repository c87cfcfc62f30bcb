"""users and channels

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.BigInteger(), primary_key=True, autoincrement=False, comment="Telegram user id"),
        sa.Column("language", sa.String(8), nullable=False, server_default="en"),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC"),
        sa.Column("created_at", sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()),
    )
    op.create_table(
        "channels",
        sa.Column("channel_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("owner_user_id", sa.BigInteger(), sa.ForeignKey("users.user_id"), nullable=False, index=True),
        sa.Column("title", sa.String(256), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("status_reason", sa.String(256), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=False, server_default=sa.func.current_timestamp()),
        sa.CheckConstraint("source_kind IN ('telethon', 'export', 'demo')", name="ck_channels_source_kind"),
    )


def downgrade() -> None:
    op.drop_table("channels")
    op.drop_table("users")
