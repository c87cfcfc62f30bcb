"""The admin pages in Streamlit's AppTest: a viewer or an analyst cannot open them (and the attempt is audited);
each action writes its change and exactly one audit row; bad input (a plan that does not exist, a flag that is
not JSON, an export over the row cap) changes nothing and is audited; the rate limit says so; the lists show
what dashboards.admin_panel reads, and their filters change it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, text
from streamlit.testing.v1 import AppTest

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.appstore.models import Channel, Order, RuntimeSetting, User
from analyticbot.settings import get_settings
from analyticbot.snapshot import SnapshotReader
from dashboards import admin_panel, auth, session
from dashboards.views import PAGES, admin_export
from tests.dashboards.logins import audit_rows, new_account

UID = 1001
ADMIN_PAGES = {"admin_users": "Users", "admin_payments": "Subscriptions and payments",
               "admin_settings": "Runtime settings", "admin_export": "Data export", "admin_audit": "Audit log"}


def _open(monkeypatch):
    monkeypatch.setattr(session, "client_address", lambda: "127.0.0.1")
    migrate(get_settings())
    return AppStore(get_settings())


@pytest.fixture
def store(data_dir, monkeypatch):
    """A SQLite store in the test's data dir (dashboards.admin_panel is tested on both engines)."""
    s = _open(monkeypatch)
    yield s
    s.dispose()


@pytest.fixture
def demo_store(demo_warehouse, tmp_path, monkeypatch):
    """The session's demo snapshot, with a store of the test's own (the demo's store stays as it was)."""
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(demo_warehouse.settings.data_dir))
    monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    s = _open(monkeypatch)
    yield s
    s.dispose()


def principal(store, role="admin", name="ada") -> auth.Principal:
    account = new_account(store, name, role)
    with store.transaction() as s:
        account_id = s.scalar(text("SELECT id FROM dashboard_accounts WHERE username = :u"), {"u": account.username})
    return auth.Principal(account_id, account.username, role, "token", "127.0.0.1")


def _page(name):
    import importlib

    importlib.import_module(f"dashboards.views.{name}").render()


def open_page(name: str, who: auth.Principal, **query) -> AppTest:
    at = AppTest.from_function(_page, args=(name,), default_timeout=60)
    at.session_state[session.PRINCIPAL] = who
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return at.run()


