"""The revenue and cohort pages in Streamlit's AppTest, on the session's demo snapshot: nothing without a login, a
viewer may read them, the filters change the numbers to what dashboards.revenue_reads answers for the same
filter, and every CSV download holds the numbers of its chart."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module
from streamlit.util import calc_hash

from analyticbot.appstore.db import AppStore, migrate
from analyticbot.settings import get_settings
from analyticbot.snapshot import SnapshotReader
from dashboards import auth, session
from dashboards import revenue_reads as reads
from dashboards.views import cohorts, revenue
from dashboards.views.revenue import month_label, pct, usd
from tests.dashboards.logins import code_at, new_account

KPI_RATIOS = ("arpa_usd", "customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate", "nrr", "grr",
              "trailing_churn_rate", "ltv_usd")

APP = str(Path(__file__).resolve().parents[2] / "dashboards" / "app.py")
LOGIN_TITLE = "AnalyticBot dashboards"


@pytest.fixture
def snapshot(demo_warehouse, tmp_path, monkeypatch) -> SnapshotReader:
    """The demo snapshot for the pages to read, with an operational store of the test's own (the demo's is
    shared by the session), and the client on this machine (AppTest has no peer address)."""
    monkeypatch.setenv("ANALYTICBOT_DATA_DIR", str(demo_warehouse.settings.data_dir))
    monkeypatch.setenv("ANALYTICBOT_APP_DB_URL", f"sqlite:///{tmp_path / 'app.sqlite'}")
    monkeypatch.delenv("ANALYTICBOT_WAREHOUSE_URL", raising=False)
    monkeypatch.setattr(session, "client_address", lambda: "127.0.0.1")
    migrate(get_settings())
    return SnapshotReader(get_settings())


@pytest.fixture
def store(snapshot):
    s = AppStore(get_settings())
    yield s
    s.dispose()


@pytest.fixture
def downloads(monkeypatch) -> list[MemoryMediaFileStorage]:
    """AppTest keeps download files in a media store it drops after each run: keep a hold of each one."""
    stores: list[MemoryMediaFileStorage] = []

    class Kept(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Kept)
    return stores


def revenue_page():
    from dashboards.views import revenue

    revenue.render()


def cohorts_page():
    from dashboards.views import cohorts

    cohorts.render()


def as_viewer(page) -> AppTest:
    at = AppTest.from_function(page, default_timeout=60)
    at.session_state[session.PRINCIPAL] = auth.Principal(1, "vic", "viewer", "token", "127.0.0.1")
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def downloaded(at: AppTest, stores: list[MemoryMediaFileStorage], key: str) -> bytes:
    url = at.download_button(key=key).proto.url
    return stores[-1].get_file(url.rsplit("/", 1)[1]).content


def rows_of(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def frame_rows(frame: pl.DataFrame) -> list[dict]:
    return rows_of(reads.csv_bytes(frame))


def open_url(at: AppTest, url_path: str) -> AppTest:
    # A browser opens a page by its URL path; AppTest has no URL, so ask for the page's script hash, which
    # st.Page derives from the URL path (streamlit.navigation.page.Page._script_hash).
    at._page_hash = calc_hash(url_path)
    return at.run()


# -- login and role --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url_path", ["revenue", "cohorts"])
def test_without_a_login_the_pages_show_only_the_login_form(snapshot, store, url_path):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at = open_url(at, url_path)
    assert not at.exception
    assert [t.value for t in at.title] == [LOGIN_TITLE]
    assert not at.metric and not at.download_button


@pytest.mark.parametrize("page", [revenue_page, cohorts_page])
def test_a_page_run_without_a_principal_stops_at_the_guard(snapshot, page):
    at = AppTest.from_function(page, default_timeout=60).run()
    assert [e.value for e in at.error] == ["Log in first."]
    assert not at.metric and not at.download_button


def test_a_viewer_logs_in_and_reads_both_pages(snapshot, store):
    assert revenue.ROLE == cohorts.ROLE == "viewer"
    account = new_account(store, "vic", "viewer")
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.text_input(key="login.username").input("vic")
    at.text_input(key="login.password").input(account.password)
    next(b for b in at.button if b.label == "Log in").click()
    at.run()
    at.text_input(key="enrol.code").input(code_at(account, auth.utcnow()))
    next(b for b in at.button if b.label == "Confirm").click()
    at.run()
    assert at.sidebar.markdown[0].value == "**vic** · viewer"

    version = snapshot.current_version()
    kpi = reads.kpis(snapshot, version)
    at = open_url(at, "revenue")
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Revenue"]
    assert metrics(at)["MRR"] == usd(kpi["mrr_usd"][-1])

    at = open_url(at, "cohorts")
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Cohorts"]
    sizes = reads.cohort_sizes(reads.cohorts(snapshot, version))
    assert metrics(at)["Cohorts"] == f"{sizes.height:,}"


# -- the revenue page ------------------------------------------------------------------------------------------
def test_revenue_unfiltered_shows_the_kpi_mart_of_the_newest_month(snapshot):
    version = snapshot.current_version()
    kpi = reads.kpis(snapshot, version).row(-1, named=True)
    at = as_viewer(revenue_page)
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["MRR"] == usd(kpi["mrr_usd"]) and float(kpi["mrr_usd"]) > 0
    assert shown["Customers"] == f"{kpi['customers']:,}"
    assert shown["ARPA"] == usd(kpi["arpa_usd"])
    assert shown["Customer churn"] == pct(kpi["customer_churn_rate"])
    assert shown["NRR"] == pct(kpi["nrr"]) and shown["GRR"] == pct(kpi["grr"])
    assert shown["LTV"] == usd(kpi["ltv_usd"])


def test_a_gateway_filter_shows_that_gateways_numbers(snapshot):
    version = snapshot.current_version()
    options = reads.options(snapshot, version)
    assert {"stripe", "payme", "click"} <= set(options.gateways)
    everyone = reads.movements(snapshot, version)
    at = as_viewer(revenue_page)
    at.multiselect(key="revenue.gateway").select("payme")
    at.run()
    payme = reads.movements(snapshot, version, reads.Segment(gateways=("payme",)))
    shown = metrics(at)
    assert shown["MRR"] == usd(payme["mrr_usd"][-1]) != usd(everyone["mrr_usd"][-1])
    assert shown["Customers"] == f"{payme['customers'][-1]:,}"
    assert 0 < payme["customers"][-1] < everyone["customers"][-1]
    # the ratios are the gateway's too: its MRR over its customers, its churned over its customers at the start
    assert shown["ARPA"] == usd(float(payme["mrr_usd"][-1]) / payme["customers"][-1])
    assert shown["ARPA"] != usd(reads.kpis(snapshot, version)["arpa_usd"][-1])
    kpi = reads.kpis(snapshot, version, segment=reads.Segment(gateways=("payme",))).row(-1, named=True)
    assert shown["Customer churn"] == pct(payme["churned_customers"][-1] / payme["customers_start"][-1])
    assert (shown["NRR"], shown["GRR"], shown["LTV"]) == (pct(kpi["nrr"]), pct(kpi["grr"]), usd(kpi["ltv_usd"]))
    assert any("gateway payme (the KPI mart's formulas)" in c.value for c in at.caption)


def test_plan_and_currency_filters_combine(snapshot):
    version = snapshot.current_version()
    options = reads.options(snapshot, version)
    plan = next(p for p in options.plans if p != reads.UNKNOWN)
    at = as_viewer(revenue_page)
    at.multiselect(key="revenue.plan").select(plan)
    at.run()
    by_plan = reads.movements(snapshot, version, reads.Segment(plans=(plan,)))
    assert metrics(at)["MRR"] == usd(by_plan["mrr_usd"][-1])
    at.multiselect(key="revenue.currency").select("UZS")
    at.run()
    both = reads.movements(snapshot, version, reads.Segment(plans=(plan,), currencies=("UZS",)))
    assert metrics(at)["MRR"] == usd(both["mrr_usd"][-1])
    assert float(both["mrr_usd"][-1]) < float(by_plan["mrr_usd"][-1])


def test_the_period_filter_moves_every_number_to_its_last_month(snapshot, downloads):
    version = snapshot.current_version()
    months = reads.options(snapshot, version).months
    first, last = months[2], months[-4]
    at = as_viewer(revenue_page)
    at.select_slider(key="revenue.period").set_range(first, last)
    at.run()
    frame = reads.movements(snapshot, version, reads.Segment(), first, last)
    kpi = reads.kpis(snapshot, version, first, last).row(-1, named=True)
    assert frame["month"].to_list() == [m for m in months if first <= m <= last]
    shown = metrics(at)
    assert shown["MRR"] == usd(kpi["mrr_usd"]) and kpi["month"] == last
    assert shown["MRR at the period's start"] == usd(frame["mrr_start_usd"][0])
    assert shown["NRR"] == pct(kpi["nrr"]) and shown["LTV"] == usd(kpi["ltv_usd"])
    assert any(s.value.startswith(month_label(last)) for s in at.subheader)
    # the waterfall spans exactly the period: its start and end are the MRR at the period's ends
    bridge = rows_of(downloaded(at, downloads, "revenue.csv.waterfall"))
    assert [r["step"] for r in bridge] == ["Start MRR", "New", "Expansion", "Reactivation", "Contraction",
                                          "Churn", "FX", "End MRR"]
    assert float(bridge[0]["amount_usd"]) == float(frame["mrr_start_usd"][0])
    assert float(bridge[-1]["amount_usd"]) == float(kpi["mrr_usd"])
    assert float(bridge[-2]["running_usd"]) == pytest.approx(float(kpi["mrr_usd"]), abs=0.005)


def test_each_chart_downloads_its_numbers_for_the_filter_in_force(snapshot, downloads):
    version = snapshot.current_version()
    at = as_viewer(revenue_page)
    keys = [b.key for b in at.download_button]
    assert keys == ["revenue.csv.mrr", "revenue.csv.waterfall", "revenue.csv.movements", "revenue.csv.customers",
                    "revenue.csv.churn", "revenue.csv.retention", "revenue.csv.arpa_ltv"]
    everyone = reads.movements(snapshot, version)
    assert rows_of(downloaded(at, downloads, "revenue.csv.mrr")) == frame_rows(
        everyone.select("month", "mrr_usd", "customers"))
    kpi = reads.kpis(snapshot, version)
    assert rows_of(downloaded(at, downloads, "revenue.csv.retention")) == frame_rows(kpi.select("month", "nrr", "grr"))

    at.multiselect(key="revenue.gateway").select("stripe")
    at.run()
    stripe = reads.movements(snapshot, version, reads.Segment(gateways=("stripe",)))
    movements = rows_of(downloaded(at, downloads, "revenue.csv.movements"))
    assert movements == frame_rows(stripe.select("month", "mrr_start_usd", *reads.MOVEMENTS, "mrr_usd"))
    assert movements != frame_rows(everyone.select("month", "mrr_start_usd", *reads.MOVEMENTS, "mrr_usd"))
    assert rows_of(downloaded(at, downloads, "revenue.csv.customers")) == frame_rows(
        stripe.select("month", "customers", "new_customers", "reactivated_customers", "churned_customers"))
    assert rows_of(downloaded(at, downloads, "revenue.csv.waterfall")) == frame_rows(reads.waterfall(stripe))


# -- the read module -------------------------------------------------------------------------------------------
def test_the_segment_ratios_are_the_kpi_marts_formulas(snapshot):
    """`ratios` of all customers' movements is the KPI mart itself, month by month: the formulas written in Python
    for segments are the mart's."""
    version = snapshot.current_version()
    mart = reads.kpis(snapshot, version)
    mine = reads.ratios(reads.movements(snapshot, version))
    assert mine["month"].to_list() == mart["month"].to_list() and mart.height > 6
    assert mine["ltv_basis"].to_list() == mart["ltv_basis"].to_list()
    assert len(set(mart["ltv_basis"])) > 1  # the demo reaches more than one LTV basis: the fallbacks are checked
    for column in KPI_RATIOS:
        for month, a, b in zip(mart["month"], mine[column], mart[column]):
            assert (a is None) == (b is None), (column, month)
            if b is not None:
                assert float(a) == pytest.approx(float(b), rel=1e-9, abs=1e-9), (column, month)


