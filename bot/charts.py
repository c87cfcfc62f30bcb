"""The bot's charts: PNGs for chats (and the digest), drawn with the raster kit (`bot.raster`), and the pages of
the PDF report, drawn with matplotlib's Agg/PDF canvases directly.

Chat images are drawn without matplotlib: a 600x300 chart cost it 100-500 ms (mostly laying out text), a cold
/stats or /top reply's whole budget several times over; the raster kit draws one in a few milliseconds. The
digest (one per owner per run, 10,000 owners in the benchmark) is the hottest path of all.

The PDF keeps matplotlib (vector pages, selectable text) through the `draw_*` functions. No pyplot: its global
figure registry is shared state across threads and leaks figures.
"""

from __future__ import annotations

from datetime import date
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot import raster
from bot.i18n import fmt_date, fmt_int, t, weekday_name

LINE, BAND, BAR = "#2481cc", "#9cc7ea", "#2481cc"  # Telegram's link blue: the Mini App's chart colours
DIGEST_SIZE, DIGEST_DPI = (5.0, 1.4), 100  # inches per panel, as wide as a chat photo needs to be readable
MAX_DIGEST_PANELS = 3


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _short_date(day: date, lang: str) -> str:
    return fmt_date(day, lang).rsplit(" ", 1)[0]  # "29 Sep": the year is in the title


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8, length=2)
    ax.yaxis.set_major_locator(MaxNLocator(4, integer=True))


def _date_ticks(dates: Sequence[date], lang: str, ticks: int = 5) -> list[tuple[float, str]]:
    """(day position, short date) for up to `ticks` evenly spread days: the date axis of every chart."""
    if not dates:
        return []
    positions = sorted({round(i) for i in np.linspace(0, len(dates) - 1, min(ticks, len(dates)))})
    return [(i, _short_date(dates[i], lang)) for i in positions]


def _date_axis(ax, dates: Sequence[date], lang: str, ticks: int = 5) -> None:
    """Days as integer positions (date locators cost more than the whole drawing) with a few dates as labels."""
    if not dates:
        return
    at = _date_ticks(dates, lang, ticks)
    ax.set_xticks([i for i, _ in at], [text for _, text in at])


def draw_subscribers(ax, daily: Sequence[dict], lang: str, forecast_points: Sequence[dict] = ()) -> None:
    """Subscribers by day and, when given, the forecast's median and 80% band after the last day."""
    _style(ax)
    days = [d["date"] for d in daily] + [p["date"] for p in forecast_points]
    values = [np.nan if d["subscribers"] is None else d["subscribers"] for d in daily]
    ax.plot(range(len(daily)), values, color=LINE, lw=1.8)
    if forecast_points:
        x = range(len(daily), len(days))
        ax.fill_between(x, [p["yhat_lower"] for p in forecast_points], [p["yhat_upper"] for p in forecast_points],
                        color=BAND, alpha=0.5, lw=0, label=t("chart.forecast", lang))
        ax.plot(x, [p["yhat"] for p in forecast_points], color=LINE, lw=1.2, ls="--")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_int(v, lang)))
    _date_axis(ax, days, lang)


def draw_top_posts(ax, posts: Sequence[dict], lang: str) -> None:
    """Horizontal bars of views in 24 h, the best post on top, labelled by local posting date and message id."""
    _style(ax)
    posts = list(posts)[::-1]
    ax.barh(range(len(posts)), [p["views_24h"] or 0 for p in posts], color=BAR)
    ax.set_yticks(range(len(posts)),
                  [f"{_short_date(p['posted_at_local'].date(), lang)} #{p['message_id']}" for p in posts])
    ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_int(v, lang)))


def draw_heatmap(ax, cells: Sequence[dict], lang: str) -> None:
    """Weekday x hour of mean views in 24 h per subscriber; empty slots (no post there) stay blank."""
    grid = np.full((7, 24), np.nan)
    for c in cells:
        if c["mean_views_24h_per_subscriber"] is not None:
            grid[c["weekday"], c["hour"]] = c["mean_views_24h_per_subscriber"]
    ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    ax.set_yticks(range(7), [weekday_name(i, lang, short=True) for i in range(7)])
    ax.set_xticks(range(0, 24, 3))
    ax.tick_params(labelsize=8, length=2)


# -- chat images: drawn with the raster kit ------------------------------------------------------------------------
CHART_SIZE = (600, 300)  # px: as wide as a chat photo needs to be readable
_BLUE, _BAND_RGB = raster.rgb(LINE), raster.rgb(BAND)
_BLUES = matplotlib.colormaps["Blues"]  # only the colour table: nothing is drawn by matplotlib here


