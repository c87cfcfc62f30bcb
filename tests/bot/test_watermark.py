"""The watermark core on real files: photos made with Pillow, videos made with the same ffmpeg binary."""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.watermark import (ImageTooLarge, InvalidSpec, UnsupportedImage, UnsupportedVideo, VideoFailed,
                           VideoTooLarge, VideoTooLong, WatermarkSpec, ffmpeg_exe, parse_probe, probe_video,
                           render_layer, watermark_photo, watermark_video)

W, H = 640, 360
MARK = WatermarkSpec(text="@channel", position="bottom-right", opacity=1.0, size=0.25)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def gradient(width: int = W, height: int = H) -> Image.Image:
    """A smooth image: JPEG re-encoding barely changes it, so any large difference is the mark."""
    x = np.linspace(60, 190, width, dtype=np.float32)
    y = np.linspace(0, 40, height, dtype=np.float32)[:, None]
    rgb = np.stack([x + y, np.broadcast_to(x[::-1], (height, width)), np.full((height, width), 120.0)], axis=2)
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def region_change(before: np.ndarray, after: np.ndarray, box: tuple[float, float, float, float]) -> float:
    """Mean absolute difference inside a box given in fractions of the frame (left, top, right, bottom)."""
    h, w = before.shape[:2]
    l, t, r, b = int(box[0] * w), int(box[1] * h), int(box[2] * w), int(box[3] * h)
    return float(np.abs(after[t:b, l:r] - before[t:b, l:r]).mean())


def assert_covered(before: np.ndarray, after: np.ndarray, cells: int) -> None:
    """Every cell of a `cells` x `cells` grid over the frame visibly changed."""
    for row in range(cells):
        for col in range(cells):
            box = (col / cells, row / cells, (col + 1) / cells, (row + 1) / cells)
            assert region_change(before, after, box) > 3, (row, col)


CORNERS = {"top-left": (0, 0, 0.3, 0.3), "top-right": (0.7, 0, 1, 0.3), "bottom-left": (0, 0.7, 0.3, 1),
           "bottom-right": (0.7, 0.7, 1, 1), "center": (0.35, 0.35, 0.65, 0.65)}


# --- photos --------------------------------------------------------------------------------------------------

def test_jpeg_keeps_format_and_size_and_changes_only_the_marked_corner():
    original = encode(gradient(), "JPEG", quality=95)
    out = watermark_photo(original, MARK)
    image = Image.open(io.BytesIO(out))
    assert (image.format, image.size) == ("JPEG", (W, H))
    before, after = pixels(original), pixels(out)
    assert region_change(before, after, CORNERS["bottom-right"]) > 10
    assert region_change(before, after, CORNERS["top-left"]) < 1.5


@pytest.mark.parametrize("position", CORNERS)
def test_each_position_puts_the_mark_in_its_region_only(position):
    original = encode(gradient(), "PNG")
    before = pixels(original)
    after = pixels(watermark_photo(original, WatermarkSpec(text="mark", position=position, opacity=1)))
    changes = {name: region_change(before, after, box) for name, box in CORNERS.items()}
    assert max(changes, key=changes.get) == position
    assert all(change == 0 for name, change in changes.items() if name != position)


