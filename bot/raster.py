"""A small raster drawing kit for the bot's chart PNGs: an RGB numpy array, labels stamped from cached patches,
antialiased lines and areas through Pillow on supersampled masks, and an unfiltered PNG encoder.

Why not matplotlib for chat images: a 600x300 chart costs it 100-500 ms (most of it laying out tick labels and
text), far over the 100 ms budget of a command reply; these charts need lines, bars, cells and a few labels,
which this kit draws in a few milliseconds. matplotlib still draws the PDF report's pages (vector, selectable
text), where time matters less.

Rules of the kit: labels are drawn on white (they always sit in the charts' margins), so a label is a patch
blended once and copied in afterwards; fonts and patches are per thread (a FreeType face must not render in two
threads at once).
"""

from __future__ import annotations

import math
import struct
import threading
import zlib
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import matplotlib
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"  # shipped with matplotlib: no download


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], dtype=np.float32)


INK, MUTED, GRID, WHITE = (np.array(c, dtype=np.float32) for c in ((40, 40, 40), (110, 110, 110), (232, 232, 232),
                                                                  (255, 255, 255)))
TICK, TITLE = 11, 13  # px: tick labels, chart titles
SUPERSAMPLE = 3  # lines and areas are drawn 3x larger on a mask and shrunk: Pillow's own lines are not antialiased
_LABELS_CACHED = 4096
_local = threading.local()


def font(size: int, shaped: bool) -> ImageFont.FreeTypeFont:
    """DejaVu Sans at `size` px for this thread. `shaped` uses Raqm (titles may be any script); digits, dates and
    weekday names need no shaping, and the BASIC layout is faster."""
    fonts = getattr(_local, "fonts", None)
    if fonts is None:
        fonts = _local.fonts = {}
    key = (size, shaped)
    if key not in fonts:
        engine = ImageFont.Layout.RAQM if shaped else ImageFont.Layout.BASIC
        fonts[key] = ImageFont.truetype(str(FONT), size, layout_engine=engine)
    return fonts[key]


def label(text: str, size: int = TICK, colour: np.ndarray = MUTED, shaped: bool = False) -> np.ndarray:
    """`text` as an RGB patch on white, cached per thread: the same dates, weekdays and tick values recur in every
    chart, so a cached patch is copied in instead of rendering (or even blending) the text again."""
    cache = getattr(_local, "labels", None)
    if cache is None:
        cache = _local.labels = OrderedDict()
    key = (text, size, shaped, colour.tobytes())
    patch = cache.get(key)
    if patch is not None:
        cache.move_to_end(key)
        return patch
    face = font(size, shaped)
    _, _, right, bottom = face.getbbox(text)
    image = Image.new("L", (max(right, 1), max(bottom, 1)), 0)
    ImageDraw.Draw(image).text((0, 0), text, font=face, fill=255)
    coverage = np.asarray(image, dtype=np.float32)[:, :, None] / 255
    patch = cache[key] = (255 - (255 - colour) * coverage + 0.5).astype(np.uint8)
    if len(cache) > _LABELS_CACHED:
        cache.popitem(last=False)
    return patch


def fit(text: str, width: float, size: int = TITLE) -> str:
    """`text` cut with an ellipsis to fit `width` pixels (a long channel title must not run off the image)."""
    face = font(size, True)
    if face.getlength(text) <= width:
        return text
    low, high = 0, len(text)  # the longest prefix that fits with the ellipsis
    while low < high:
        mid = (low + high + 1) // 2
        low, high = (mid, high) if face.getlength(text[:mid] + "…") <= width else (low, mid - 1)
    return text[:low].rstrip() + "…"


