"""PNG charts for the bot (and the pages of the PDF report), drawn with matplotlib's Agg canvas directly.

No pyplot: its global figure registry is shared state across threads and leaks figures. The `draw_*` functions
draw on a given Axes, so the PNG for a chat and the page of the PDF report are the same drawing.

The digest chart is the hot path (one per owner per digest run, 10,000 owners in the benchmark): it is drawn with
Pillow (a line, a few labels, a baseline; ~2 ms for two panels) instead of matplotlib (~10 ms idle, ~36 ms on a
loaded machine, even with a reused figure). Every PNG goes through `png_rgb` (unfiltered, zlib level 1), ~1 ms
against ~6 ms for Pillow's encoder, which tries every filter on every row.
"""

from __future__ import annotations

import math
import struct
import threading
import zlib
from collections import OrderedDict
from datetime import date
from pathlib import Path
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from PIL import Image, ImageDraw, ImageFont

from bot.i18n import fmt_date, fmt_int, t, weekday_name

LINE, BAND, BAR = "#2481cc", "#9cc7ea", "#2481cc"  # Telegram's link blue: the Mini App's chart colours
DIGEST_SIZE, DIGEST_DPI = (5.0, 1.4), 100  # inches per panel, as wide as a chat photo needs to be readable
MAX_DIGEST_PANELS = 3
_local = threading.local()


def to_png(fig: Figure) -> bytes:
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return png_rgb(np.asarray(canvas.buffer_rgba())[:, :, :3])


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


