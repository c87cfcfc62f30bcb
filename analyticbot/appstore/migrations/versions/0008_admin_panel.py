"""the admin panel's changes to users: users.suspended_at (a suspended user is refused by the bot), and the
"manual" gateway on orders, for a plan the team grants by hand (a paid order of amount 0 that
`analyticbot.entitlements` counts like any other; the warehouse reads payments from the ledger, not from orders,
so a grant never shows as revenue)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

OLD_GATEWAYS = "gateway IN ('payme', 'click')"
NEW_GATEWAYS = "gateway IN ('payme', 'click', 'manual')"


def _defer_sqlite_foreign_keys() -> None:
    """As in 0006: SQLite batch mode copies `orders` and drops the old table, which the payme/click rows that
    reference it would refuse with foreign keys on; the store switches them on again on its next connection."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")


def _orders_gateways(check: str) -> None:
    _defer_sqlite_foreign_keys()
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("ck_orders_gateway", type_="check")
        batch.create_check_constraint("ck_orders_gateway", check)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("suspended_at", sa.DateTime(), nullable=True))
    _orders_gateways(NEW_GATEWAYS)


def downgrade() -> None:
    # A grant has no place in the older schema; it moved no money, so dropping it loses no accounting record.
    op.execute("DELETE FROM orders WHERE gateway = 'manual'")
    _orders_gateways(OLD_GATEWAYS)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("suspended_at")