def nice_ticks(low: float, high: float, most: int = 3) -> list[float]:
    """At most `most` round whole values (steps of 1, 2, 2.5 or 5 times a power of ten, whole numbers only:
    subscribers, views and hours are counted) within low..high."""
    span = high - low
    if not np.isfinite(span) or span <= 0:
        return [float(round(low))] if np.isfinite(low) and round(low) == low else []
    magnitude = 10 ** math.floor(math.log10(span / most))
    step = next(st for m in (1, 2, 2.5, 5, 10, 20) if (st := m * magnitude) >= 1 and st == int(st)
                and math.floor(high / st) - math.ceil(low / st) + 1 <= most)
    first = math.ceil(low / step) * step
    return [first + k * step for k in range(int((high - first) // step) + 1)]


def padded(values: Iterable[float], share: float = 0.1, floor: float | None = None) -> tuple[float, float]:
    """(low, high) of the finite values with `share` of the span (at least 1) added on each side; (0, 1) when
    there is none. `floor` keeps the low end from going below it (views start at 0)."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    pad = max((high - low) * share, 1.0)
    low, high = low - pad, high + pad
    return (max(low, floor) if floor is not None else low), high


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


class Canvas:
    """An (h, w, 3) white image to draw on, in pixel coordinates (x right, y down)."""

    def __init__(self, width: int, height: int):
        self.pixels = np.full((height, width, 3), 255, dtype=np.uint8)

    @property
    def width(self) -> int:
        return self.pixels.shape[1]

    @property
    def height(self) -> int:
        return self.pixels.shape[0]

    def png(self) -> bytes:
        return png_rgb(self.pixels)

    def stamp(self, patch: np.ndarray, x: float, y: float) -> None:
        """Copy a label's patch in with its top left corner at (x, y), clipped to the image."""
        h, w = self.pixels.shape[:2]
        x, y = round(x), round(y)
        x_a, y_a = max(x, 0), max(y, 0)
        x_b, y_b = min(x + patch.shape[1], w), min(y + patch.shape[0], h)
        if x_a < x_b and y_a < y_b:
            self.pixels[y_a:y_b, x_a:x_b] = patch[y_a - y:y_b - y, x_a - x:x_b - x]

    def text(self, text: str, x: float, y: float, *, size: int = TICK, colour: np.ndarray = MUTED,
             shaped: bool = False, align: str = "left", valign: str = "top") -> int:
        """A label at (x, y): `align` left/center/right of x, `valign` top/middle of y. Returns its width."""
        patch = label(text, size, colour, shaped)
        h, w = patch.shape[:2]
        x = x - {"left": 0, "center": w / 2, "right": w}[align]
        y = y - {"top": 0, "middle": h / 2}[valign]
        self.stamp(patch, x, y)
        return w

    def title(self, text: str, x: float = 12, y: float = 6) -> None:
        self.text(fit(text, self.width - x - 12), x, y, size=TITLE, colour=INK, shaped=True)

    def fill(self, x0: float, y0: float, x1: float, y1: float, colour: np.ndarray) -> None:
        """A solid rectangle (pixel edges rounded), clipped to the image."""
        h, w = self.pixels.shape[:2]
        xa, xb = max(round(x0), 0), min(round(x1), w)
        ya, yb = max(round(y0), 0), min(round(y1), h)
        if xa < xb and ya < yb:
            self.pixels[ya:yb, xa:xb] = colour

    def _blend(self, draw, points: np.ndarray, margin: float, colour: np.ndarray, alpha: float = 1.0) -> None:
        """Run `draw(pen, scaled_points)` on a supersampled mask covering `points` plus `margin`, shrink it (box
        filter) and blend `colour` where it covers a pixel."""
        k = SUPERSAMPLE
        h, w = self.pixels.shape[:2]
        bx0 = max(int(math.floor(points[:, 0].min() - margin)), 0)
        by0 = max(int(math.floor(points[:, 1].min() - margin)), 0)
        bx1 = min(int(math.ceil(points[:, 0].max() + margin)) + 1, w)
        by1 = min(int(math.ceil(points[:, 1].max() + margin)) + 1, h)
        if bx0 >= bx1 or by0 >= by1:
            return
        mask = Image.new("L", ((bx1 - bx0) * k, (by1 - by0) * k), 0)
        draw(ImageDraw.Draw(mask), (points - (bx0, by0)) * k)
        coverage = np.asarray(mask.reduce(k))
        rows, cols = np.nonzero(coverage)  # only the covered pixels: a line is a few percent of its box
        under = self.pixels[by0 + rows, bx0 + cols]
        a = coverage[rows, cols, None].astype(np.float32) * (alpha / 255)
        self.pixels[by0 + rows, bx0 + cols] = under - (under - colour) * a + 0.5

    def line(self, points: np.ndarray, colour: np.ndarray, width: float = 2.4,
             dash: tuple[float, float] | None = None) -> None:
        """A polyline through (n, 2) points; a non-finite y breaks it (a day without a number is a gap, and a lone
        known point between gaps is a dot). `dash` (on, off) in px draws it dashed."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        known = np.isfinite(points).all(axis=1)
        if not known.any():
            return
        edges = np.flatnonzero(np.diff(np.concatenate(([0], known.astype(np.int8), [0]))))
        runs = [points[a:b] for a, b in zip(edges[::2], edges[1::2])]
        k = SUPERSAMPLE

        def draw(pen, scaled):
            offset = 0
            for run in runs:
                part = scaled[offset:offset + len(run)]
                offset += len(run)
                if len(part) == 1:
                    r = 0.6 * width * k
                    x, y = part[0]
                    pen.ellipse((x - r, y - r, x + r, y + r), fill=255)
                    continue
                for piece in (_dashes(part, dash[0] * k, dash[1] * k) if dash else [part]):
                    pen.line([tuple(p) for p in piece.tolist()], fill=255, width=round(width * k), joint="curve")

        self._blend(draw, np.concatenate(runs), width + 1, colour)

    def dots(self, points: np.ndarray, colour: np.ndarray, radius: float = 3.0) -> None:
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        points = points[np.isfinite(points).all(axis=1)]
        if not len(points):
            return
        r = radius * SUPERSAMPLE

        def draw(pen, scaled):
            for x, y in scaled.tolist():
                pen.ellipse((x - r, y - r, x + r, y + r), fill=255)

        self._blend(draw, points, radius + 1, colour)

    def area(self, points: np.ndarray, colour: np.ndarray, alpha: float = 1.0) -> None:
        """A filled polygon through (n, 2) points (all finite), blended at `alpha`."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(points) < 3:
            return
        self._blend(lambda pen, scaled: pen.polygon([tuple(p) for p in scaled.tolist()], fill=255), points, 1,
                    colour, alpha)


def _dashes(points: np.ndarray, on: float, off: float) -> list[np.ndarray]:
    """The polyline cut into pieces `on` long with `off` gaps between them, measured along its length."""
    seg = np.diff(points, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    at = np.concatenate(([0.0], np.cumsum(lengths)))
    total, pieces, start = at[-1], [], 0.0
    while start < total:
        stop = min(start + on, total)
        inner = (at > start) & (at < stop)
        ends = [np.interp(start, at, points[:, 0]), np.interp(start, at, points[:, 1])], \
               [np.interp(stop, at, points[:, 0]), np.interp(stop, at, points[:, 1])]
        pieces.append(np.vstack([ends[0], points[inner], ends[1]]))
        start = stop + off
    return pieces


class Axes:
    """A plot box on a canvas with data limits: maps values to pixels and draws the usual furniture (horizontal
    grid with labels on the left, a baseline with labels below)."""

    def __init__(self, canvas: Canvas, box: tuple[float, float, float, float], xlim: tuple[float, float],
                 ylim: tuple[float, float]):
        self.canvas, self.box, self.xlim, self.ylim = canvas, box, xlim, ylim

    def x(self, v):
        x0, _, x1, _ = self.box
        low, high = self.xlim
        return x0 + (np.asarray(v, dtype=float) - low) / ((high - low) or 1) * (x1 - x0)

    def y(self, v):
        _, y0, _, y1 = self.box
        low, high = self.ylim
        return y1 - (np.asarray(v, dtype=float) - low) / ((high - low) or 1) * (y1 - y0)

    def points(self, xs: Sequence[float], ys: Sequence[float | None]) -> np.ndarray:
        ys = np.array([np.nan if v is None else v for v in ys], dtype=float)
        return np.column_stack([self.x(np.asarray(xs, dtype=float)), self.y(ys)])

    def y_grid(self, ticks: Sequence[tuple[float, str]], rule: tuple[int, int] | None = None) -> None:
        """A grid line at each of `ticks` with its label left of it; `rule` is the lines' extent (default the
        box)."""
        x0, x1 = rule or (self.box[0], self.box[2])
        for value, text in ticks:
            yy = round(float(self.y(value)))
            self.canvas.fill(x0, yy, x1, yy + 1, GRID)
            self.canvas.text(text, x0 - 6, yy, align="right", valign="middle")

    def x_labels(self, ticks: Sequence[tuple[float, str]], rule: tuple[int, int] | None = None) -> None:
        """A baseline along the bottom (`rule` is its extent, default the box) with a short tick and a label
        under each of `ticks` (kept inside the image)."""
        x0, x1 = rule or (self.box[0], self.box[2])
        y1 = self.box[3]
        canvas = self.canvas
        canvas.fill(x0, y1, x1, y1 + 1, MUTED)
        for value, text in ticks:
            xx = round(float(self.x(value)))
            canvas.fill(xx, y1, xx + 1, y1 + 4, MUTED)
            w = label(text).shape[1]
            canvas.text(text, min(max(xx - w / 2, 2), canvas.width - 2 - w), y1 + 5)


def y_tick_labels(values: Sequence[float], format_value) -> tuple[list[tuple[float, str]], int]:
    """(ticks as (value, text), width of the widest label in px): the left margin a chart needs."""
    ticks = [(v, format_value(v)) for v in values]
    return ticks, max((label(text).shape[1] for _, text in ticks), default=0)
