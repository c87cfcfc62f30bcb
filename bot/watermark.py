"""Content protection: a channel owner's text or logo stamped on a photo or a video (`/watermark`, paid plans).

Pure functions, no aiogram: the handler downloads the file, calls `watermark_photo` or `watermark_video`, and
translates a `WatermarkError` subclass into a reply. Every refusal is one of those subclasses with an English
message; nothing else escapes for bad input.

One design carries both media: the mark (text or logo, single or tiled) is rendered once with Pillow into a
transparent RGBA layer the size of the frame (`render_layer`). A photo is alpha-composited with it; a video gets
the same layer as a PNG through ffmpeg's `overlay` filter. Photos and videos therefore look identical, and user
text never enters an ffmpeg filter graph, so there is nothing to escape there (drawtext's escaping rules for
quotes, colons, backslashes and `%` are a well-known source of injection bugs).

Limits, all parameters with defaults:
- bytes: 20 MB for photos and videos, the most a Telegram bot may download (Bot API `getFile`);
- pixels: 40 MP for photos (decompression bombs are refused from the header, before decoding), 4096 px on the
  longer side of a video frame;
- video duration: 180 s, and ffmpeg runs under a 300 s timeout;
- text: 1..100 characters after stripping surrounding whitespace; control characters (newlines, tabs, escape
  sequences), surrogates and invisible format characters such as bidi overrides are refused, not silently
  stripped, so the owner sees exactly the mark they asked for (zero-width joiners stay: emoji sequences use them).
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
import subprocess
import tempfile
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import ffmpeg
from PIL import Image, ImageDraw, ImageFont, ImageOps

Position = Literal["top-left", "top-right", "bottom-left", "bottom-right", "center"]
POSITIONS: tuple[str, ...] = get_args(Position)

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # Bot API getFile refuses anything larger
MAX_PHOTO_PIXELS = 40_000_000
MAX_LOGO_PIXELS = 16_000_000
MAX_VIDEO_SIDE = 4096
MAX_VIDEO_SECONDS = 180.0
FFMPEG_TIMEOUT = 300.0
MAX_TEXT_LENGTH = 100

PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
# Demuxers a video may be read with. Without this list a file named .mp4 that is really an HLS playlist makes
# ffmpeg open the files or URLs it names (a known server-side file-read/SSRF trick).
VIDEO_DEMUXERS = "mov,matroska,avi,mpegts,flv"
# Audio codecs an MP4 holds as they are; anything else (vorbis, pcm...) is re-encoded to AAC.
MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}
# Zero-width (non-)joiners are format characters, but emoji and some scripts need them.
ALLOWED_FORMAT_CHARS = {"\u200c", "\u200d"}
FONT_PATHS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
              "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf")


class WatermarkError(ValueError):
    """Base of every refusal; `str(error)` is a message fit for the channel owner."""


class InvalidSpec(WatermarkError):
    """The watermark settings themselves are wrong: opacity, position, size, text, logo."""


class UnsupportedImage(WatermarkError):
    """Not an image, damaged, animated, or a format other than JPEG, PNG and WebP."""


class ImageTooLarge(WatermarkError):
    """Too many bytes or pixels (decompression bombs included)."""


class UnsupportedVideo(WatermarkError):
    """ffmpeg cannot read it, it has no video stream, or its duration is unknown."""


class VideoTooLarge(WatermarkError):
    """Too many bytes, or a frame larger than `MAX_VIDEO_SIDE`."""


class VideoTooLong(WatermarkError):
    """Longer than the duration limit."""


class VideoFailed(WatermarkError):
    """ffmpeg failed or timed out while encoding; the message carries a short summary of its stderr."""


@dataclass(frozen=True)
class WatermarkSpec:
    """What to stamp and how. Exactly one of `text` and `logo` (image bytes: PNG with transparency works best).

    `size` is the mark's box as a fraction of the frame: the mark fits within `size` x width by `size` x height,
    keeping its aspect ratio. With `tiled`, that box is one tile and tiles repeat over the whole frame.
    """

    text: str | None = None
    logo: bytes | None = None
    position: Position = "bottom-right"
    opacity: float = 0.5
    tiled: bool = False
    size: float = 0.25

    def __post_init__(self) -> None:
        if (self.text is None) == (self.logo is None):
            raise InvalidSpec("Give either a text or a logo for the watermark, not both and not neither.")
        if self.text is not None:
            object.__setattr__(self, "text", clean_text(self.text))
        else:
            _open_image(self.logo, max_bytes=TELEGRAM_DOWNLOAD_LIMIT, max_pixels=MAX_LOGO_PIXELS).close()
        if self.position not in POSITIONS:
            raise InvalidSpec(f"Unknown position {self.position!r}; use one of: {', '.join(POSITIONS)}.")
        if not isinstance(self.opacity, (int, float)) or not 0 <= self.opacity <= 1:  # NaN fails too
            raise InvalidSpec(f"Opacity must be between 0 and 1 (0 invisible, 1 opaque), not {self.opacity!r}.")
        if not isinstance(self.size, (int, float)) or not 0.02 <= self.size <= 1:
            raise InvalidSpec(f"Size must be between 0.02 and 1 of the frame, not {self.size!r}.")


def clean_text(text: str) -> str:
    """Strip surrounding whitespace; refuse empty, too long, or control/invisible characters (see module doc)."""
    text = text.strip()
    if not text:
        raise InvalidSpec("The watermark text is empty.")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidSpec(f"The watermark text is {len(text)} characters; at most {MAX_TEXT_LENGTH} are allowed.")
    for ch in text:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cs") or (category == "Cf" and ch not in ALLOWED_FORMAT_CHARS):
            raise InvalidSpec(f"The watermark text contains a control character (U+{ord(ch):04X}); "
                              "use a single line of visible characters.")
    return text


# --- rendering the mark --------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in FONT_PATHS:
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _text_mark(text: str, size: int) -> Image.Image:
    """White text with a dark outline (readable on any background), `size` px font, cropped tight."""
    font, stroke = _font(size), max(1, size // 16)
    left, top, right, bottom = ImageDraw.Draw(Image.new("L", (1, 1))).textbbox(
        (0, 0), text, font=font, stroke_width=stroke)
    mark = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(mark).text((-left, -top), text, font=font, fill=(255, 255, 255, 255),
                              stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
    return mark


def _mark(spec: WatermarkSpec, box: tuple[int, int]) -> Image.Image:
    """The mark scaled to fit `box`, its alpha multiplied by the opacity."""
    if spec.text is not None:
        # Measured at a reference size, then drawn again at the size it will have, so it stays sharp.
        mark = _text_mark(spec.text, 96)
        mark = _text_mark(spec.text, max(6, round(96 * min(box[0] / mark.width, box[1] / mark.height))))
    else:
        with _open_image(spec.logo, max_bytes=TELEGRAM_DOWNLOAD_LIMIT, max_pixels=MAX_LOGO_PIXELS) as logo:
            mark = ImageOps.exif_transpose(logo).convert("RGBA")
    scale = min(box[0] / mark.width, box[1] / mark.height)
    mark = mark.resize((max(1, round(mark.width * scale)), max(1, round(mark.height * scale))),
                       Image.Resampling.LANCZOS)
    if spec.opacity < 1:
        alpha = mark.getchannel("A").point(lambda a: round(a * spec.opacity))
        mark.putalpha(alpha)
    return mark


def render_layer(frame: tuple[int, int], spec: WatermarkSpec) -> Image.Image:
    """A transparent RGBA layer of `frame` size carrying the mark, ready to composite or to overlay in ffmpeg."""
    width, height = frame
    layer = Image.new("RGBA", frame, (0, 0, 0, 0))
    mark = _mark(spec, (max(1, round(width * spec.size)), max(1, round(height * spec.size))))
    if spec.tiled:
        # A brick pattern: every other row shifted by half a step, so the mark covers every part of the frame.
        step_x, step_y = round(mark.width * 1.5), round(mark.height * 2.5)
        for row in range(-1, math.ceil(height / step_y) + 1):
            shift = (step_x // 2) * (row % 2)
            for col in range(-1, math.ceil(width / step_x) + 1):
                x, y = col * step_x + shift, row * step_y
                if x + mark.width <= 0 or y + mark.height <= 0 or x >= width or y >= height:
                    continue
                # alpha_composite refuses negative destinations: a tile hanging off the top or left edge is
                # composited from its visible part onwards.
                layer.alpha_composite(mark, (max(0, x), max(0, y)), (max(0, -x), max(0, -y)))
        return layer
    margin = round(min(width, height) * 0.03)
    x = {"left": margin, "right": width - mark.width - margin}.get(spec.position.partition("-")[2],
                                                                    (width - mark.width) // 2)
    y = {"top": margin, "bottom": height - mark.height - margin}.get(spec.position.partition("-")[0],
                                                                      (height - mark.height) // 2)
    layer.alpha_composite(mark, (max(0, x), max(0, y)))
    return layer


# --- photos --------------------------------------------------------------------------------------------------

def _open_image(data: bytes, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open (not decode) an image, refusing non-images, other formats, animations and oversized ones."""
    if len(data) > max_bytes:
        raise ImageTooLarge(f"The image is {len(data) / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB "
                            "is accepted (the Telegram bot download limit).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # refused below, with our own limit
            image = Image.open(io.BytesIO(data), formats=sorted(PHOTO_FORMATS))
    except Image.DecompressionBombError:
        raise ImageTooLarge(f"The image has too many pixels; at most {max_pixels / 1e6:.0f} megapixels.") from None
    except (OSError, ValueError, SyntaxError):  # Pillow's UnidentifiedImageError is an OSError
        raise UnsupportedImage("This file is not a JPEG, PNG or WebP image.") from None
    if image.width * image.height > max_pixels:
        image.close()
        raise ImageTooLarge(f"The image is {image.width}x{image.height}; at most {max_pixels / 1e6:.0f} "
                            "megapixels are accepted.")
    if getattr(image, "n_frames", 1) > 1:
        image.close()
        raise UnsupportedImage("Animated images are not supported; send a still photo, or the animation as a video.")
    return image


def watermark_photo(data: bytes, spec: WatermarkSpec, *, max_bytes: int = TELEGRAM_DOWNLOAD_LIMIT,
                    max_pixels: int = MAX_PHOTO_PIXELS) -> bytes:
    """The photo with the mark, in the same format (JPEG at quality 90, PNG, WebP at quality 90).

    EXIF orientation is applied to the pixels; other metadata (EXIF, GPS included) is dropped, the colour
    profile kept. Transparency in PNG and WebP is kept.
    """
    with _open_image(data, max_bytes=max_bytes, max_pixels=max_pixels) as image:
        fmt = image.format
        # A CMYK or grey profile would be wrong on the RGB output.
        icc = image.info.get("icc_profile") if image.mode in ("RGB", "RGBA", "P", "PA") else None
        try:
            upright = ImageOps.exif_transpose(image)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            canvas = upright.convert("RGBA")
        except (OSError, ValueError, SyntaxError):
            raise UnsupportedImage("The image is damaged and could not be decoded.") from None
    canvas.alpha_composite(render_layer(canvas.size, spec))
    out = canvas if has_alpha and fmt != "JPEG" else canvas.convert("RGB")
    buf = io.BytesIO()
    options = {"icc_profile": icc} if icc else {}
    if fmt == "JPEG":
        out.save(buf, "JPEG", quality=90, optimize=False, **options)
    elif fmt == "WEBP":
        out.save(buf, "WEBP", quality=90, method=4, **options)
    else:
        out.save(buf, "PNG", compress_level=6, **options)
    return buf.getvalue()


# --- videos --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class VideoInfo:
    """What `ffmpeg -i` says about a file: display size (rotation applied), duration, first codecs."""

    width: int
    height: int
    duration: float
    video_codec: str
    audio_codec: str | None


def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped in the imageio-ffmpeg wheel (no system ffmpeg needed)."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.lru_cache(maxsize=4)
def video_encoder(exe: str) -> str:
    """libx264 where the binary has it (imageio-ffmpeg's does), otherwise ffmpeg's native mpeg4."""
    listing = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30)
    return "libx264" if re.search(r"^\s*V\S*\s+libx264\s", listing.stdout, re.M) else "mpeg4"


