"""Watermarking speed: a 1080p photo and a 10 s 720p video, each against its target and a no-mark baseline.

Targets (from the issue): a 1080p photo in under 0.5 s, a 10 s 720p video in under 10 s, on 2 cores.

- photo: a 1920x1080 JPEG (smooth gradients plus sensor-like noise, so the encoder has real work), marked with
  a corner text and with a tiled text; baseline: decode, apply EXIF orientation, re-encode at quality 90.
- video: 10 s of 1280x720 at 25 fps (ffmpeg's `testsrc2` with light temporal noise: about 2.5 Mbit/s, like a
  phone video Telegram delivers) with a sine audio track, made once into a temporary folder with the same
  ffmpeg binary; baseline: the same H.264 re-encode without the overlay.

    python bench/watermark_bench.py [--photo-runs 15] [--video-runs 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import describe  # noqa: E402
from bot.watermark import WatermarkSpec, ffmpeg_exe, video_encoder, watermark_photo, watermark_video  # noqa: E402

PHOTO_TARGET, VIDEO_TARGET = 0.5, 10.0
MARKS = {"corner text": WatermarkSpec(text="© @analytic_channel", opacity=0.6),
         "tiled text": WatermarkSpec(text="@analytic_channel", opacity=0.35, tiled=True, size=0.2)}


def timed(run: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and max wall time in seconds over `runs` calls, after one warm-up call."""
    run()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), max(times)


def report(name: str, median: float, worst: float, target: float | None, baseline: float | None) -> None:
    verdict = "" if target is None else f"target < {target:g} s: {'OK' if worst < target else 'MISSED'}"
    base = "" if baseline is None else f"baseline {baseline:6.3f} s ({median - baseline:+.3f})"
    print(f"  {name:<26} median {median:6.3f} s  max {worst:6.3f} s  {base:<28} {verdict}")


def photo_1080p() -> bytes:
    rng = np.random.default_rng(7)
    x = np.linspace(0, 1, 1920, dtype=np.float32)
    y = np.linspace(0, 1, 1080, dtype=np.float32)[:, None]
    rgb = np.stack([200 * x + 30 * y, 80 + 100 * y * (1 - x), 150 - 90 * x * y], axis=2)
    rgb += rng.normal(0, 8, rgb.shape)
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").save(buf, "JPEG", quality=92)
    return buf.getvalue()


def reencode_photo(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        buf = io.BytesIO()
        ImageOps.exif_transpose(image).convert("RGB").save(buf, "JPEG", quality=90)
        return buf.getvalue()


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args], check=True)


def bench_photo(runs: int) -> None:
    data = photo_1080p()
    print(f"photo: 1920x1080 JPEG, {len(data) / 1e6:.1f} MB, {runs} runs")
    baseline, _ = timed(lambda: reencode_photo(data), runs)
    report("re-encode, no mark", baseline, _, None, None)
    for name, spec in MARKS.items():
        median, worst = timed(lambda: watermark_photo(data, spec), runs)
        report(name, median, worst, PHOTO_TARGET, baseline)


def bench_video(runs: int, work: Path) -> None:
    src = work / "source_720p_10s.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25,noise=alls=3:allf=t", "-f", "lavfi",
           "-i", "sine=frequency=440:sample_rate=48000", "-t", "10", "-c:v", "libx264", "-preset", "veryfast",
           "-crf", "23", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", str(src))
    encoder = video_encoder(ffmpeg_exe())
    print(f"video: 1280x720, 25 fps, 10 s, H.264 + AAC, {src.stat().st_size / 1e6:.1f} MB; encoder {encoder} "
          f"veryfast; {runs} runs")
    out = work / "out.mp4"
    baseline, worst = timed(lambda: ffmpeg("-i", str(src), "-c:v", encoder, "-preset", "veryfast", "-crf", "23",
                                           "-pix_fmt", "yuv420p", "-c:a", "copy", "-movflags", "+faststart",
                                           str(out)), runs)
    report("re-encode, no mark", baseline, worst, None, None)
    for name, spec in MARKS.items():
        median, worst = timed(lambda: watermark_video(src, out, spec), runs)
        report(name, median, worst, VIDEO_TARGET, baseline)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photo-runs", type=int, default=15)
    parser.add_argument("--video-runs", type=int, default=3)
    args = parser.parse_args()
    print(describe())
    bench_photo(args.photo_runs)
    with tempfile.TemporaryDirectory(prefix="watermark-bench-") as work:
        bench_video(args.video_runs, Path(work))


if __name__ == "__main__":
    main()
