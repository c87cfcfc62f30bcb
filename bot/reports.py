"""`/report`: a PDF (headline numbers, subscribers with the forecast, top posts, heatmap) and an Excel workbook
(every post with its metrics; daily metrics), from `analyticbot.channel_reads` like every other number the bot
shows. Both are built in memory: nothing touches the disk or the network.
"""

from __future__ import annotations

import io
from datetime import datetime

from matplotlib.backends.backend_pdf import PdfPages
from openpyxl import Workbook
from openpyxl.styles import Font

from analyticbot import channel_reads
from analyticbot.snapshot import ReadConnection
from bot.charts import draw_heatmap, draw_subscribers, draw_top_posts, new_figure
from bot.i18n import fmt_date, fmt_int, fmt_percent, fmt_signed, t

REPORT_DAYS = 90
TOP_POSTS = 10
A4_LANDSCAPE = (11.69, 8.27)
POST_SHEET_COLUMNS = ("message_id", "posted_at_local", "content_type", "text_length", "views_1h", "views_24h",
                      "views_48h", "views_latest", "forwards", "replies", "reactions", "er", "is_forward",
                      "is_edited", "link")
DAILY_SHEET_COLUMNS = ("date", "subscribers", "net_subscribers", "joins", "leaves", "posts", "daily_reach",
                       "avg_post_reach", "err", "err24", "er")
_PERCENT_COLUMNS = {"er", "err", "err24"}
_COLUMN_KEYS = {"posted_at_local": "report.col.posted_at", "views_24h": "report.col.views_24h",
                "er": "report.col.er", "link": "report.col.link"}


def all_posts(con: ReadConnection, ch: dict) -> list[dict]:
    """Every post of the channel (deleted ones left out), newest first, page by page."""
    posts, cursor = [], None
    while True:
        page = channel_reads.posts_page(con, ch, sort="posted_at", order="desc", limit=channel_reads.MAX_LIMIT,
                                        cursor=cursor)
        posts += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return posts


def top_posts(con: ReadConnection, ch: dict, n: int = TOP_POSTS) -> list[dict]:
    return channel_reads.posts_page(con, ch, sort="views_24h", order="desc", limit=n, cursor=None)["items"]


def build_report(con: ReadConnection, owner_user_id: int, channel_id: int, lang: str) -> tuple[bytes, bytes]:
    """(pdf_bytes, xlsx_bytes) of one of the owner's channels. A channel they do not own is a `PermissionError`."""
    ch = channel_reads.owned_channels(con, owner_user_id).get(channel_id)
    if ch is None:
        raise PermissionError(f"channel {channel_id} is not one of user {owner_user_id}'s channels")
    ov = channel_reads.overview(con, ch, REPORT_DAYS)
    subscribers = next(s for s in channel_reads.forecast(con, ch)["series"] if s["metric"] == "subscribers")
    top = top_posts(con, ch)
    pdf = _pdf(con, ch, ov, subscribers["points"], top, lang)
    full = channel_reads.overview(con, ch, channel_reads.MAX_DAYS)
    return pdf, _xlsx(all_posts(con, ch), full["daily"], lang)


# -- PDF ------------------------------------------------------------------------------------------------------------
def headline_lines(ov: dict, lang: str) -> list[str]:
    return [
        t("digest.subscribers", lang, subscribers=fmt_int(ov["subscribers"], lang),
          change=fmt_signed(ov["growth"], lang)),
        t("report.growth", lang, days=ov["days"], change=fmt_percent(ov["growth_pct"], lang, signed=True)),
        t("digest.posts", lang, posts=fmt_int(ov["posts"], lang)),
        t("report.avg_post_reach", lang, value=fmt_int(ov["avg_post_reach"], lang)),
        t("digest.err", lang, err=fmt_percent(ov["err"], lang)),
        t("report.err24", lang, value=fmt_percent(ov["err24"], lang)),
        t("report.er", lang, value=fmt_percent(ov["er"], lang, digits=2)),
    ]