def test_png_transparency_and_webp_format_are_kept():
    transparent = Image.new("RGBA", (W, H), (10, 200, 10, 0))
    out = Image.open(io.BytesIO(watermark_photo(encode(transparent, "PNG"), MARK)))
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (W, H))
    alpha = np.asarray(out.getchannel("A"))
    assert alpha[:H // 2, :W // 2].max() == 0 and alpha[-H // 4:, -W // 4:].max() == 255

    webp = Image.open(io.BytesIO(watermark_photo(encode(gradient(), "WEBP", quality=90), MARK)))
    assert (webp.format, webp.size) == ("WEBP", (W, H))


@pytest.mark.parametrize("mode, fmt", [("L", "JPEG"), ("CMYK", "JPEG"), ("P", "PNG"), ("LA", "PNG")])
def test_other_colour_modes_come_out_marked_in_their_format(mode, fmt):
    out = Image.open(io.BytesIO(watermark_photo(encode(gradient().convert(mode), fmt), MARK)))
    assert (out.format, out.size) == (fmt, (W, H))
    assert region_change(pixels(encode(gradient().convert(mode), fmt)), pixels(encode(out, "PNG")),
                         CORNERS["bottom-right"]) > 10


def test_exif_orientation_is_applied_before_marking():
    # Stored landscape, left half red: orientation 6 means "rotate 90° clockwise to display", so the viewer sees
    # a portrait photo with red on top.
    stored = Image.new("RGB", (W, H), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, W // 2, H))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = Image.open(io.BytesIO(watermark_photo(encode(stored, "JPEG", quality=95, exif=exif), MARK)))
    assert out.size == (H, W)
    assert out.getexif().get(0x0112) in (None, 1)  # no viewer may rotate it a second time
    top = np.asarray(out.convert("RGB"))[10, H // 2]
    assert top[0] > 200 and top[2] < 60


def test_tiled_mark_covers_the_whole_frame():
    original = encode(gradient(), "PNG")
    before = pixels(original)
    after = pixels(watermark_photo(original, WatermarkSpec(text="@channel", tiled=True, opacity=0.6, size=0.2)))
    assert_covered(before, after, 4)


def test_opacity_zero_leaves_the_photo_nearly_unchanged():
    original = encode(gradient(), "JPEG", quality=95)
    after = pixels(watermark_photo(original, WatermarkSpec(text="@channel", opacity=0, tiled=True)))
    assert np.abs(after - pixels(original)).mean() < 1.5


def test_logo_is_scaled_into_its_corner():
    logo = Image.new("RGBA", (400, 200), (255, 0, 0, 255))
    spec = WatermarkSpec(logo=encode(logo, "PNG"), position="top-left", opacity=1, size=0.25)
    after = np.asarray(Image.open(io.BytesIO(watermark_photo(encode(gradient(), "PNG"), spec))).convert("RGB"))
    red = (after[..., 0] == 255) & (after[..., 1] == 0) & (after[..., 2] == 0)
    ys, xs = np.nonzero(red)
    # Fits in a quarter of the width (160 px) keeping its 2:1 aspect, inside the top-left margin.
    assert (xs.max() - xs.min() + 1, ys.max() - ys.min() + 1) == (160, 80)
    assert 0 < xs.min() < 20 and 0 < ys.min() < 20


@pytest.mark.parametrize("data, error, message", [
    (b"just some text, not a picture", UnsupportedImage, "not a JPEG, PNG or WebP"),
    (encode(Image.new("RGB", (50, 50)), "GIF"), UnsupportedImage, "not a JPEG, PNG or WebP"),
    (encode(gradient(), "JPEG")[:3000], UnsupportedImage, "damaged"),
    # 48 MP of one-bit pixels: a few kB on disk, 190 MB once decoded to RGBA.
    (encode(Image.new("1", (8000, 6000)), "PNG"), ImageTooLarge, "8000x6000"),
])
def test_bad_photos_are_refused_with_a_clear_error(data, error, message):
    with pytest.raises(error, match=message):
        watermark_photo(data, MARK)


def test_animated_and_oversized_photos_are_refused():
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "blue")]
    animated = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(UnsupportedImage, match="Animated"):
        watermark_photo(animated, MARK)
    with pytest.raises(ImageTooLarge, match="Telegram bot download limit"):
        watermark_photo(encode(gradient(), "PNG"), MARK, max_bytes=1000)


@pytest.mark.parametrize("options, message", [
    ({"text": ""}, "empty"),
    ({"text": "   \t "}, "empty"),
    ({"text": "line one\nline two"}, r"control character \(U\+000A\)"),
    ({"text": "evil\x1b[31m"}, r"U\+001B"),
    ({"text": "abc\u202edcba"}, r"U\+202E"),  # right-to-left override: spoofing
    ({"text": "x" * 101}, "at most 100"),
    ({"text": "ok", "opacity": 1.5}, "Opacity"),
    ({"text": "ok", "opacity": -0.1}, "Opacity"),
    ({"text": "ok", "opacity": float("nan")}, "Opacity"),
    ({"text": "ok", "position": "middle"}, "Unknown position"),
    ({"text": "ok", "size": 0}, "Size"),
    ({}, "either a text or a logo"),
    ({"text": "ok", "logo": b"x"}, "either a text or a logo"),
])
def test_bad_specs_are_refused(options, message):
    with pytest.raises(InvalidSpec, match=message):
        WatermarkSpec(**options)


def test_a_logo_that_is_not_an_image_is_refused():
    with pytest.raises(UnsupportedImage):
        WatermarkSpec(logo=b"%PDF-1.4 not an image")


def test_text_is_stripped_and_emoji_joiners_kept():
    assert WatermarkSpec(text="  © Channel  ").text == "© Channel"
    family = "\U0001F468\u200d\U0001F469\u200d\U0001F467"
    assert WatermarkSpec(text=family).text == family


# --- videos --------------------------------------------------------------------------------------------------

def ffmpeg(*args: str) -> bytes:
    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args],
                          check=True, capture_output=True, timeout=120).stdout