def submit(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def user(store, user_id=UID, **kw) -> None:
    with store.transaction() as s:
        s.add(User(user_id=user_id, language="ru", time_zone="Asia/Tashkent", **kw))


def new_rows(store, before: int) -> list[dict]:
    return audit_rows(store)[before:]


# -- roles ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_below_admin_no_admin_page_opens_and_each_attempt_is_audited(store, role):
    who = principal(store, role, "vic")
    user(store)
    for name, title in ADMIN_PAGES.items():
        at = open_page(name, who, user=str(UID))
        assert not at.exception
        assert [e.value for e in at.error] == [f"This needs the admin role; your account has the {role} role."]
        assert not at.title and not at.button and not at.dataframe
    assert [(r["action"], r["outcome"], r["target"], r["account_id"]) for r in audit_rows(store)] == [
        ("open_page", "denied", title, who.account_id) for title in ADMIN_PAGES.values()]


def test_the_navigation_offers_the_admin_pages_to_admins_only():
    urls = {role: [p.URL for p in PAGES if auth.has_role(role, p.ROLE)] for role in auth.ROLES}
    admin_urls = ["admin-users", "admin-payments", "admin-settings", "admin-export", "admin-audit"]
    assert set(admin_urls) <= set(urls["admin"])
    assert not set(admin_urls) & set(urls["viewer"]) and not set(admin_urls) & set(urls["analyst"])


# -- users ---------------------------------------------------------------------------------------------------------
def test_the_address_opens_one_user_with_their_plan_channels_and_orders(store):
    who = principal(store)
    user(store)
    with store.transaction() as s:
        s.add(Channel(channel_id=-100, owner_user_id=UID, title="Tashkent News", username="tashnews",
                      source_kind="demo"))
        s.add(Order(user_id=UID, plan_code="pro_year", gateway="manual", amount_tiyin=0, status="paid",
                    created_at=auth.utcnow(), paid_at=auth.utcnow()))
    at = open_page("admin_users", who, user=str(UID))
    assert not at.exception and not at.error
    assert [s.value for s in at.subheader] == [f"User {UID}"]
    summary = at.markdown[0].value
    assert "Language **ru**, time zone **Asia/Tashkent**" in summary and "Bot role **owner**" in summary
    assert "Plan in force **pro_year** (manual) until" in summary and "Not suspended" in summary
    channels, orders = (d.value for d in at.dataframe)
    assert channels["title"].tolist() == ["Tashkent News"] and orders["plan_code"].tolist() == ["pro_year"]
    assert audit_rows(store) == []  # looking changes nothing


def test_search_by_channel_username_lists_the_owner(store):
    who = principal(store)
    user(store)
    user(store, 2002)
    with store.transaction() as s:
        s.add(Channel(channel_id=-100, owner_user_id=UID, title="Tashkent News", username="tashnews",
                      source_kind="demo"))
    at = open_page("admin_users", who)
    at.text_input(key="users.search").input("@tashnews")
    at = at.run()
    assert at.dataframe[0].value["user_id"].tolist() == [UID]
    at.text_input(key="users.search").input("no such channel")
    assert [i.value for i in at.run().info] == ["No user matches 'no such channel'."]


def test_an_unknown_or_malformed_user_id_says_so(store):
    who = principal(store)
    assert "No user 5" in open_page("admin_users", who, user="5").warning[0].value
    assert "is a number" in open_page("admin_users", who, user="abc").error[0].value


def test_suspend_and_lift_write_the_change_and_one_audit_row_each(store):
    who = principal(store)
    user(store)
    at = click(open_page("admin_users", who, user=str(UID)), "users.suspend")
    assert not at.exception
    assert [s.value for s in at.success] == [f"User {UID} is suspended: the bot now refuses them politely."]
    with store.transaction() as s:
        assert s.get(User, UID).suspended_at is not None
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["target"], row["address"]) == (
        "suspend_user", "ok", str(UID), "127.0.0.1")
    assert row["before"] == {"suspended_at": None} and row["after"]["suspended_at"]
    assert "**Suspended** since" in at.markdown[0].value

    at = click(at, "users.unsuspend")
    with store.transaction() as s:
        assert s.get(User, UID).suspended_at is None
    assert [(r["action"], r["outcome"]) for r in new_rows(store, 1)] == [("unsuspend_user", "ok")]


def test_grant_and_revoke_the_bot_admin_role(store):
    who = principal(store)
    user(store)
    at = click(open_page("admin_users", who, user=str(UID)), "users.grant_admin")
    with store.transaction() as s:
        assert s.get(User, UID).role == "admin"
    at = click(at, "users.revoke_admin")
    with store.transaction() as s:
        assert s.get(User, UID).role == "owner"
    assert [(r["action"], r["before"], r["after"]) for r in audit_rows(store)] == [
        ("grant_admin", {"role": "owner"}, {"role": "admin"}), ("revoke_admin", {"role": "admin"}, {"role": "owner"})]


def _change_plan(at: AppTest, code: str) -> AppTest:
    at.text_input(key="users.plan_code").input(code)
    return submit(at, "Change plan")


def test_a_plan_change_grants_the_plan_in_force(store):
    who = principal(store)
    user(store)
    at = _change_plan(open_page("admin_users", who, user=str(UID)), "business_month")
    assert [s.value for s in at.success] == [f"Plan in force for user {UID}: business_month (manual)."]
    assert "Plan in force **business_month** (manual)" in at.markdown[0].value
    with store.transaction() as s:
        assert [(o.gateway, o.plan_code, o.status, o.amount_tiyin) for o in s.scalars(select(Order))] == [
            ("manual", "business_month", "paid", 0)]
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["before"]["plan_code"], row["after"]["plan_code"]) == (
        "change_plan", "ok", "free", "business_month")


def test_a_plan_that_does_not_exist_changes_nothing_and_is_audited(store):
    who = principal(store)
    user(store)
    at = _change_plan(open_page("admin_users", who, user=str(UID)), "gold")
    assert not at.exception
    [error] = [e.value for e in at.error]
    assert error.startswith("There is no plan 'gold'; the plans are free, pro_month") and "Nothing changed" in error
    with store.transaction() as s:
        assert s.scalars(select(Order)).all() == []
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["detail"]["reason"], row["detail"]["attempted"]) == (
        "change_plan", "denied", "unknown_plan", {"plan_code": "gold"})