def _value_axes(canvas: raster.Canvas, ylim: tuple[float, float], xlim: tuple[float, float], lang: str,
                top: int = 34, bottom: int = 26, most: int = 4) -> raster.Axes:
    """A plot box under the title with horizontal grid lines at round values labelled on the left."""
    ticks, widest = raster.y_tick_labels(raster.nice_ticks(*ylim, most=most), lambda v: fmt_int(v, lang))
    axes = raster.Axes(canvas, (widest + 14, top, canvas.width - 14, canvas.height - bottom), xlim, ylim)
    axes.y_grid(ticks)
    return axes


def subscribers_png(daily: Sequence[dict], lang: str, forecast_points: Sequence[dict] = (),
                    title: str = "") -> bytes:
    """Subscribers by day and, when given, the forecast's median (dashed) and 80% band after the last day."""
    canvas = raster.Canvas(*CHART_SIZE)
    canvas.title(title or t("chart.subscribers", lang))
    days = [d["date"] for d in daily] + [p["date"] for p in forecast_points]
    values = [d["subscribers"] for d in daily]
    band = [v for p in forecast_points for v in (p["yhat_lower"], p["yhat_upper"])]
    axes = _value_axes(canvas, raster.padded(values + band), (-0.3, max(len(days) - 1, 1) + 0.3), lang)
    if forecast_points:
        x = np.arange(len(daily), len(days))
        upper = axes.points(x, [p["yhat_upper"] for p in forecast_points])
        lower = axes.points(x, [p["yhat_lower"] for p in forecast_points])
        canvas.area(np.vstack([upper, lower[::-1]]), _BAND_RGB, alpha=0.5)
        # the median carries on from the last known day, so the forecast reads as a continuation
        start = [(len(daily) - 1, values[-1])] if daily and values[-1] is not None else []
        xs = [s[0] for s in start] + list(x)
        canvas.line(axes.points(xs, [s[1] for s in start] + [p["yhat"] for p in forecast_points]), _BLUE,
                    width=1.6, dash=(6, 4))
        legend = t("chart.forecast", lang)
        w = raster.label(legend).shape[1]
        canvas.fill(canvas.width - 14 - w - 20, 12, canvas.width - 14 - w - 6, 20, _BAND_RGB)
        canvas.text(legend, canvas.width - 14, 10, align="right")
    canvas.line(axes.points(range(len(daily)), values), _BLUE, width=2.2)
    axes.x_labels(_date_ticks(days, lang))
    return canvas.png()


def top_posts_png(posts: Sequence[dict], lang: str) -> bytes:
    """Horizontal bars of views in 24 h, the best post on top, labelled by local posting date and message id, with
    the number at the end of each bar."""
    canvas = raster.Canvas(*CHART_SIZE)
    canvas.title(t("chart.top_posts", lang))
    posts = list(posts)
    names = [f"{_short_date(p['posted_at_local'].date(), lang)} #{p['message_id']}" for p in posts]
    numbers = [fmt_int(p["views_24h"] or 0, lang) for p in posts]
    left = 14 + max((raster.label(n).shape[1] for n in names), default=0)
    right = canvas.width - 14 - max((raster.label(n).shape[1] for n in numbers), default=0) - 6
    top, bottom = 34, canvas.height - 10
    row = (bottom - top) / max(len(posts), 1)
    most = max((p["views_24h"] or 0 for p in posts), default=0) or 1
    for i, (p, name, number) in enumerate(zip(posts, names, numbers)):
        middle = top + row * (i + 0.5)
        end = left + (right - left) * (p["views_24h"] or 0) / most
        canvas.fill(left, middle - row * 0.38, max(end, left + 1), middle + row * 0.38, _BLUE)
        canvas.text(name, left - 6, middle, align="right", valign="middle")
        canvas.text(number, end + 5, middle, valign="middle", colour=raster.INK)
    canvas.fill(left, top, left + 1, bottom, raster.MUTED)
    return canvas.png()


