"""the bot's outgoing queue, and users who blocked the bot

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

LedgerId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("blocked_at", sa.DateTime(), nullable=True))
    op.create_table(
        "bot_outbox",
        sa.Column("id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=False, index=True),
        sa.Column("chat_kind", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("dedupe_key", sa.String(160), nullable=True, unique=True),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="queued"),
        sa.Column("last_error", sa.String(512), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("chat_kind IN ('private', 'group', 'channel')", name="ck_bot_outbox_chat_kind"),
        sa.CheckConstraint("kind IN ('digest', 'alert', 'broadcast', 'reply')", name="ck_bot_outbox_kind"),
        sa.CheckConstraint("status IN ('queued', 'sent', 'failed', 'dropped_blocked')",
                           name="ck_bot_outbox_status"),
    )
    # the sender reads queued rows that are due, oldest first
    op.create_index("ix_bot_outbox_due", "bot_outbox", ["status", "not_before", "id"])


def downgrade() -> None:
    op.drop_index("ix_bot_outbox_due", table_name="bot_outbox")
    op.drop_table("bot_outbox")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("blocked_at")