def test_ratios_of_several_segments_are_taken_after_summing_them(snapshot):
    version = snapshot.current_version()
    months = reads.options(snapshot, version).months
    first = months[3]
    both = reads.Segment(gateways=("payme", "click"))
    kpi = reads.kpis(snapshot, version, first, None, both)
    parts = [reads.movements(snapshot, version, reads.Segment(gateways=(g,))) for g in ("payme", "click")]
    summed = [sum(float(p["mrr_usd"][i]) for p in parts) / sum(p["customers"][i] for p in parts)
              if sum(p["customers"][i] for p in parts) else None for i in range(parts[0].height)]
    assert kpi["month"][0] == first  # the period's first month, with the trailing rate looking back before it
    by_month = dict(zip(parts[0]["month"], summed))
    for month, arpa in zip(kpi["month"], kpi["arpa_usd"]):
        assert arpa == pytest.approx(by_month[month])
    whole = reads.kpis(snapshot, version, None, None, both)
    assert kpi["trailing_churn_rate"].to_list() == whole.filter(whole["month"] >= first)["trailing_churn_rate"].to_list()


def test_segments_partition_the_customers_and_keep_the_mrr_identity(snapshot):
    version = snapshot.current_version()
    options = reads.options(snapshot, version)
    everyone = reads.movements(snapshot, version)
    # every customer-month is in exactly one segment: the segments add up to the KPI mart's totals
    every_gateway = reads.movements(snapshot, version, reads.Segment(gateways=options.gateways))
    assert every_gateway.rows() == everyone.rows()
    parts = [reads.movements(snapshot, version, reads.Segment(gateways=(g,))) for g in options.gateways]
    for column in ("mrr_usd", "customers", "churn_usd", "new_usd", "fx_usd"):
        assert sum(p[column] for p in parts).to_list() == everyone[column].to_list()
    # and within a segment, each month's end MRR is its start plus its movements
    for part in parts:
        change = sum(reads.MOVEMENT_SIGN[m] * part[m].cast(pl.Float64) for m in reads.MOVEMENTS)
        assert (part["mrr_start_usd"].cast(pl.Float64) + change - part["mrr_usd"].cast(pl.Float64)).abs().max() < 1e-6


