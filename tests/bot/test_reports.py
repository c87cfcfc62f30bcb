import re
from datetime import date, datetime
from io import BytesIO

import openpyxl
import pytest
from PIL import Image

from analyticbot import channel_reads
from bot import charts
from bot.reports import DAILY_SHEET_COLUMNS, POST_SHEET_COLUMNS, all_posts, build_report, top_posts


@pytest.fixture(scope="module")
def channel(con):
    return con.query("SELECT owner_user_id, channel_id FROM marts.dim_channels ORDER BY channel_id LIMIT 1").row(0)


@pytest.fixture(scope="module")
def report(con, channel):
    return build_report(con, *channel, "ru")


def test_pdf_has_the_four_pages(report):
    pdf, _ = report
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 4


def test_xlsx_posts_and_daily_sheets_are_typed_and_equal_channel_reads(con, channel, report):
    _, xlsx = report
    ch = channel_reads.owned_channels(con, channel[0])[channel[1]]
    wb = openpyxl.load_workbook(BytesIO(xlsx))
    posts_ws, daily_ws = wb.worksheets
    assert (posts_ws.title, daily_ws.title) == ("Посты", "По дням")
    assert posts_ws.freeze_panes == "A2" and daily_ws.freeze_panes == "A2"

    posts = all_posts(con, ch)
    rows = list(posts_ws.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(posts) > 0
    assert [r[0] for r in rows] == [p["message_id"] for p in posts]
    first = dict(zip(POST_SHEET_COLUMNS, rows[0]))
    assert isinstance(first["posted_at_local"], datetime) and posts_ws.cell(2, 2).is_date
    assert first["views_latest"] == posts[0]["views_latest"] and isinstance(first["views_latest"], int)
    assert isinstance(first["er"], float) and first["er"] == pytest.approx(posts[0]["er"])

    daily = channel_reads.overview(con, ch, channel_reads.MAX_DAYS)["daily"]
    drows = [dict(zip(DAILY_SHEET_COLUMNS, r)) for r in daily_ws.iter_rows(min_row=2, values_only=True)]
    assert len(drows) == len(daily)
    assert daily_ws.cell(2, 1).is_date and drows[-1]["date"].date() == daily[-1]["date"]
    assert drows[-1]["subscribers"] == daily[-1]["subscribers"]
    assert drows[-1]["err"] == pytest.approx(daily[-1]["err"])


def test_report_of_someone_elses_channel_is_refused(con, channel):
    with pytest.raises(PermissionError):
        build_report(con, channel[0] + 1, channel[1], "en")


def test_stats_charts_are_pngs_of_the_expected_size(con, channel):
    ch = channel_reads.owned_channels(con, channel[0])[channel[1]]
    ov = channel_reads.overview(con, ch, 30)
    band = channel_reads.forecast(con, ch)["series"][0]["points"]
    pngs = [charts.subscribers_png(ov["daily"], "uz", band), charts.top_posts_png(top_posts(con, ch), "ru"),
            charts.heatmap_png(channel_reads.heatmap(con, ch)["cells"], "en", ch["time_zone"])]
    for png in pngs:
        image = Image.open(BytesIO(png))
        assert image.format == "PNG" and image.size == (600, 300)
    assert isinstance(ov["date_to"], date)
