"""PNG charts for the bot (and the pages of the PDF report), drawn with matplotlib's Agg canvas directly.

No pyplot: its global figure registry is shared state across threads and leaks figures. The `draw_*` functions
draw on a given Axes, so the PNG for a chat and the page of the PDF report are the same drawing.

The digest chart is the hot path (one per owner per digest run, 10,000 owners in the benchmark): its figure is
built once per thread and per panel count and only its data and labels change between digests. Measured on the
benchmark machine: a new 5x2.5 in figure per chart costs ~22 ms, a reused one ~8 ms to draw, and Pillow's PNG
encoder at compress_level=1 ~2.5 ms against ~4 ms for savefig's default.
"""

from __future__ import annotations

import io
import threading
from datetime import date
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image

from bot.i18n import fmt_date, fmt_int, t, weekday_name

LINE, BAND, BAR = "#2481cc", "#9cc7ea", "#2481cc"  # Telegram's link blue: the Mini App's chart colours
DIGEST_SIZE, DIGEST_DPI = (5.0, 1.4), 100  # inches per panel, as wide as a chat photo needs to be readable
MAX_DIGEST_PANELS = 3


def to_png(fig: Figure) -> bytes:
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    out = io.BytesIO()
    Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1) \
        .convert("RGB").save(out, format="PNG", compress_level=1)
    return out.getvalue()


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


def _date_axis(ax, dates: Sequence[date], lang: str, ticks: int = 5) -> None:
    """Days as integer positions (date locators cost more than the whole drawing) with a few dates as labels."""
    if not dates:
        return
    positions = sorted({round(i) for i in np.linspace(0, len(dates) - 1, min(ticks, len(dates)))})
    ax.set_xticks(positions, [_short_date(dates[i], lang) for i in positions])


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


def subscribers_png(daily: Sequence[dict], lang: str, forecast_points: Sequence[dict] = (),
                    title: str = "") -> bytes:
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    draw_subscribers(ax, daily, lang, forecast_points)
    ax.set_title(title or t("chart.subscribers", lang), fontsize=10, loc="left")
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.12, top=0.88)
    return to_png(fig)


def top_posts_png(posts: Sequence[dict], lang: str) -> bytes:
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    draw_top_posts(ax, posts, lang)
    ax.set_title(t("chart.top_posts", lang), fontsize=10, loc="left")
    fig.subplots_adjust(left=0.25, right=0.97, bottom=0.1, top=0.88)
    return to_png(fig)


def heatmap_png(cells: Sequence[dict], lang: str, time_zone: str) -> bytes:
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    draw_heatmap(ax, cells, lang)
    ax.set_title(t("chart.heatmap", lang, time_zone=time_zone), fontsize=9, loc="left")
    fig.subplots_adjust(left=0.08, right=0.98, bottom=0.1, top=0.88)
    return to_png(fig)


# -- the digest chart: one reused figure per thread and panel count -------------------------------------------------
class _DigestFigure:
    """A figure with `panels` stacked subscriber sparklines whose lines, limits and labels are replaced per digest."""

    def __init__(self, panels: int):
        width, height = DIGEST_SIZE
        total = height * panels
        self.fig = new_figure(width, total, DIGEST_DPI)
        self.axes, self.lines, self.titles = [], [], []
        for i in range(panels):
            top = 1 - i * height / total  # each panel: a 0.22 in title line, the axes, 0.25 in of date labels
            ax = self.fig.add_axes((0.13, top - (height - 0.25) / total, 0.84, (height - 0.47) / total))
            _style(ax)
            ax.yaxis.set_major_locator(MaxNLocator(3, integer=True))
            line, = ax.plot([], [], color=LINE, lw=1.8)
            # fig.text instead of ax.set_title: a title makes every draw re-place itself (~2.5 ms measured)
            title = self.fig.text(0.13, top - 0.03 / total, "", fontsize=8, va="top")
            self.axes.append(ax)
            self.lines.append(line)
            self.titles.append(title)

    def render(self, panels: Sequence[tuple[str, Sequence[date], Sequence[float | None]]], lang: str) -> bytes:
        for ax, line, title, (label, dates, values) in zip(self.axes, self.lines, self.titles, panels):
            y = np.array([np.nan if v is None else v for v in values], dtype=float)
            line.set_data(np.arange(len(y)), y)
            title.set_text(label)
            finite = y[np.isfinite(y)]
            low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
            pad = max((high - low) * 0.1, 1.0)
            ax.set_xlim(-0.5, max(len(y) - 0.5, 0.5))
            ax.set_ylim(low - pad, high + pad)
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_int(v, lang)))
            _date_axis(ax, dates, lang, ticks=4)
        return to_png(self.fig)


_local = threading.local()


def digest_png(panels: Sequence[tuple[str, Sequence[date], Sequence[float | None]]], lang: str) -> bytes:
    """Subscribers of up to `MAX_DIGEST_PANELS` channels, one sparkline each: (label, dates, values) per panel."""
    panels = list(panels)[:MAX_DIGEST_PANELS] or [("", [], [])]
    cache = getattr(_local, "figures", None)
    if cache is None:
        cache = _local.figures = {}
    figure = cache.get(len(panels))
    if figure is None:
        figure = cache[len(panels)] = _DigestFigure(len(panels))
    return figure.render(panels, lang)


def decay_png(decay: Sequence[dict], lang: str, title: str = "") -> bytes:
    """One post's views by age in hours (`channel_reads.post_detail`'s decay curve), for /post."""
    fig = new_figure(6, 3)
    ax = fig.add_subplot()
    _style(ax)
    ax.plot([d["age_hours"] for d in decay], [d["views"] for d in decay], color=LINE, lw=1.8, marker="o", ms=3)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: fmt_int(v, lang)))
    ax.set_xlabel(t("chart.decay", lang), fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    fig.subplots_adjust(left=0.12, right=0.97, bottom=0.16, top=0.88)
    return to_png(fig)