def _pdf(con: ReadConnection, ch: dict, ov: dict, forecast_points: list[dict], top: list[dict], lang: str) -> bytes:
    out = io.BytesIO()
    # Fixed metadata dates: the same data gives the same bytes (and no clock in a test).
    with PdfPages(out, metadata={"Title": t("report.title", lang, title=ch["title"]), "CreationDate": None}) as pdf:
        fig = new_figure(*A4_LANDSCAPE)
        fig.text(0.07, 0.88, t("report.title", lang, title=ch["title"]), fontsize=22, weight="bold")
        if ov["date_to"] is not None:
            fig.text(0.07, 0.82, t("report.period", lang, date_from=fmt_date(ov["date_from"], lang),
                                   date_to=fmt_date(ov["date_to"], lang), version=con.version), fontsize=11)
        for i, line in enumerate(headline_lines(ov, lang)):
            fig.text(0.07, 0.70 - i * 0.07, line, fontsize=16)
        pdf.savefig(fig)

        fig = new_figure(*A4_LANDSCAPE)
        ax = fig.add_subplot()
        draw_subscribers(ax, ov["daily"], lang, forecast_points)
        ax.set_title(t("chart.subscribers", lang), loc="left")
        pdf.savefig(fig)

        fig = new_figure(*A4_LANDSCAPE)
        ax = fig.add_axes((0.2, 0.55, 0.75, 0.38))
        draw_top_posts(ax, top, lang)
        ax.set_title(t("chart.top_posts", lang), loc="left")
        table = fig.add_axes((0.05, 0.04, 0.9, 0.42))
        table.axis("off")
        header = ["#", t("report.col.posted_at", lang), "views_1h", t("report.col.views_24h", lang), "views_48h",
                  t("report.col.er", lang)]
        rows = [[str(p["message_id"]), p["posted_at_local"].strftime("%Y-%m-%d %H:%M"), fmt_int(p["views_1h"], lang),
                 fmt_int(p["views_24h"], lang), fmt_int(p["views_48h"], lang), fmt_percent(p["er"], lang, digits=2)]
                for p in top]
        if rows:
            table.table(cellText=rows, colLabels=header, loc="upper center").set_fontsize(9)
        pdf.savefig(fig)

        fig = new_figure(*A4_LANDSCAPE)
        ax = fig.add_subplot()
        draw_heatmap(ax, channel_reads.heatmap(con, ch)["cells"], lang)
        ax.set_title(t("chart.heatmap", lang, time_zone=ch["time_zone"]), loc="left")
        pdf.savefig(fig)
    return out.getvalue()


# -- Excel ----------------------------------------------------------------------------------------------------------
def _header(name: str, lang: str) -> str:
    key = _COLUMN_KEYS.get(name)
    return t(key, lang) if key else name


def _sheet(ws, columns: tuple[str, ...], rows: list[dict], lang: str) -> None:
    """Typed cells (numbers, booleans and dates as themselves, ratios formatted as percents), header frozen."""
    ws.append([_header(c, lang) for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append([row[c] for c in columns])
    for j, name in enumerate(columns, start=1):
        fmt = "0.00%" if name in _PERCENT_COLUMNS else "yyyy-mm-dd hh:mm" if name == "posted_at_local" else \
            "yyyy-mm-dd" if name == "date" else "#,##0" if name.startswith(("views", "daily_reach", "avg")) else None
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
        ws.column_dimensions[ws.cell(1, j).column_letter].width = 20 if isinstance(
            rows[0][name] if rows else None, datetime) else 14
    ws.freeze_panes = "A2"


def _xlsx(posts: list[dict], daily: list[dict], lang: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = t("report.sheet.posts", lang)
    _sheet(ws, POST_SHEET_COLUMNS, posts, lang)
    _sheet(wb.create_sheet(t("report.sheet.daily", lang)), DAILY_SHEET_COLUMNS, daily, lang)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
