"""/mydata and /deleteme in the operational store, on SQLite and PostgreSQL: a user's export holds their rows and
nobody else's; erasure removes them in one go, keeps the accounting records detached, and is safe to repeat."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import func, select

from analyticbot import privacy
from analyticbot.appstore.db import session_scope
from analyticbot.appstore.models import (AdminAuditLog, Channel, ErasureRequest, Order, OutboxMessage,
                                         PaymentEvent, User, UserActivityDaily)

T = datetime(2026, 11, 20, 10, 0)


def _stripe(key: str, obj: dict) -> PaymentEvent:
    return PaymentEvent(gateway="stripe", event_key=key, event_type="x", source="webhook", occurred_at=T,
                        received_at=T, payload=json.dumps({"id": key, "data": {"object": obj}}))


def _people(settings) -> None:
    """User 12 and user 123 (whose id contains 12) with a row in every table that holds something of them."""
    with session_scope(settings) as s:
        for uid, cid in ((12, 5001), (123, 5002)):
            s.add(User(user_id=uid, language="ru", time_zone="Asia/Tashkent", watermark_text=f"@chan{uid}"))
            s.flush()
            s.add(Channel(channel_id=cid, owner_user_id=uid, title=f"Channel {uid}", source_kind="telethon"))
            s.add(UserActivityDaily(user_id=uid, activity_date=date(2026, 11, 20), bot_commands=3,
                                    miniapp_opens=0, reports_viewed=1))
            s.add(OutboxMessage(chat_id=uid, chat_kind="private", kind="digest", payload="{}", not_before=T,
                                created_at=T))
            s.add(AdminAuditLog(admin_user_id=1, action="user_lookup", target=str(uid), detail="{}", at=T))
            order = Order(user_id=uid, plan_code="pro_month", gateway="payme", amount_tiyin=11_500_000,
                          status="paid", created_at=T, paid_at=T)
            s.add(order)
            s.flush()
            s.add(PaymentEvent(gateway="payme", event_key=f"payme:{uid}:2", event_type="perform", source="webhook",
                               occurred_at=T, received_at=T,
                               payload=json.dumps({"order_id": order.order_id, "user_id": uid})))
            s.add(_stripe(f"evt_sub_{uid}", {"object": "subscription", "id": f"sub_{uid}", "customer": f"cus_{uid}",
                                             "metadata": {"telegram_user_id": str(uid)}}))
            s.add(_stripe(f"evt_inv_{uid}", {"object": "invoice", "id": f"in_{uid}", "customer": f"cus_{uid}"}))


def test_the_export_holds_every_table_of_the_user_and_nothing_of_another(settings):
    _people(settings)
    with session_scope(settings) as s:
        data = json.loads(privacy.export_json(s, 12))
    assert data["user"]["user_id"] == 12 and data["user"]["watermark_text"] == "@chan12"
    assert [c["channel_id"] for c in data["channels"]] == [5001]
    assert [o["user_id"] for o in data["orders"]] == [12]
    assert sorted(e["event_key"] for e in data["payment_events"]) == ["evt_inv_12", "evt_sub_12", "payme:12:2"]
    assert [a["bot_commands"] for a in data["activity_daily"]] == [3]
    assert [m["chat_id"] for m in data["outbox_messages"]] == [12]
    assert [a["target"] for a in data["admin_audit_log"]] == ["12"]
    assert not privacy.STAFF_COLUMNS & set(data["admin_audit_log"][0])  # staff identity and address stay private
    assert data["erasure_requests"] == []
    datetime.fromisoformat(data["user"]["created_at"].replace("Z", "+00:00"))  # ISO text, not a repr
    assert "123" not in json.dumps({k: v for k, v in data.items() if k != "exported_at"})


def test_erasure_removes_the_user_keeps_accounting_records_and_is_safe_to_repeat(settings, tmp_path):
    _people(settings)
    logo = privacy.logo_path(tmp_path, 12)
    logo.parent.mkdir(parents=True)
    logo.write_bytes(b"png")
    with session_scope(settings) as s:
        erasure = privacy.erase_user(s, 12, tmp_path, now=T)
    assert (erasure.user_id, erasure.channel_ids) == (12, [5001])
    assert not logo.exists()
    with session_scope(settings) as s:
        assert s.get(User, 12) is None and s.get(Channel, 5001) is None
        for model, column in ((UserActivityDaily, UserActivityDaily.user_id), (OutboxMessage, OutboxMessage.chat_id)):
            assert s.scalar(select(func.count()).select_from(model).where(column == 12)) == 0
        assert s.scalar(select(func.count()).select_from(Order).where(Order.user_id == 12)) == 1  # kept, detached
        assert s.get(User, 123) is not None and s.get(Channel, 5002) is not None  # the other user is untouched
        assert privacy.erase_user(s, 12, tmp_path) is None  # a second confirmation erases nothing more
        assert s.scalar(select(func.count()).select_from(ErasureRequest)) == 1
        assert privacy.pending_erasures(s) == [erasure]
        assert privacy.erased_ids(s) == ({12}, {5001})
        privacy.mark_purged(s, [erasure.request_id], now=T)
    with session_scope(settings) as s:
        assert privacy.pending_erasures(s) == []
        s.add(User(user_id=12, language="en", time_zone="UTC"))  # /start again: a fresh account
    with session_scope(settings) as s:
        assert s.get(User, 12).watermark_text is None
