"""daily product-usage counters per user (bot, Mini App, reports)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_activity_daily",
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.user_id"), primary_key=True),
        sa.Column("activity_date", sa.Date(), primary_key=True, comment="UTC day"),
        sa.Column("bot_commands", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("miniapp_opens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("reports_viewed", sa.Integer(), nullable=False, server_default="0"),
        sa.CheckConstraint("bot_commands >= 0 AND miniapp_opens >= 0 AND reports_viewed >= 0",
                           name="ck_user_activity_daily_counts"),
    )
    # the warehouse copy reads by day
    op.create_index("ix_user_activity_daily_date", "user_activity_daily", ["activity_date"])


def downgrade() -> None:
    op.drop_index("ix_user_activity_daily_date", table_name="user_activity_daily")
    op.drop_table("user_activity_daily")
