"""orders outlive their user: no foreign key from orders.user_id to users, so /deleteme can delete the user
while the order (an accounting record the business must keep) stays, holding the bare user id

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite's foreign keys have no names; the convention names the reflected one so batch mode can drop it.
NAMING = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def _orders_user_fk() -> str | None:
    bind = op.get_bind()
    for fk in sa.inspect(bind).get_foreign_keys("orders"):
        if fk["referred_table"] == "users":
            return fk.get("name") or "fk_orders_user_id_users"
    return None


def upgrade() -> None:
    name = _orders_user_fk()
    if name is None:
        return
    _defer_sqlite_foreign_keys()
    with op.batch_alter_table("orders", naming_convention=NAMING) as batch:
        batch.drop_constraint(name, type_="foreignkey")


def _defer_sqlite_foreign_keys() -> None:
    """SQLite batch mode copies the table and drops the old one; with foreign keys on (the store turns them on
    per connection) that drop fails on the payme/click rows that reference orders. SQLite's own recipe for
    such a change is to switch the check off around it; the store switches it on again on its next connection.
    (The pragma is a no-op inside a transaction that already wrote, which only happens on a fresh store, when
    no order exists yet.)"""
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA foreign_keys = OFF")


def downgrade() -> None:
    _defer_sqlite_foreign_keys()
    with op.batch_alter_table("orders", naming_convention=NAMING) as batch:
        batch.create_foreign_key("fk_orders_user_id_users", "users", ["user_id"], ["user_id"])