def heatmap_png(cells: Sequence[dict], lang: str, time_zone: str) -> bytes:
    """Weekday x hour of mean views in 24 h per subscriber, darker for more; slots without a post stay blank."""
    canvas = raster.Canvas(*CHART_SIZE)
    canvas.title(t("chart.heatmap", lang, time_zone=time_zone))
    grid = np.full((7, 24), np.nan)
    for c in cells:
        if c["mean_views_24h_per_subscriber"] is not None:
            grid[c["weekday"], c["hour"]] = c["mean_views_24h_per_subscriber"]
    days = [weekday_name(i, lang, short=True) for i in range(7)]
    left = 14 + max(raster.label(d).shape[1] for d in days)
    x0, y0, x1, y1 = left, 34, canvas.width - 14, canvas.height - 26
    cw, ch = (x1 - x0) / 24, (y1 - y0) / 7
    finite = grid[np.isfinite(grid)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        shade = _BLUES(0.15 + 0.85 * (grid - low) / ((high - low) or 1))[:, :, :3] * 255
        for d in range(7):
            for h in range(24):
                if np.isfinite(grid[d, h]):
                    canvas.fill(x0 + h * cw + 1, y0 + d * ch + 1, x0 + (h + 1) * cw, y0 + (d + 1) * ch,
                                shade[d, h].astype(np.float32))
    for d, name in enumerate(days):
        canvas.text(name, x0 - 6, y0 + ch * (d + 0.5), align="right", valign="middle")
    for h in range(0, 24, 3):
        canvas.text(f"{h:02d}", x0 + cw * (h + 0.5), y1 + 5, align="center")
    return canvas.png()


def decay_png(decay: Sequence[dict], lang: str, title: str = "") -> bytes:
    """One post's views by age in hours (`channel_reads.post_detail`'s decay curve), for /post."""
    canvas = raster.Canvas(*CHART_SIZE)
    canvas.title(title)
    ages = [d["age_hours"] for d in decay]
    views = [d["views"] for d in decay]
    xlim = (min(ages, default=0), max(max(ages, default=1), min(ages, default=0) + 1))
    axes = _value_axes(canvas, raster.padded(views, floor=0), xlim, lang, bottom=44)
    axes.box = (axes.box[0] + 6, axes.box[1], axes.box[2] - 6, axes.box[3])  # the first and last point inside
    points = axes.points(ages, views)
    canvas.line(points, _BLUE, width=2.0)
    canvas.dots(points, _BLUE, radius=3.0)
    axes.x_labels([(v, fmt_int(v, lang)) for v in raster.nice_ticks(*xlim, most=6)])
    canvas.text(t("chart.decay", lang), (axes.box[0] + axes.box[2]) / 2, canvas.height - 18, align="center")
    return canvas.png()


# -- the digest chart: drawn with Pillow ---------------------------------------------------------------------------
# matplotlib spent ~10 ms (idle) to ~36 ms (loaded machine) on two sparklines even with a reused figure, most of
# it laying out tick labels; these panels need a line, a few labels and a baseline, which Pillow draws in ~2 ms.
_PANEL_TOP, _PANEL_BOTTOM, _RIGHT = 24, 24, 14  # px: title line; date labels; right margin
_PANEL_TITLE = 12  # px: a digest panel is smaller than a command's chart
nice_ticks = raster.nice_ticks


def _digest_panel(canvas: raster.Canvas, top: int, height: int, left: int, title: str, dates: Sequence[date],
                  y: np.ndarray, limits: tuple[float, float], ticks: list[tuple[float, str]], lang: str) -> None:
    """One sparkline: rules and ticks are array slices, labels cached patches, the line an antialiased mask."""
    width = canvas.width
    x0, x1 = left, width - _RIGHT
    axes = raster.Axes(canvas, (x0 + 6, top + _PANEL_TOP, x1 - 6, top + height - _PANEL_BOTTOM),
                       (0, max(len(y) - 1, 1)), limits)  # the first and last day sit a little inside the axis
    if title:
        canvas.text(raster.fit(title, width - x0 - _RIGHT, _PANEL_TITLE), x0, top + 5, size=_PANEL_TITLE,
                    colour=raster.INK, shaped=True)
    axes.y_grid(ticks, rule=(x0, x1))  # the rules span the whole panel; the first and last day sit inside
    axes.x_labels(_date_ticks(dates, lang, 4), rule=(x0, x1))
    canvas.line(axes.points(range(len(y)), y), _BLUE, width=2.4)


def digest_png(panels: Sequence[tuple[str, Sequence[date], Sequence[float | None]]], lang: str) -> bytes:
    """Subscribers of up to `MAX_DIGEST_PANELS` channels, one sparkline each: (label, dates, values) per panel."""
    panels = list(panels)[:MAX_DIGEST_PANELS] or [("", [], [])]
    width, height = round(DIGEST_SIZE[0] * DIGEST_DPI), round(DIGEST_SIZE[1] * DIGEST_DPI)
    scaled = []
    for title, dates, values in panels:
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        limits = raster.padded(y)
        ticks = [(v, fmt_int(v, lang)) for v in raster.nice_ticks(*limits)] if np.isfinite(y).any() else []
        scaled.append((title, dates, y, limits, ticks))
    # one left margin for every panel, wide enough for the widest tick label: the panels' days line up
    left = 14 + max((raster.label(text).shape[1] for *_, ticks in scaled for _, text in ticks), default=24)
    canvas = raster.Canvas(width, height * len(panels))
    for i, (title, dates, y, limits, ticks) in enumerate(scaled):
        _digest_panel(canvas, i * height, height, left, title, dates, y, limits, ticks, lang)
    return canvas.png()