def frame_at(path: Path, seconds: float) -> np.ndarray:
    png = ffmpeg("-ss", str(seconds), "-i", str(path), "-frames:v", "1", "-f", "image2", "-c:v", "png", "-")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("video") / "source.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=1280x720:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
           "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", str(path))
    return path


def test_video_is_watermarked_in_the_marks_region_only(video, tmp_path):
    # Quotes, colons, backslashes and percent signs would break (or inject into) an ffmpeg drawtext filter; here
    # the text is rendered by Pillow, so it only has to come out.
    spec = WatermarkSpec(text="it's 100% \"ours\": C:\\x", position="bottom-right", opacity=1)
    out = tmp_path / "marked.mp4"
    info = watermark_video(video, out, spec)
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (1280, 720, "h264", "aac")
    assert info.duration == pytest.approx(2.0, abs=0.1)
    assert b"moov" in out.read_bytes()[:4096]  # +faststart: the index comes before the media data
    before, after = frame_at(video, 1.0), frame_at(out, 1.0)
    assert after.shape == before.shape
    # Where the rendered layer is opaque the frame changed; far from it, only by the encoder's noise.
    inked = np.asarray(render_layer((1280, 720), spec).getchannel("A")) > 200
    assert inked[:500].sum() == 0 and inked.sum() > 2000
    diff = np.abs(after - before).mean(axis=2)
    assert diff[inked].mean() > 40
    assert region_change(before, after, CORNERS["top-left"]) < 3


def test_tiled_video_without_audio(tmp_path):
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=640x360:rate=25", "-t", "1", "-c:v", "libx264", "-pix_fmt",
           "yuv420p", str(silent))
    out = tmp_path / "marked.mp4"
    info = watermark_video(silent, out, WatermarkSpec(text="@channel", tiled=True, opacity=0.7, size=0.2))
    assert (info.width, info.height, info.audio_codec) == (640, 360, None)
    before, after = frame_at(silent, 0.5), frame_at(out, 0.5)
    assert_covered(before, after, 3)


def test_a_two_gigabyte_video_is_refused_before_it_is_read(tmp_path):
    huge = tmp_path / "huge.mp4"
    with open(huge, "wb") as f:
        f.truncate(2 * 2**30)  # sparse: takes no disk space
    with pytest.raises(VideoTooLarge, match=r"2048\.0 MB; at most 20 MB .*Telegram"):
        watermark_video(huge, tmp_path / "out.mp4", MARK)


def test_bad_videos_are_refused_with_a_clear_error(video, tmp_path):
    out = tmp_path / "out.mp4"
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(50_000))
    with pytest.raises(UnsupportedVideo, match="not a video"):
        watermark_video(junk, out, MARK)
    photo = tmp_path / "photo.mp4"
    photo.write_bytes(encode(gradient(), "PNG"))
    with pytest.raises(UnsupportedVideo, match="not a video"):
        watermark_video(photo, out, MARK)
    with pytest.raises(VideoTooLong, match="at most 1 s"):
        watermark_video(video, out, MARK, max_seconds=1)
    with pytest.raises(VideoTooLarge, match="at most 640 px"):
        watermark_video(video, out, MARK, max_side=640)
    assert not out.exists()


def test_a_playlist_disguised_as_mp4_cannot_make_ffmpeg_read_other_files(video, tmp_path):
    playlist = tmp_path / "innocent.mp4"
    playlist.write_text(f"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\n{video}\n#EXT-X-ENDLIST\n")
    with pytest.raises(UnsupportedVideo):
        watermark_video(playlist, tmp_path / "out.mp4", MARK)


def test_an_encoding_timeout_is_reported_and_leaves_no_partial_file(video, tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(VideoFailed, match="longer than 0.05 s"):
        watermark_video(video, out, MARK, timeout=0.05)
    assert not out.exists()


def test_probe_output_with_rotation_swaps_the_display_size():
    stderr = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from '/tmp/a.mp4':
  Duration: 00:01:02.50, start: 0.000000, bitrate: 1205 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709), 1920x1080, 25 fps
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s"""
    info = parse_probe(stderr)
    assert (info.width, info.height, info.duration, info.video_codec, info.audio_codec) == (
        1080, 1920, 62.5, "h264", "aac")
    assert parse_probe("Stream #0:0: Audio: mp3, 44100 Hz") is None


def test_probe_reports_the_generated_video(video):
    info = probe_video(video)
    assert (info.width, info.height, info.video_codec) == (1280, 720, "h264")
