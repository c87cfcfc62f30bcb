"""Orders: one period of one plan that a user asked to pay for through Payme or Click.

The bot creates an order when the user picks a plan and a gateway; the gateway then pays exactly that order
(Payme `account.order_id`, Click `merchant_trans_id`). The price is fixed at creation from the catalogue, so a
price change never alters what an open order asks for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from analyticbot.appstore.models import Order, User
from analyticbot.payments.catalogue import plan
from analyticbot.payments.ledger import utcnow

ORDER_GATEWAYS = ("payme", "click")


class OrderError(ValueError):
    pass


def create_order(session: Session, user_id: int, plan_code: str, gateway: str,
                 now: datetime | None = None) -> Order:
    if gateway not in ORDER_GATEWAYS:
        raise OrderError(f"orders are for {' or '.join(ORDER_GATEWAYS)}, not {gateway!r}")
    spec = plan(plan_code)
    if spec.uzs_tiyin <= 0:
        raise OrderError(f"plan {plan_code!r} is free; there is nothing to pay")
    if session.get(User, user_id) is None:
        raise OrderError(f"user {user_id} is not registered")
    order = Order(user_id=user_id, plan_code=plan_code, gateway=gateway, amount_tiyin=spec.uzs_tiyin,
                  currency="UZS", status="pending", created_at=now or utcnow())
    session.add(order)
    session.flush()  # assigns order_id
    return order


INT64_MAX = 2**63 - 1  # BIGINT ids and amounts: a larger number from the wire is refused, never sent to the driver


def parse_order_id(value: object) -> int | None:
    """Order ids arrive as strings or numbers; anything else is 'no such order', never an exception."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and 0 < value <= INT64_MAX:
        return value
    return None
