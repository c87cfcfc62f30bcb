"""The raster kit the chat charts are drawn with: lines (solid, dashed, broken by gaps), areas, labels."""

from io import BytesIO

import numpy as np
from PIL import Image

from bot import raster

BLUE = raster.rgb("#2481cc")


def _blue_columns(canvas: raster.Canvas, row: int) -> list[int]:
    px = canvas.pixels[row].astype(int)
    return [x for x in range(canvas.width) if px[x, 2] > 150 and px[x, 0] < 150]


def test_a_dashed_line_has_gaps_and_a_solid_one_none():
    solid, dashed = raster.Canvas(200, 20), raster.Canvas(200, 20)
    solid.line([(10, 10), (190, 10)], BLUE)
    dashed.line([(10, 10), (190, 10)], BLUE, dash=(6, 4))
    covered = _blue_columns(solid, 10)
    assert covered[0] <= 10 and covered[-1] >= 189 and len(covered) == covered[-1] - covered[0] + 1
    pieces = _blue_columns(dashed, 10)
    gaps = [b - a for a, b in zip(pieces, pieces[1:]) if b - a > 1]
    assert len(gaps) >= 15 and 0.5 < len(pieces) / len(covered) < 0.75  # ~6 on, 4 off


def test_a_missing_value_breaks_the_line_and_a_lone_value_is_a_dot():
    canvas = raster.Canvas(200, 20)
    canvas.line([(10, 10), (50, 10), (90, np.nan), (130, 10), (170, np.nan)], BLUE)
    covered = _blue_columns(canvas, 10)
    assert any(10 <= x <= 50 for x in covered) and not any(60 <= x <= 120 for x in covered)
    assert any(127 <= x <= 133 for x in covered) and not any(140 <= x for x in covered)


def test_an_area_is_blended_at_its_alpha():
    canvas = raster.Canvas(50, 50)
    canvas.area([(10, 10), (40, 10), (40, 40), (10, 40)], raster.rgb("#000000"), alpha=0.5)
    assert tuple(canvas.pixels[25, 25]) == (128, 128, 128) and tuple(canvas.pixels[5, 5]) == (255, 255, 255)


def test_labels_fit_and_the_png_decodes_to_the_same_pixels():
    canvas = raster.Canvas(120, 40)
    width = canvas.text("Подписчики 12 345", 4, 4, colour=raster.INK, shaped=True)
    assert 60 < width < 120 and (canvas.pixels[4:20, 4:4 + width] < 128).any()
    assert raster.fit("Очень длинное название канала" * 5, 100).endswith("…")
    assert raster.font(raster.TITLE, True).getlength(raster.fit("x" * 300, 100)) <= 100
    decoded = np.asarray(Image.open(BytesIO(canvas.png())).convert("RGB"))
    assert (decoded == canvas.pixels).all()


def test_padded_limits():
    assert raster.padded([]) == (0.0, 1.0)
    assert raster.padded([100, 200]) == (90, 210)
    assert raster.padded([5, 5, None, float("nan")]) == (4, 6)
    assert raster.padded([0, 10], floor=0) == (0, 11)