def test_reads_are_cached_per_snapshot_version(snapshot, monkeypatch):
    version = snapshot.current_version()
    reads.clear_cache()
    first = reads.movements(snapshot, version, reads.Segment(plans=("pro_month",)))
    calls = []
    monkeypatch.setattr(reads, "_query", lambda *a, **k: calls.append(a) or pl.DataFrame())
    assert reads.movements(snapshot, version, reads.Segment(plans=("pro_month",))) is first
    assert not calls
    reads.movements(snapshot, "another-version", reads.Segment(plans=("pro_month",)))
    assert len(calls) == 1


# -- the cohort page -------------------------------------------------------------------------------------------
def test_cohorts_show_the_sizes_and_download_the_mart(snapshot, downloads):
    version = snapshot.current_version()
    frame = reads.cohorts(snapshot, version)
    sizes = reads.cohort_sizes(frame)
    at = as_viewer(cohorts_page)
    assert not at.exception and not at.error
    shown = metrics(at)
    assert shown["Cohorts"] == f"{sizes.height:,}" and sizes.height >= 12
    assert shown["Customers in them"] == f"{int(sizes['customers'].sum()):,}"
    assert shown["Largest cohort"] == f"{int(sizes['customers'].max()):,}"
    assert rows_of(downloaded(at, downloads, "cohorts.csv.retention")) == frame_rows(frame)
    assert rows_of(downloaded(at, downloads, "cohorts.csv.sizes")) == frame_rows(sizes)
    assert [s.value for s in at.subheader][0] == "Retention of customers by month since the first payment"

    at.radio(key="cohorts.measure").set_value("MRR")
    at.run()
    assert [s.value for s in at.subheader][0] == "Retention of mrr by month since the first payment"