def test_past_the_rate_limit_the_page_says_so_and_nothing_changes(store, monkeypatch):
    monkeypatch.setenv("ANALYTICBOT_ADMIN_RATE_LIMIT", "2")
    who = principal(store)
    user(store)
    at = click(open_page("admin_users", who, user=str(UID)), "users.grant_admin")
    at = click(at, "users.revoke_admin")
    at = click(at, "users.grant_admin")
    assert [e.value for e in at.error] == ["Too many admin actions: at most 2 in 60 s. Wait a little and try again."]
    with store.transaction() as s:
        assert s.get(User, UID).role == "owner"
    assert [(r["action"], r["outcome"], r["detail"].get("reason")) for r in audit_rows(store)] == [
        ("grant_admin", "ok", None), ("revoke_admin", "ok", None), ("grant_admin", "denied", "rate_limit")]


# -- runtime settings ----------------------------------------------------------------------------------------------
def _save_flag(at: AppTest, key: str, value: str) -> AppTest:
    at.text_input(key="settings.key").input(key)
    at.text_area(key="settings.value").input(value)
    return submit(at, "Save")


def flags(store) -> dict:
    with store.transaction() as s:
        return {r.key: r.value for r in s.scalars(select(RuntimeSetting))}


def test_flags_are_created_changed_and_deleted_with_before_and_after(store):
    who = principal(store)
    at = open_page("admin_settings", who)
    assert [i.value for i in at.info] == ["No runtime settings yet."]
    at = _save_flag(at, "feature.forecasts", '{"share": 0.5}')
    assert [s.value for s in at.success] == ["Saved feature.forecasts."]
    assert at.dataframe[0].value["key"].tolist() == ["feature.forecasts"]
    at = _save_flag(at, "feature.forecasts", "true")
    assert flags(store) == {"feature.forecasts": "true"}
    at.selectbox(key="settings.delete_key").select("feature.forecasts")
    at = submit(at, "Delete")
    assert flags(store) == {} and [s.value for s in at.success] == ["Deleted feature.forecasts."]
    assert [(r["action"], r["outcome"], r["before"], r["after"]) for r in audit_rows(store)] == [
        ("set_runtime_setting", "ok", None, {"value": {"share": 0.5}}),
        ("set_runtime_setting", "ok", {"value": {"share": 0.5}}, {"value": True}),
        ("delete_runtime_setting", "ok", {"value": True}, None)]


def test_a_flag_that_is_not_json_changes_nothing_and_is_audited(store):
    who = principal(store)
    at = _save_flag(open_page("admin_settings", who), "feature.x", "yes please")
    assert "The value is not valid JSON" in at.error[0].value and not at.success
    assert flags(store) == {}
    [row] = audit_rows(store)
    assert (row["action"], row["outcome"], row["detail"]["reason"], row["detail"]["attempted"]) == (
        "set_runtime_setting", "denied", "bad_json", {"value_text": "yes please"})


# -- audit log -----------------------------------------------------------------------------------------------------
def test_the_audit_log_shows_what_the_filters_select(store):
    who = principal(store)
    user(store)
    for flag in ("a", "b"):
        admin_panel.set_runtime_setting(store, get_settings(), who, f"feature.{flag}", "1")
    with pytest.raises(auth.ActionRefused):
        admin_panel.set_runtime_setting(store, get_settings(), who, "feature.c", "nope")
    at = open_page("admin_audit", who)
    table = at.dataframe[0].value
    assert table["action"].tolist() == ["set_runtime_setting"] * 3 and table["account"].tolist() == ["ada"] * 3
    assert table["address"].tolist() == ["127.0.0.1"] * 3
    assert at.caption[0].value == "3 rows · page 1 of 1"
    at.selectbox(key="audit.outcome").select("denied")
    at = at.run()
    assert at.dataframe[0].value["target"].tolist() == ["feature.c"] and at.caption[0].value.startswith("1 rows")
    at.selectbox(key="audit.outcome").select("any")
    at.text_input(key="audit.target").input("feature.a")
    at = at.run()
    assert at.dataframe[0].value["after"].tolist() == ['{"value": 1}']