def _summarise(stderr: str, limit: int = 300) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    summary = " | ".join(lines[-3:])
    return summary if len(summary) <= limit else "..." + summary[-limit:]


def parse_probe(stderr: str) -> VideoInfo | None:
    """Parse `ffmpeg -i` output (ffprobe is not in the wheel). None when there is no video stream."""
    video = re.search(r"Stream #\d+:\d+\S*: Video: (\w+)(?!.*attached pic).*?, (\d{2,5})x(\d{2,5})\b", stderr)
    if not video:
        return None
    audio = re.search(r"Stream #\d+:\d+\S*: Audio: (\w+)", stderr)
    duration = re.search(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", stderr)
    seconds = (int(duration[1]) * 3600 + int(duration[2]) * 60 + float(duration[3])) if duration else math.nan
    width, height = int(video[2]), int(video[3])
    rotation = re.search(r"rotation of (-?\d+(?:\.\d+)?) degrees|rotate\s*:\s*(-?\d+)", stderr)
    if rotation and round(float(rotation[1] or rotation[2])) % 180 == 90:
        width, height = height, width  # ffmpeg auto-rotates on decode; the overlay must match what it sees
    return VideoInfo(width, height, seconds, video[1], audio[1] if audio else None)


def probe_video(path: str | os.PathLike, *, exe: str | None = None, timeout: float = 30) -> VideoInfo:
    """Size, duration and codecs of a video, refusing what ffmpeg cannot read."""
    args = [exe or ffmpeg_exe(), "-hide_banner", "-nostdin", "-format_whitelist", VIDEO_DEMUXERS,
            "-protocol_whitelist", "file", "-i", os.path.abspath(path)]
    try:
        result = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        raise UnsupportedVideo("Reading the video's header took too long; the file may be damaged.") from None
    info = parse_probe(result.stderr)
    if info is None:
        raise UnsupportedVideo("This file is not a video ffmpeg can read (MP4, MOV, MKV, WebM, AVI, TS, FLV): "
                               + _summarise(result.stderr, 200))
    if math.isnan(info.duration):
        raise UnsupportedVideo("The video's duration is unknown, so its length limit cannot be checked.")
    return info


def watermark_video(src_path: str | os.PathLike, dst_path: str | os.PathLike, spec: WatermarkSpec, *,
                    max_bytes: int = TELEGRAM_DOWNLOAD_LIMIT, max_seconds: float = MAX_VIDEO_SECONDS,
                    max_side: int = MAX_VIDEO_SIDE, timeout: float = FFMPEG_TIMEOUT,
                    exe: str | None = None) -> VideoInfo:
    """Write `src_path` with the mark to `dst_path` as MP4 (H.264, audio copied where MP4 holds it, faststart).

    Returns the output's `VideoInfo` (what a `send_video` needs). On any failure `dst_path` is removed.
    """
    exe = exe or ffmpeg_exe()
    size = os.path.getsize(src_path)
    if size > max_bytes:
        raise VideoTooLarge(f"The video is {size / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB is "
                            "accepted (the Telegram bot download limit).")
    info = probe_video(src_path, exe=exe)
    if info.duration > max_seconds:
        raise VideoTooLong(f"The video is {info.duration:.0f} s long; at most {max_seconds:.0f} s is accepted.")
    if max(info.width, info.height) > max_side:
        raise VideoTooLarge(f"The video is {info.width}x{info.height}; at most {max_side} px on the longer side.")
    # yuv420p needs even dimensions; an odd row or column is cropped rather than the video refused.
    frame = (info.width // 2 * 2, info.height // 2 * 2)

    with tempfile.TemporaryDirectory(prefix="watermark-") as tmp:
        layer_path = Path(tmp) / "mark.png"
        render_layer(frame, spec).save(layer_path, compress_level=1)
        source = ffmpeg.input(os.path.abspath(src_path), format_whitelist=VIDEO_DEMUXERS,
                              protocol_whitelist="file")
        video = source.video
        if frame != (info.width, info.height):
            video = video.filter("crop", frame[0], frame[1], 0, 0)
        video = video.overlay(ffmpeg.input(str(layer_path)), x=0, y=0)
        streams = [video] + ([source.audio] if info.audio_codec else [])
        encoder = video_encoder(exe)
        options = ({"vcodec": "libx264", "preset": "veryfast", "crf": 23} if encoder == "libx264"
                   else {"vcodec": "mpeg4", "q:v": 3})
        if info.audio_codec:
            options["acodec"] = "copy" if info.audio_codec in MP4_AUDIO else "aac"
        out = ffmpeg.output(*streams, os.path.abspath(dst_path), format="mp4", pix_fmt="yuv420p",
                            movflags="+faststart", **options)
        args = out.global_args("-hide_banner", "-nostdin", "-loglevel", "error").overwrite_output().compile(cmd=exe)
        try:
            result = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=timeout)
        except subprocess.TimeoutExpired:
            _remove(dst_path)
            raise VideoFailed(f"Watermarking took longer than {timeout:g} s and was stopped.") from None
        if result.returncode != 0:
            _remove(dst_path)
            raise VideoFailed(f"ffmpeg could not watermark the video: {_summarise(result.stderr)}")
    return probe_video(dst_path, exe=exe)


def _remove(path: str | os.PathLike) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
