"""dashboards.admin_panel on SQLite and PostgreSQL: each change commits with exactly one audit row (before and
after), input it will not act on changes nothing and is audited as denied, a manual plan grant is the plan in
force, the lists filter and paginate; and migration 0008 upgrades and downgrades."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from analyticbot.appstore.db import alembic_config, migrate
from analyticbot.appstore.models import Order, RuntimeSetting, User
from analyticbot.entitlements import plan_in_force
from analyticbot.snapshot import SnapshotReader
from dashboards import admin_panel, auth
from tests.dashboards.logins import audit_rows, new_account

T0 = datetime(2026, 12, 2, 10, 0, 0)
UID = 1001


def admin(store, role="admin", name="ada") -> auth.Principal:
    account = new_account(store, name, role)
    with store.transaction() as s:
        account_id = s.scalar(text("SELECT id FROM dashboard_accounts WHERE username = :u"), {"u": account.username})
    return auth.Principal(account_id, account.username, role, "token", "127.0.0.1")


def user(store, user_id=UID, **kw) -> None:
    with store.transaction() as s:
        s.add(User(user_id=user_id, language="en", time_zone="UTC", **kw))


def orders(store) -> list[tuple]:
    with store.transaction() as s:
        return [(o.gateway, o.plan_code, o.status, o.amount_tiyin)
                for o in s.scalars(select(Order).order_by(Order.order_id))]


def actions(store) -> list[tuple]:
    return [(r["action"], r["outcome"], r["target"]) for r in audit_rows(store)]


def test_suspend_and_lift_each_write_the_change_and_one_audit_row(store, settings):
    p = admin(store)
    user(store)
    admin_panel.set_suspended(store, settings, p, UID, True, now=T0)
    with store.transaction() as s:
        assert s.get(User, UID).suspended_at == T0
    with pytest.raises(auth.ActionRefused, match="already suspended"):
        admin_panel.set_suspended(store, settings, p, UID, True, now=T0)
    admin_panel.set_suspended(store, settings, p, UID, False, now=T0 + timedelta(minutes=1))
    with store.transaction() as s:
        assert s.get(User, UID).suspended_at is None
    rows = audit_rows(store)
    assert actions(store) == [("suspend_user", "ok", str(UID)), ("suspend_user", "denied", str(UID)),
                              ("unsuspend_user", "ok", str(UID))]
    assert (rows[0]["before"], rows[0]["after"]) == ({"suspended_at": None}, {"suspended_at": "2026-12-02 10:00:00"})
    assert rows[0]["address"] == "127.0.0.1" and rows[0]["account_id"] == p.account_id


def test_an_unknown_user_is_refused_and_audited(store, settings):
    p = admin(store)
    with pytest.raises(auth.ActionRefused, match="No user 5"):
        admin_panel.set_bot_admin(store, settings, p, 5, True)
    assert actions(store) == [("grant_admin", "denied", "5")]


def test_grant_and_revoke_the_bot_admin_role(store, settings):
    p = admin(store)
    user(store)
    admin_panel.set_bot_admin(store, settings, p, UID, True)
    with store.transaction() as s:
        assert s.get(User, UID).role == "admin"
    admin_panel.set_bot_admin(store, settings, p, UID, False)
    with store.transaction() as s:
        assert s.get(User, UID).role == "owner"
    assert [(r["action"], r["before"], r["after"]) for r in audit_rows(store)] == [
        ("grant_admin", {"role": "owner"}, {"role": "admin"}), ("revoke_admin", {"role": "admin"}, {"role": "owner"})]


def test_a_granted_plan_is_in_force_replaces_the_last_grant_and_free_ends_it(store, settings):
    p = admin(store)
    user(store)
    snapshots = SnapshotReader(settings)  # nothing published: the store's orders alone
    after = admin_panel.change_plan(store, settings, snapshots, p, UID, "pro_month", now=T0)
    assert (after.spec.plan_code, after.source) == ("pro_month", "manual")
    in_force = plan_in_force(store, snapshots, UID, now=T0 + timedelta(days=1))
    assert (in_force.spec.plan_code, in_force.period_end) == ("pro_month", datetime(2027, 1, 2, 10))
    admin_panel.change_plan(store, settings, snapshots, p, UID, "business_year", now=T0)
    assert orders(store) == [("manual", "pro_month", "cancelled", 0), ("manual", "business_year", "paid", 0)]
    admin_panel.change_plan(store, settings, snapshots, p, UID, "free", now=T0)
    assert plan_in_force(store, snapshots, UID, now=T0).spec.plan_code == "free"
    rows = audit_rows(store)
    assert [r["action"] for r in rows] == ["change_plan"] * 3
    assert rows[0]["before"]["plan_code"] == "free" and rows[0]["after"] == {
        "plan_code": "pro_month", "tier": "pro", "source": "manual", "until": "2027-01-02 10:00:00"}
    assert rows[2]["before"]["plan_code"] == "business_year" and rows[2]["after"]["plan_code"] == "free"


def test_a_paid_gateway_period_is_not_taken_away_by_a_grant(store, settings):
    p = admin(store)
    user(store)
    with store.transaction() as s:
        s.add(Order(user_id=UID, plan_code="business_month", gateway="payme", amount_tiyin=36_900_000,
                    status="paid", created_at=T0, paid_at=T0))
    after = admin_panel.change_plan(store, settings, SnapshotReader(settings), p, UID, "free", now=T0)
    assert (after.spec.plan_code, after.source) == ("business_month", "payme")
    assert orders(store) == [("payme", "business_month", "paid", 36_900_000)]


def test_a_plan_that_does_not_exist_changes_nothing_and_is_audited(store, settings):
    p = admin(store)
    user(store)
    with pytest.raises(auth.ActionRefused, match="There is no plan 'gold'"):
        admin_panel.change_plan(store, settings, SnapshotReader(settings), p, UID, "gold", now=T0)
    assert orders(store) == []
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["detail"]["reason"]) == ("change_plan", "denied", "unknown_plan")
    assert row["detail"]["attempted"] == {"plan_code": "gold"}


def test_runtime_settings_are_validated_json_with_before_and_after(store, settings):
    p = admin(store)
    assert admin_panel.set_runtime_setting(store, settings, p, "feature.x", '{"on": true}', now=T0) == {"on": True}
    admin_panel.set_runtime_setting(store, settings, p, "feature.x", "false", now=T0)
    for key, value, reason in (("feature.x", "{on: true}", "bad_json"), ("Bad Key", "1", "bad_key")):
        with pytest.raises(auth.ActionRefused):
            admin_panel.set_runtime_setting(store, settings, p, key, value, now=T0)
        assert audit_rows(store)[-1]["detail"]["reason"] == reason
    with store.transaction() as s:
        assert admin_panel.runtime_settings(s)["value"].to_list() == ["false"]
    admin_panel.delete_runtime_setting(store, settings, p, "feature.x", now=T0)
    with pytest.raises(auth.ActionRefused, match="no setting"):
        admin_panel.delete_runtime_setting(store, settings, p, "feature.x", now=T0)
    with store.transaction() as s:
        assert s.scalars(select(RuntimeSetting)).all() == []
    assert [(r["action"], r["outcome"], r["before"], r["after"]) for r in audit_rows(store)] == [
        ("set_runtime_setting", "ok", None, {"value": {"on": True}}),
        ("set_runtime_setting", "ok", {"value": {"on": True}}, {"value": False}),
        ("set_runtime_setting", "denied", None, None), ("set_runtime_setting", "denied", None, None),
        ("delete_runtime_setting", "ok", {"value": False}, None), ("delete_runtime_setting", "denied", None, None)]
    assert audit_rows(store)[2]["detail"]["attempted"] == {"value_text": "{on: true}"}


def test_an_analyst_cannot_act(store, settings):
    p = admin(store, "analyst", "ann")
    user(store)
    with pytest.raises(auth.Forbidden):
        admin_panel.set_suspended(store, settings, p, UID, True)
    with store.transaction() as s:
        assert s.get(User, UID).suspended_at is None
    assert [(r["action"], r["outcome"], r["detail"]["reason"]) for r in audit_rows(store)] == [
        ("suspend_user", "denied", "role")]


def test_search_finds_users_by_id_and_by_channel_title_or_username(store):
    from analyticbot.appstore.models import Channel

    user(store, 1001)
    user(store, 2002)
    with store.transaction() as s:
        s.add(Channel(channel_id=-1, owner_user_id=2002, title="Tashkent News", username="tashnews",
                      source_kind="demo"))
    with store.transaction() as s:
        assert [r["user_id"] for r in admin_panel.search_users(s, "1001")] == [1001]
        assert [r["user_id"] for r in admin_panel.search_users(s, "tashkent")] == [2002]
        assert [r["user_id"] for r in admin_panel.search_users(s, "@TASHNEWS")] == [2002]
        assert admin_panel.search_users(s, "nothing like it") == [] and admin_panel.search_users(s, " ") == []
        assert admin_panel.search_users(s, "tash")[0]["channels"] == "Tashkent News (@tashnews)"


def test_orders_filter_and_paginate(store):
    user(store)
    with store.transaction() as s:
        for n in range(7):
            s.add(Order(user_id=UID, plan_code="pro_month", gateway="payme" if n % 2 else "click",
                        amount_tiyin=1, status="paid" if n < 5 else "pending", created_at=T0 + timedelta(days=n)))
    with store.transaction() as s:
        first = admin_panel.orders_page(s, size=3)
        assert (first.total, first.pages, first.rows.height) == (7, 3, 3)
        assert admin_panel.orders_page(s, size=3, page=3).rows.height == 1
        assert admin_panel.orders_page(s, size=3, page=99).page == 3  # past the end: the last page
        assert admin_panel.orders_page(s, gateway="payme").total == 3
        assert admin_panel.orders_page(s, status="pending").total == 2
        assert admin_panel.orders_page(s, since=date(2026, 12, 3), until=date(2026, 12, 4)).total == 2
        assert admin_panel.orders_page(s, user_id=5).total == 0
    csv = pl.read_csv(io.BytesIO(admin_panel.to_csv(first.rows)))  # what the page's CSV button downloads
    assert csv["order_id"].to_list() == first.rows["order_id"].to_list() and csv.columns == first.rows.columns


def test_audit_log_filters(store, settings):
    p = admin(store)
    user(store)
    admin_panel.set_suspended(store, settings, p, UID, True, now=T0)
    with pytest.raises(auth.ActionRefused):
        admin_panel.set_suspended(store, settings, p, UID, True, now=T0 + timedelta(days=1))
    with store.transaction() as s:
        assert admin_panel.audit_page(s).total == 2
        assert admin_panel.audit_page(s, outcome="denied").rows["at"].to_list() == [T0 + timedelta(days=1)]
        assert admin_panel.audit_page(s, username="ADA").rows["account"].to_list() == ["ada", "ada"]
        assert admin_panel.audit_page(s, username="bob").total == 0
        assert admin_panel.audit_page(s, until=date(2026, 12, 2)).total == 1
        assert admin_panel.audit_page(s, target=str(UID), action="suspend_user").total == 2
        assert admin_panel.audit_actions(s) == ["suspend_user"]


# -- migration 0008 (both stores) ----------------------------------------------------------------------------------
def _to(store, settings, revision: str) -> None:
    with store.engine.begin() as connection:
        cfg = alembic_config(settings)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def test_migration_0008_adds_suspension_and_the_manual_gateway_and_downgrades(store, settings):
    user(store, suspended_at=T0)
    with store.transaction() as s:
        s.add(Order(user_id=UID, plan_code="pro_month", gateway="manual", amount_tiyin=0, status="paid",
                    created_at=T0, paid_at=T0))
        s.add(Order(user_id=UID, plan_code="pro_month", gateway="click", amount_tiyin=1, status="pending",
                    created_at=T0))
    _to(store, settings, "0007")
    assert "suspended_at" not in {c["name"] for c in inspect(store.engine).get_columns("users")}
    with store.engine.connect() as con:  # the grant is gone, the real order stays
        assert con.execute(text("SELECT gateway FROM orders")).scalars().all() == ["click"]
    with pytest.raises(IntegrityError):
        with store.engine.begin() as con:
            con.execute(text("INSERT INTO orders (user_id, plan_code, gateway, amount_tiyin, currency, status, "
                             "created_at) VALUES (1001, 'pro_month', 'manual', 0, 'UZS', 'paid', :at)"), {"at": T0})
    migrate(settings)
    migrate(settings)  # idempotent
    with store.transaction() as s:
        assert s.get(User, UID).suspended_at is None
        s.add(Order(user_id=UID, plan_code="pro_month", gateway="manual", amount_tiyin=0, status="paid",
                    created_at=T0, paid_at=T0))
    with pytest.raises(IntegrityError):
        with store.transaction() as s:
            s.add(Order(user_id=UID, plan_code="pro_month", gateway="stripe", amount_tiyin=0, status="paid",
                        created_at=T0))