def test_the_audit_log_pages(store):
    from analyticbot.appstore.audit import record_admin_action

    who = principal(store)
    with store.transaction() as s:
        for n in range(60):
            record_admin_action(s, 7, "broadcast", target=n, source="bot", at=datetime(2026, 12, 1, 10, n))
    at = open_page("admin_audit", who)
    assert at.caption[0].value == "60 rows · page 1 of 2"
    assert at.dataframe[0].value["target"].tolist() == [str(n) for n in range(59, 9, -1)]  # newest first
    at.number_input(key="audit.page").set_value(2)
    at = at.run()
    assert at.caption[0].value == "60 rows · page 2 of 2"
    assert at.dataframe[0].value["target"].tolist() == [str(n) for n in range(9, -1, -1)]
    at.selectbox(key="audit.source").select("cli")  # fewer rows than the page it was on: back to a page that is
    at = at.run()
    assert at.caption[0].value == "0 rows · page 1 of 1" and not at.exception


# -- the demo snapshot: payments and exports -----------------------------------------------------------------------
def test_payments_show_the_snapshot_charges_with_refund_status_and_the_filters_change_them(demo_store):
    who = principal(demo_store)
    snapshots = SnapshotReader(get_settings())
    with snapshots.connect() as con:
        everything = admin_panel.payments_page(con)
        payme = admin_panel.payments_page(con, gateway="payme")
        refunded = admin_panel.payments_page(con, refund_status="refunded")
        charges = int(con.query("SELECT count(*) AS n FROM marts.fct_payments WHERE movement_type = 'charge'")
                      ["n"][0])
    assert everything.total == charges and 0 < payme.total < charges and refunded.total > 0
    at = open_page("admin_payments", who)
    assert not at.exception
    assert at.caption[1].value == f"{everything.total:,} rows · page 1 of {everything.pages}"
    shown = at.dataframe[0].value
    assert shown["payment_id"].tolist() == everything.rows["payment_id"].to_list()
    at.selectbox(key="payments.gateway").select("payme")
    at = at.run()
    assert at.caption[1].value.startswith(f"{payme.total:,} rows")
    assert set(at.dataframe[0].value["gateway"]) == {"payme"}
    at.selectbox(key="payments.gateway").select("any")
    at.selectbox(key="payments.refund").select("refunded")
    at = at.run()
    assert set(at.dataframe[0].value["refund_status"]) == {"refunded"}
    assert at.caption[1].value.startswith(f"{refunded.total:,} rows")
    at.selectbox(key="payments.refund").select("any")
    at.number_input(key="payments.page").set_value(2)
    at = at.run()
    with snapshots.connect() as con:
        second = admin_panel.payments_page(con, page=2)
    assert at.caption[1].value == f"{everything.total:,} rows · page 2 of {everything.pages}"
    assert at.dataframe[0].value["payment_id"].tolist() == second.rows["payment_id"].to_list()


def test_a_snapshot_table_exports_as_csv_or_parquet_and_is_audited(demo_store):
    import io

    import polars as pl

    who = principal(demo_store)
    at = open_page("admin_export", who)
    assert "marts.fct_mrr_monthly" in at.selectbox(key="export.table").options
    at.selectbox(key="export.table").select("marts.fct_mrr_monthly")
    at.radio(key="export.format").set_value("parquet")
    at = submit(at, "Prepare the export")
    assert not at.exception and not at.error
    export = at.session_state[admin_export.READY]
    expected = SnapshotReader(get_settings()).query("SELECT * FROM marts.fct_mrr_monthly")
    assert pl.read_parquet(io.BytesIO(export.data)).shape == expected.shape
    assert [s.value for s in at.success] == [f"marts.fct_mrr_monthly: {expected.height:,} rows, ready to download."]
    assert at.get("download_button")
    [row] = audit_rows(demo_store)
    assert (row["action"], row["outcome"], row["target"], row["detail"]["format"], row["detail"]["rows"]) == (
        "export_table", "ok", "marts.fct_mrr_monthly", "parquet", expected.height)


def test_an_export_over_the_row_cap_is_refused_and_audited(demo_store, monkeypatch):
    monkeypatch.setattr(admin_panel, "EXPORT_MAX_ROWS", 10)
    who = principal(demo_store)
    at = open_page("admin_export", who)
    at.selectbox(key="export.table").select("marts.fct_posts")
    at = submit(at, "Prepare the export")
    [error] = [e.value for e in at.error]
    assert error.startswith("marts.fct_posts has ") and "over the export limit of 10" in error
    assert admin_export.READY not in at.session_state and not at.get("download_button")
    [row] = audit_rows(demo_store)
    assert (row["action"], row["outcome"], row["detail"]["reason"]) == ("export_table", "denied", "too_many_rows")