# -- the digest chart: drawn with Pillow ---------------------------------------------------------------------------
# matplotlib spent ~10 ms (idle) to ~36 ms (loaded machine) on two sparklines even with a reused figure, most of
# it laying out tick labels; these panels need a line, a few labels and a baseline, which Pillow draws in ~2 ms.
_DIGEST_FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"  # what matplotlib draws with
_SUPERSAMPLE = 3  # the line is drawn 3x larger on a mask and shrunk: Pillow's own lines are not antialiased
_INK, _MUTED, _GRID = (np.array(c, dtype=np.float32) for c in ((40, 40, 40), (110, 110, 110), (232, 232, 232)))
_RGB_LINE = np.array([int(LINE[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)
_PANEL_TOP, _PANEL_BOTTOM, _RIGHT = 24, 24, 14  # px: title line; date labels; right margin
_LABELS_CACHED = 4096


def _fonts() -> tuple[ImageFont.FreeTypeFont, ImageFont.FreeTypeFont]:
    """(ticks, title) fonts of this thread: a FreeType face must not render in two threads at once."""
    fonts = getattr(_local, "fonts", None)
    if fonts is None:
        # digits and dates need no shaping (BASIC is the faster layout); titles may be any script, so Raqm
        fonts = _local.fonts = (ImageFont.truetype(str(_DIGEST_FONT), 11, layout_engine=ImageFont.Layout.BASIC),
                                ImageFont.truetype(str(_DIGEST_FONT), 12))
    return fonts


def _label(kind: int, text: str) -> np.ndarray:
    """`text` in font `kind` (0: tick labels in grey, 1: titles in near-black) as an RGB patch on white, cached per
    thread: the same dates and tick values recur in every digest, and labels always sit on the white margins, so
    a cached patch is copied in instead of rendering (or even blending) the text again."""
    cache = getattr(_local, "labels", None)
    if cache is None:
        cache = _local.labels = OrderedDict()
    patch = cache.get((kind, text))
    if patch is not None:
        cache.move_to_end((kind, text))
        return patch
    font = _fonts()[kind]
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("L", (max(right, 1), max(bottom, 1)), 0)
    ImageDraw.Draw(image).text((0, 0), text, font=font, fill=255)
    coverage = np.asarray(image, dtype=np.float32)[:, :, None] / 255
    colour = _INK if kind else _MUTED
    patch = cache[(kind, text)] = (255 - (255 - colour) * coverage + 0.5).astype(np.uint8)
    if len(cache) > _LABELS_CACHED:
        cache.popitem(last=False)
    return patch


def _stamp(pixels: np.ndarray, patch: np.ndarray, x: float, y: float) -> None:
    """Copy a label's patch in with its top left corner at (x, y), clipped to the image."""
    h, w = pixels.shape[:2]
    x, y = round(x), round(y)
    x_a, y_a = max(x, 0), max(y, 0)
    x_b, y_b = min(x + patch.shape[1], w), min(y + patch.shape[0], h)
    if x_a < x_b and y_a < y_b:
        pixels[y_a:y_b, x_a:x_b] = patch[y_a - y:y_b - y, x_a - x:x_b - x]


def nice_ticks(low: float, high: float, most: int = 3) -> list[float]:
    """At most `most` round whole values (steps of 1, 2, 2.5 or 5 times a power of ten, whole numbers only:
    subscribers are people) within low..high."""
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return [float(round(low))] if np.isfinite(low) and round(low) == low else []
    magnitude = 10 ** math.floor(math.log10(span / most))
    step = next(st for m in (1, 2, 2.5, 5, 10, 20) if (st := m * magnitude) >= 1 and st == int(st)
                and math.floor(high / st) - math.ceil(low / st) + 1 <= most)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) // step) + 1)]


def _fit(text: str, width: float) -> str:
    """A title cut with an ellipsis to fit `width` pixels (a long channel title must not run off the image)."""
    font = _fonts()[1]
    if font.getlength(text) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if font.getlength(text[:mid] + "…") <= width else (low, mid - 1)
    return text[:low].rstrip() + "…"


def _digest_panel(pixels: np.ndarray, top: int, height: int, left: int, label: str, dates: Sequence[date],
                  y: np.ndarray, limits: tuple[float, float], ticks: list[tuple[float, str]], lang: str) -> None:
    """One sparkline drawn straight into the (h, w, 3) 8-bit image: rules and ticks are array slices, labels are
    blended from cached masks, and only the line goes through Pillow (on a supersampled mask)."""
    width = pixels.shape[1]
    low, high = limits
    x0, x1 = left, width - _RIGHT
    y0, y1 = top + _PANEL_TOP, top + height - _PANEL_BOTTOM
    if label:
        _stamp(pixels, _label(1, _fit(label, width - x0 - _RIGHT)), x0, top + 5)
    inner0, inner1 = x0 + 6, x1 - 6  # the first and last day sit a little inside the axis
    span_x = (inner1 - inner0) / max(len(y) - 1, 1)

    def y_of(v: float) -> float:
        return y1 - (v - low) / (high - low) * (y1 - y0)

    for value, text in ticks:
        yy = round(y_of(value))
        pixels[yy, x0:x1] = _GRID
        mask = _label(0, text)
        _stamp(pixels, mask, x0 - 6 - mask.shape[1], yy - 7)
    pixels[y1, x0:x1] = _MUTED
    if dates:
        for i in sorted({round(k) for k in np.linspace(0, len(dates) - 1, min(4, len(dates)))}):
            xx = round(inner0 + span_x * i)
            pixels[y1:y1 + 4, xx] = _MUTED
            mask = _label(0, _short_date(dates[i], lang))
            _stamp(pixels, mask, min(max(xx - mask.shape[1] / 2, 2), width - 2 - mask.shape[1]), y1 + 5)
    # The line: on a supersampled mask of the plot area, shrunk (box filter), blended in the line colour over the
    # grid where the mask covers a pixel.
    k = _SUPERSAMPLE
    bx, by = x0, y0 - 3  # a little above the top: the line's own width
    mask = Image.new("L", ((x1 - bx) * k, (y1 + 1 - by) * k), 0)
    pen = ImageDraw.Draw(mask)
    xs = (inner0 - bx + span_x * np.arange(len(y))) * k
    ys = (y1 - (y - low) / (high - low) * (y1 - y0) - by) * k
    known = np.isfinite(y)
    # runs of known days: a gap (a day without a number) breaks the line
    edges = np.flatnonzero(np.diff(np.concatenate(([0], known.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start > 1:
            pen.line(list(zip(xs[start:stop].tolist(), ys[start:stop].tolist())), fill=255,
                     width=round(2.4 * k))
        else:  # a lone known day between gaps: a dot
            r = 1.4 * k
            pen.ellipse((xs[start] - r, ys[start] - r, xs[start] + r, ys[start] + r), fill=255)
    coverage = np.asarray(mask.reduce(k))
    rows, cols = np.nonzero(coverage)  # the line's own pixels: a few thousand of the plot's forty thousand
    under = pixels[by + rows, bx + cols]
    a = coverage[rows, cols, None].astype(np.float32) / 255
    pixels[by + rows, bx + cols] = under - (under - _RGB_LINE) * a + 0.5


def png_rgb(pixels: np.ndarray) -> bytes:
    """An 8-bit RGB PNG of an (h, w, 3) uint8 array, unfiltered, zlib level 1. Pillow's encoder tries every
    filter on every row: ~6 ms for a 500x280 chart, against ~1 ms here, for files about as small (charts are
    mostly flat colour, which deflate handles without filtering)."""
    h, w, _ = pixels.shape
    rows = np.zeros((h, w * 3 + 1), dtype=np.uint8)  # a leading 0 per row: filter type None
    rows[:, 1:] = pixels.reshape(h, w * 3)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) + chunk(b"IEND", b""))


def digest_png(panels: Sequence[tuple[str, Sequence[date], Sequence[float | None]]], lang: str) -> bytes:
    """Subscribers of up to `MAX_DIGEST_PANELS` channels, one sparkline each: (label, dates, values) per panel."""
    panels = list(panels)[:MAX_DIGEST_PANELS] or [("", [], [])]
    width, height = round(DIGEST_SIZE[0] * DIGEST_DPI), round(DIGEST_SIZE[1] * DIGEST_DPI)
    scaled = []
    for label, dates, values in panels:
        y = np.array([np.nan if v is None else v for v in values], dtype=float)
        finite = y[np.isfinite(y)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = max((high - low) * 0.1, 1.0)
        ticks = [(v, fmt_int(v, lang)) for v in nice_ticks(low - pad, high + pad)] if finite.size else []
        scaled.append((label, dates, y, (low - pad, high + pad), ticks))
    # one left margin for every panel, wide enough for the widest tick label: the panels' days line up
    left = 14 + max((_label(0, text).shape[1] for *_, ticks in scaled for _, text in ticks), default=24)
    pixels = np.full((height * len(panels), width, 3), 255, dtype=np.uint8)
    for i, (label, dates, y, limits, ticks) in enumerate(scaled):
        _digest_panel(pixels, i * height, height, left, label, dates, y, limits, ticks, lang)
    return png_rgb(pixels)


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
