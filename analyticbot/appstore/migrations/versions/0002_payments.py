"""plan catalogue, orders, payment ledger, quarantine, Payme and Click transactions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

LedgerId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("plan_code", sa.String(32), primary_key=True),
        sa.Column("tier", sa.String(16), nullable=False),
        sa.Column("billing_interval", sa.String(8), nullable=False),
        sa.Column("interval_months", sa.Integer(), nullable=False),
        sa.Column("usd_cents", sa.Integer(), nullable=False),
        sa.Column("uzs_tiyin", sa.BigInteger(), nullable=False),
        sa.Column("max_channels", sa.Integer(), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("stripe_price_id", sa.String(64), nullable=True, unique=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.CheckConstraint("tier IN ('free', 'pro', 'business')", name="ck_plans_tier"),
        sa.CheckConstraint("billing_interval IN ('month', 'year')", name="ck_plans_interval"),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.user_id"), nullable=False, index=True),
        sa.Column("plan_code", sa.String(32), sa.ForeignKey("plans.plan_code"), nullable=False),
        sa.Column("gateway", sa.String(8), nullable=False),
        sa.Column("amount_tiyin", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False, server_default="UZS"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("paid_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("gateway IN ('payme', 'click')", name="ck_orders_gateway"),
        sa.CheckConstraint("status IN ('pending', 'paid', 'cancelled')", name="ck_orders_status"),
    )
    op.create_table(
        "payment_events",
        sa.Column("ledger_id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("gateway", sa.String(8), nullable=False),
        sa.Column("event_key", sa.String(160), nullable=False, unique=True),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("api_version", sa.String(40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.CheckConstraint("gateway IN ('stripe', 'payme', 'click')", name="ck_payment_events_gateway"),
    )
    op.create_table(
        "payment_quarantine",
        sa.Column("quarantine_id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("gateway", sa.String(8), nullable=False),
        sa.Column("external_id", sa.String(160), nullable=True, index=True),
        sa.Column("reason", sa.String(512), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_table(
        "payme_transactions",
        sa.Column("id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("payme_id", sa.String(64), nullable=False, unique=True),
        sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("orders.order_id"), nullable=False, index=True),
        sa.Column("amount_tiyin", sa.BigInteger(), nullable=False),
        sa.Column("payme_time", sa.BigInteger(), nullable=False),
        sa.Column("create_time", sa.BigInteger(), nullable=False),
        sa.Column("perform_time", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("cancel_time", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("reason", sa.SmallInteger(), nullable=True),
        sa.CheckConstraint("state IN (1, 2, -1, -2)", name="ck_payme_state"),
    )
    op.create_index("ix_payme_transactions_create_time", "payme_transactions", ["create_time"])
    op.create_table(
        "click_transactions",
        sa.Column("id", LedgerId, primary_key=True, autoincrement=True),
        sa.Column("click_trans_id", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("service_id", sa.BigInteger(), nullable=False),
        sa.Column("click_paydoc_id", sa.BigInteger(), nullable=False),
        sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("orders.order_id"), nullable=False, index=True),
        sa.Column("amount", sa.String(32), nullable=False),
        sa.Column("amount_tiyin", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("prepared_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('prepared', 'completed', 'cancelled')", name="ck_click_status"),
    )


def downgrade() -> None:
    for table in ("click_transactions", "payme_transactions", "payment_quarantine", "payment_events", "orders",
                  "plans"):
        op.drop_table(table)
