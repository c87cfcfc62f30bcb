"""The Churn risk, Channels and Pipeline health pages in Streamlit's AppTest, on the session's demo snapshot: a login
first, the roles each page needs, the numbers the same as the reads behind the bot and the Mini App, the churn
list in the scores' order, and CSV downloads that hold what the page shows."""

from __future__ import annotations

import csv
import io

import dagster as dg
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from analyticbot import channel_reads
from analyticbot.appstore.db import AppStore, migrate
from analyticbot.settings import get_settings
from analyticbot.snapshot import SnapshotReader
from dashboards import channels_reads, churn_reads, health_reads, session
from dashboards.views import channels as channels_page
from tests.dashboards.logins import audit_rows, logged_in, open_page

LOGIN_TITLE = "AnalyticBot dashboards"


@pytest.fixture
def store(demo_warehouse, tmp_path, monkeypatch):
    """The demo's published snapshot to read, and a store of our own for the accounts (the demo's store is
    shared by the session's tests). AppTest has no browser connection: the client is this machine."""
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(demo_warehouse.settings.data_dir))
    monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", f"sqlite:///{tmp_path / 'accounts.sqlite'}")
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setattr(session, "client_address", lambda: "127.0.0.1")
    migrate(get_settings())
    s = AppStore(get_settings())
    yield s
    s.dispose()


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """What each download button would hand the browser, by file name: the bytes of an eager download, the
    callable of a deferred one (the page builds that file only when it is clicked)."""
    seen: dict = {}
    load, defer = MemoryMediaFileStorage.load_and_get_id, MediaFileManager.add_deferred

    def recording_load(self, path_or_data, mimetype, kind, filename=None):
        seen[filename] = path_or_data
        return load(self, path_or_data, mimetype, kind, filename)

    def recording_defer(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data_callable
        return defer(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", recording_load)
    monkeypatch.setattr(MediaFileManager, "add_deferred", recording_defer)
    return seen


def table(at: AppTest, n: int = 0):
    return at.dataframe[n].value


def csv_rows(data) -> list[dict]:
    data = data() if callable(data) else data
    return list(csv.DictReader(io.StringIO(data.decode() if isinstance(data, bytes) else data)))


def snapshot(sql: str, params=None) -> list[dict]:
    return SnapshotReader(get_settings()).query(sql, params).to_dicts()


# -- login and roles ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url", ["churn-risk", "channels", "pipeline-health"])
def test_every_page_needs_a_login(store, url):
    at = open_page(url)
    assert [t.value for t in at.title] == [LOGIN_TITLE]
    assert not at.dataframe and not at.metric


def test_a_viewer_opens_channels_but_not_churn_or_health_and_the_attempts_are_audited(store):
    token = logged_in(store, "vic", "viewer")
    for url, title in (("churn-risk", "Churn risk"), ("pipeline-health", "Pipeline health")):
        at = open_page(url, token)
        assert [e.value for e in at.error] == ["This needs the analyst role; your account has the viewer role."]
        assert not at.dataframe and not at.metric and title not in [t.value for t in at.title]
    assert [(r["action"], r["outcome"], r["target"]) for r in audit_rows(store)][-2:] == [
        ("open_page", "denied", "Churn risk"), ("open_page", "denied", "Pipeline health")]
    at = open_page("channels", token)
    assert not at.error and [t.value for t in at.title] == ["Channels"] and at.metric


# -- churn risk --------------------------------------------------------------------------------------------------
def test_the_churn_table_is_in_the_scores_order_a_page_at_a_time(store):
    at = open_page("churn-risk", logged_in(store, "ann", "analyst"))
    # Riskiest first, ties by customer id: the order ml.churn_scores was ranked in (read without its rank).
    order = [r["customer_id"] for r in snapshot(
        "SELECT customer_id FROM ml.churn_scores WHERE status = 'scored' "
        "ORDER BY churn_probability DESC, customer_id")]
    assert len(order) > 50
    assert [m.value for m in at.metric][0] == f"{len(order):,}"
    first = table(at)
    assert list(first["customer_id"]) == order[:25]
    assert "admin" not in first.columns  # the admin panel is for admins: no links for an analyst

    at.number_input(key="churn.page").set_value(2).run()
    assert list(table(at)["customer_id"]) == order[25:50]

    at.selectbox(key="churn.size").set_value(100).run()
    assert at.number_input(key="churn.page").value == 2 and list(table(at)["customer_id"]) == order[100:200]

    at.toggle(key="churn.cancelling").set_value(True)
    at.number_input(key="churn.page").set_value(1)
    at.run()
    cancelling = snapshot("SELECT count(*) AS n FROM ml.churn_scores WHERE status = 'cancellation_requested'")[0]["n"]
    assert cancelling > 0  # the demo has customers who asked to cancel: they rank first, at risk 100%
    shown = table(at)
    assert list(shown["status"][:cancelling]) == ["cancellation_requested"] * cancelling
    assert list(shown["churn_probability"][:cancelling]) == [1.0] * cancelling


def test_a_churn_row_shows_the_customers_tenure_last_payment_and_reasons(store):
    at = open_page("churn-risk", logged_in(store, "ann", "analyst"))
    row = table(at).iloc[0]
    score = snapshot("SELECT * FROM ml.churn_scores WHERE customer_id = ?", [row["customer_id"]])[0]
    assert (row["plan_code"], row["reason_1"], row["reason_2"], row["reason_3"]) == (
        score["plan_code"], score["reason_1"], score["reason_2"], score["reason_3"])
    assert row["churn_probability"] == pytest.approx(score["churn_probability"])
    first_paid = snapshot("SELECT min(paid_at) AS t FROM marts.fct_subscription_periods WHERE customer_id = ? "
                          "AND NOT is_proration AND paid_at <= ?", [row["customer_id"], score["scored_at"]])[0]["t"]
    assert row["tenure_days"] == (score["scored_at"].date() - first_paid.date()).days
    charges = snapshot("SELECT occurred_at, CAST(amount_usd AS DOUBLE) AS usd FROM marts.fct_payments "
                       "WHERE customer_id = ? AND movement_type = 'charge' AND occurred_at <= ? "
                       "ORDER BY occurred_at DESC", [row["customer_id"], score["scored_at"]])
    assert row["last_payment_at"].to_pydatetime() == charges[0]["occurred_at"]
    assert row["last_payment_usd"] == pytest.approx(charges[0]["usd"])


def test_an_admin_gets_each_customer_linked_to_the_admin_panel(store):
    at = open_page("churn-risk", logged_in(store, "ada", "admin"))
    shown = table(at)
    users = snapshot("SELECT customer_id, user_id FROM ml.churn_scores")
    user_of = {r["customer_id"]: r["user_id"] for r in users}
    assert any(u is not None for u in user_of.values())
    for customer, link in zip(shown["customer_id"], shown["admin"]):
        expected = None if user_of[customer] is None else f"admin-users?user={user_of[customer]}"
        assert (None if link != link else link) == expected  # pandas shows a missing link as NaN


def test_the_churn_csv_is_the_whole_list_in_the_tables_order(store, downloads):
    at = open_page("churn-risk", logged_in(store, "ann", "analyst"))
    rows = csv_rows(downloads["churn_risk.csv"])
    order = [r["customer_id"] for r in snapshot(
        "SELECT customer_id FROM ml.churn_scores WHERE status = 'scored' ORDER BY risk_rank")]
    assert [r["customer_id"] for r in rows] == order
    assert list(rows[0]) == list(churn_reads.COLUMNS)
    shown = table(at)
    for i in range(3):
        assert rows[i]["reason_1"] == shown["reason_1"][i] and int(rows[i]["tenure_days"]) == shown["tenure_days"][i]
        assert float(rows[i]["churn_probability"]) == pytest.approx(shown["churn_probability"][i])


# -- channels ----------------------------------------------------------------------------------------------------
def numbers_on_page(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected_numbers(ov: dict) -> dict[str, str]:
    n = channels_page._number
    return {"Subscribers": n(ov["subscribers"]), f"Posts ({ov['days']} d)": n(ov["posts"]),
            "Avg post reach": n(ov["avg_post_reach"]), "ERR": n(ov["err"], "{:.1%}"),
            "ERR24": n(ov["err24"], "{:.1%}"), "ER": n(ov["er"], "{:.2%}")}


def test_search_changes_the_channel_and_its_numbers_are_channel_reads(store, downloads):
    at = open_page("channels", logged_in(store, "vic", "viewer"))
    reader = SnapshotReader(get_settings())
    with reader.connect() as con:
        every = channels_reads.search(con, "")
    assert len(every) >= 2
    first, other = every[0], every[-1]
    assert at.selectbox(key="channels.pick").value == first["channel_id"]

    needle = other["username"][:-1].upper()  # part of the @username, any case
    at.text_input(key="channels.search").input(needle).run()
    assert at.selectbox(key="channels.pick").value == other["channel_id"]
    assert at.subheader[0].value == channels_reads.label(other)
    for days in (7, 30):
        at.radio(key="channels.days").set_value(days).run()
        with reader.connect() as con:
            ov = channel_reads.overview(con, other, days)
            posts = channel_reads.posts_page(con, other, sort="views_24h", order="desc", limit=20, cursor=None)
        assert numbers_on_page(at) == expected_numbers(ov)
        daily = table(at)
        assert list(daily["subscribers"]) == [d["subscribers"] for d in ov["daily"]]
        assert list(daily["daily_reach"]) == pytest.approx([d["daily_reach"] for d in ov["daily"]])
        on_csv = csv_rows(downloads[f"channel_{other['channel_id']}_daily.csv"])
        assert [int(r["subscribers"]) for r in on_csv] == [d["subscribers"] for d in ov["daily"]]
    with reader.connect() as con:
        assert numbers_on_page(at) != expected_numbers(channel_reads.overview(con, first, 30))
    top = next(at.dataframe[i].value for i in range(len(at.dataframe)) if "message_id" in at.dataframe[i].value)
    assert list(top["message_id"]) == [p["message_id"] for p in posts["items"]]

    at.text_input(key="channels.search").input("no channel is called this").run()
    assert [i.value for i in at.info] == ["No channel matches “no channel is called this”."] and not at.metric


def test_a_channels_best_times_and_decay_curves_are_the_owners(store, downloads):
    at = open_page("channels", logged_in(store, "vic", "viewer"))
    with SnapshotReader(get_settings()).connect() as con:
        ch = channels_reads.search(con, "")[0]
        best = channel_reads.best_times(con, ch)
        top = channel_reads.posts_page(con, ch, sort="views_24h", order="desc", limit=20, cursor=None)["items"]
        decay = [(p["message_id"], d["age_hours"], d["views"]) for p in top[:5]
                 for d in channel_reads.post_detail(con, ch, p["message_id"])["decay"]]
    assert best["slots"] and decay
    on_csv = csv_rows(downloads[f"channel_{ch['channel_id']}_best_times.csv"])
    assert [(int(r["weekday"]), int(r["hour"])) for r in on_csv] == [(s["weekday"], s["hour"]) for s in best["slots"]]
    on_csv = csv_rows(downloads[f"channel_{ch['channel_id']}_decay.csv"])
    assert [(int(r["message_id"]), int(r["age_hours"]), float(r["views"])) for r in on_csv] == decay


# -- pipeline health ---------------------------------------------------------------------------------------------
def rejections(total: int, reasons: dict[str, int]) -> dg.AssetsDefinition:
    @dg.asset(key=list(health_reads.REJECTED_ASSET))
    def rejected_records():
        return dg.MaterializeResult(metadata={"dagster/row_count": total, "rejected_this_run": sum(reasons.values()),
                                              "reasons": dg.MetadataValue.json(reasons)})

    return rejected_records


@dg.asset_check(asset=dg.AssetKey(list(health_reads.REJECTED_ASSET)))
def payloads_are_json() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True, description="7 rows pass every expectation")


@dg.asset_check(asset=dg.AssetKey(list(health_reads.REJECTED_ASSET)))
def no_negative_views() -> dg.AssetCheckResult:
    # shaped like the Great Expectations checks' results (orchestration/defs/payments/checks.py)
    return dg.AssetCheckResult(passed=False, description="expect_column_values_to_be_between(views): 2 rows",
                               metadata={"rows_checked": 7, "failures": dg.MetadataValue.json(
                                   {"expect_column_values_to_be_between(views)": 2})})


@dg.asset
def telegram_poll():
    raise RuntimeError("the source went away")


@pytest.fixture
def dagster_home(store, tmp_path, monkeypatch):
    """A Dagster instance with what the pipeline leaves there: two ingestion runs with their rejections, one
    passing and one failing check, then a failed run."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        dg.materialize([rejections(4, {"views decreased": 3, "duplicate key": 1})], instance=instance)
        dg.materialize([rejections(7, {"views decreased": 2, "posted in the future": 1}), payloads_are_json,
                        no_negative_views], instance=instance)
        assert not dg.materialize([telegram_poll], instance=instance, raise_on_error=False).success
    finally:
        instance.dispose()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_health_shows_each_tables_newest_data_and_the_snapshot(store, downloads):
    at = open_page("pipeline-health", logged_in(store, "ann", "analyst"))
    version = SnapshotReader(get_settings()).current_version()
    assert f"Snapshot {version}, published" in at.caption[0].value
    shown = {r["table"]: r for r in csv_rows(downloads["freshness.csv"])}
    newest_day = snapshot("SELECT max(date) AS d FROM marts.fct_channel_daily")[0]["d"]
    assert shown["marts.fct_channel_daily"]["newest"].startswith(newest_day.isoformat())
    newest_charge = snapshot("SELECT max(occurred_at) AS t FROM marts.fct_payments")[0]["t"]
    assert shown["marts.fct_payments"]["newest"].replace(" ", "T").startswith(newest_charge.isoformat())
    assert int(shown["ml.churn_scores"]["rows"]) == snapshot("SELECT count(*) AS n FROM ml.churn_scores")[0]["n"]
    # Without a Dagster instance the page says so instead of failing.
    assert "DAGSTER_HOME is not set" in at.info[0].value


def test_health_shows_the_runs_the_checks_and_the_rejections_from_dagster(store, dagster_home, downloads):
    at = open_page("pipeline-health", logged_in(store, "ann", "analyst"))
    runs = csv_rows(downloads["runs.csv"])
    assert [r["status"] for r in runs] == ["FAILURE", "SUCCESS", "SUCCESS"]
    assert "the source went away" in runs[0]["failed_steps"]
    assert at.metric[0].value == "FAILURE"

    checks = csv_rows(downloads["asset_checks.csv"])
    assert [(c["check"], c["passed"], c["kind"]) for c in checks] == [
        ("no_negative_views", "false", "Great Expectations"), ("payloads_are_json", "true", "check")]
    assert checks[0]["detail"] == "expect_column_values_to_be_between(views): 2 rows"
    assert any("no_negative_views" in e.value for e in at.error)

    assert {m.label: m.value for m in at.metric}["Rejected records kept (raw.rejected_records)"] == "7"
    reasons = {r["reason"]: int(r["rows"]) for r in csv_rows(downloads["rejected_reasons.csv"])}
    assert reasons == {"views decreased": 5, "duplicate key": 1, "posted in the future": 1}
    assert [int(r["rejected"]) for r in csv_rows(downloads["rejected_by_run.csv"])] == [3, 4]