def test_the_cohort_filter_narrows_the_cohorts(snapshot, downloads):
    version = snapshot.current_version()
    months = reads.options(snapshot, version).cohort_months
    first, last = months[3], months[8]
    at = as_viewer(cohorts_page)
    at.select_slider(key="cohorts.period").set_range(first, last)
    at.run()
    frame = reads.cohorts(snapshot, version, first, last)
    sizes = reads.cohort_sizes(frame)
    assert sizes["cohort_month"].to_list() == list(months[3:9])
    assert metrics(at)["Cohorts"] == "6"
    assert metrics(at)["Customers in them"] == f"{int(sizes['customers'].sum()):,}"
    assert rows_of(downloaded(at, downloads, "cohorts.csv.retention")) == frame_rows(frame)


# -- the home page ---------------------------------------------------------------------------------------------
def home_page():
    from dashboards.views import home

    home.render()


def test_home_shows_the_newest_months_mrr_customers_and_arpa_and_reads_ahead_for_revenue(snapshot, monkeypatch):
    version = snapshot.current_version()
    reads.clear_cache()
    kpi = reads.kpis(snapshot, version)
    reads.clear_cache()
    started = []
    monkeypatch.setattr(reads, "_in_thread", lambda work: started.append(work) or work())  # at once, here
    at = as_viewer(home_page)
    assert not at.exception and not at.error
    now, before = kpi.row(-1, named=True), kpi.row(-2, named=True)
    shown = {m.label: m for m in at.metric}
    mrr = shown[f"MRR, {month_label(now['month'])}"]
    assert mrr.value == usd(now["mrr_usd"])
    change = float(now["mrr_usd"]) - float(before["mrr_usd"])
    assert mrr.delta == ("-" if change < 0 else "+") + usd(abs(change))
    assert shown["Customers"].value == f"{now['customers']:,}" and shown["ARPA"].value == usd(now["arpa_usd"])
    assert len(at.get("vega_lite_chart")) == 1
    # the read-ahead ran once for this version, and filled the cache the Revenue page opens with
    assert len(started) == 1
    at.run()
    assert len(started) == 1
    key = (str(snapshot.settings.published_dir), snapshot.settings.warehouse_url, version, "options", ())
    assert key in reads._CACHE



def test_a_read_asked_for_while_it_is_under_way_waits_for_it_instead_of_reading_again(snapshot):
    import threading

    version, calls, entered, release = snapshot.current_version(), [], threading.Event(), threading.Event()

    def slow():
        calls.append(1)
        entered.set()
        release.wait(10)
        return "value"

    first = threading.Thread(target=lambda: reads._cached(snapshot, version, "test.slow", (), slow))
    first.start()
    assert entered.wait(10)
    got = []
    second = threading.Thread(target=lambda: got.append(reads._cached(snapshot, version, "test.slow", (), slow)))
    second.start()
    second.join(0.2)
    assert second.is_alive() and not got  # waiting for the first read, not reading
    release.set()
    first.join(10)
    second.join(10)
    assert got == ["value"] and calls == [1]

    def broken():
        raise RuntimeError("snapshot gone")

    with pytest.raises(RuntimeError, match="snapshot gone"):
        reads._cached(snapshot, version, "test.broken", (), broken)
    assert reads._cached(snapshot, version, "test.broken", (), lambda: "again") == "again"  # a failure is not kept
