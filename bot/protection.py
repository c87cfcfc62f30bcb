"""/watermark: the owner's mark (text or logo, position, opacity, tiling) and marking their photos and videos.

One flow, no conversation state: a photo, video or file sent with the caption `/watermark` (or `/watermark` sent
as a reply to one) comes back marked; `/watermark logo` as the caption of an image stores it as the owner's logo.
`/watermark` alone shows the settings with buttons; `/watermark text|position|opacity|tile ...` changes them.
The logo, once stored, is the mark; setting a text again replaces it (a mark is one or the other, as
`bot.watermark.WatermarkSpec` requires).

Paid plans only (`watermark` feature). Sizes are checked against what Telegram reports before anything is
downloaded: a bot may only download 20 MB (`getFile`), so a bigger file gets a reply, never a download attempt.
The image and video work (`bot.watermark`) runs in a thread; a video is marked in a temporary directory that is
removed whatever happens. A photo sent as a file comes back as a file, so Telegram does not recompress it. What
comes back must fit the Bot API's upload limits too (10 MB for sendPhoto, 50 MB for other files).
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from PIL import Image, ImageOps

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from analyticbot.entitlements import plan_in_force
from analyticbot.privacy import logo_path
from analyticbot.settings import Settings
from analyticbot.snapshot import SnapshotReader
from bot import jobs, watermark as wm
from bot.context import Account
from bot.i18n import fmt_decimal, t

MAX_TEXT = 64  # users.watermark_text is VARCHAR(64)
# Videos marked at once. ffmpeg takes a core per job; on two cores, several owners' videos at the same time would
# slow every reply of the bot, so the rest wait their turn (after "working on it") instead.
VIDEO_JOBS = 1
OPACITY_RANGE = (5, 100)
UPLOAD_LIMIT = 50 * 1024 * 1024  # Bot API: a bot may send files up to 50 MB (sendVideo, sendDocument)
PHOTO_UPLOAD_LIMIT = 10 * 1024 * 1024  # sendPhoto takes at most 10 MB; a bigger mark goes back as a file
LOGO_SIDE = 2048  # a stored logo is scaled down to this: a mark is at most a quarter of a 40 MP photo's width
DOWNLOAD_TIMEOUT = 120  # seconds
POSITION_WORDS = {"centre": "center", "middle": "center"}  # what owners type besides POSITIONS
ERROR_KEYS = {  # most specific first: the reply names the reason in the owner's language
    wm.ImageTooLarge: "watermark.error.image_too_large",
    wm.UnsupportedImage: "watermark.error.not_image",
    wm.VideoTooLarge: "watermark.error.video_too_large",
    wm.VideoTooLong: "watermark.error.video_too_long",
    wm.UnsupportedVideo: "watermark.error.not_video",
    wm.VideoFailed: "watermark.error.video_failed",
    wm.InvalidSpec: "watermark.error.spec",
}


@dataclass(frozen=True)
class MarkSettings:
    text: str | None
    position: str
    opacity: int  # percent
    tile: bool
    logo: Path | None  # the stored logo, when there is one

    def spec(self) -> wm.WatermarkSpec | None:
        """What to stamp, or None when the owner has set neither a text nor a logo."""
        common = dict(position=self.position, opacity=self.opacity / 100, tiled=self.tile)
        if self.logo is not None:
            return wm.WatermarkSpec(logo=self.logo.read_bytes(), **common)
        return wm.WatermarkSpec(text=self.text, **common) if self.text else None


@dataclass(frozen=True)
class Media:
    kind: str  # photo | image_document | video | other
    file_id: str
    size: int | None
    file_name: str | None


def _load(store: AppStore, snapshots: SnapshotReader, settings: Settings, user_id: int) -> tuple[MarkSettings, bool]:
    """The owner's settings and whether their plan allows watermarks (paid periods from the snapshot too)."""
    plan = plan_in_force(store, snapshots, user_id)
    with store.transaction() as s:
        user = s.get(User, user_id)
        logo = logo_path(settings.data_dir, user_id)
        marks = MarkSettings(user.watermark_text, user.watermark_position, user.watermark_opacity,
                             bool(user.watermark_tile), logo if logo.exists() else None)
        return marks, plan.allows("watermark")


def _save(store: AppStore, user_id: int, **values) -> None:
    with store.transaction() as s:
        user = s.get(User, user_id)
        for key, value in values.items():
            setattr(user, f"watermark_{key}", value)


def _store_logo(settings: Settings, user_id: int, data: bytes) -> None:
    """Validate the image as a logo (bot.watermark's checks), then keep it as PNG, written atomically."""
    wm.WatermarkSpec(logo=data)
    with Image.open(io.BytesIO(data)) as image:
        upright = ImageOps.exif_transpose(image).convert("RGBA")
    upright.thumbnail((LOGO_SIDE, LOGO_SIDE), Image.Resampling.LANCZOS)  # every mark reads and resizes it
    path = logo_path(settings.data_dir, user_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    upright.save(partial, "PNG")
    os.replace(partial, path)


def _drop_logo(settings: Settings, user_id: int) -> None:
    logo_path(settings.data_dir, user_id).unlink(missing_ok=True)


# -- words ----------------------------------------------------------------------------------------------------
def describe(marks: MarkSettings, lang: str) -> str:
    mark = (t("watermark.mark.logo", lang) if marks.logo is not None
            else f"«{marks.text}»" if marks.text else t("watermark.mark.none", lang))
    return t("watermark.settings", lang, mark=mark, position=t(f"watermark.pos.{marks.position}", lang),
             opacity=marks.opacity, tile=t("watermark.on" if marks.tile else "watermark.off", lang)) + \
        "\n\n" + usage(lang)


def usage(lang: str) -> str:
    return t("watermark.usage", lang, mb=wm.TELEGRAM_DOWNLOAD_LIMIT // 2**20, seconds=int(wm.MAX_VIDEO_SECONDS))


def keyboard(marks: MarkSettings, lang: str) -> InlineKeyboardMarkup:
    positions = [InlineKeyboardButton(text=("• " if p == marks.position else "") + t(f"watermark.pos.{p}", lang),
                                      callback_data=f"wm:pos:{p}") for p in wm.POSITIONS]
    tile = InlineKeyboardButton(text=t("watermark.button.tile_off" if marks.tile else "watermark.button.tile_on",
                                       lang), callback_data=f"wm:tile:{'off' if marks.tile else 'on'}")
    return InlineKeyboardMarkup(inline_keyboard=[positions[:2], positions[2:4], [positions[4], tile]])


def error_text(error: wm.WatermarkError, lang: str) -> str:
    key = next((k for cls, k in ERROR_KEYS.items() if isinstance(error, cls)), "watermark.error.spec")
    return t(key, lang, mb=wm.TELEGRAM_DOWNLOAD_LIMIT // 2**20, seconds=int(wm.MAX_VIDEO_SECONDS),
             megapixels=wm.MAX_PHOTO_PIXELS // 1_000_000, side=wm.MAX_VIDEO_SIDE)


# -- handlers -------------------------------------------------------------------------------------------------
def media_of(message: Message) -> Media | None:
    if message.photo:
        p = message.photo[-1]  # the largest size Telegram made
        return Media("photo", p.file_id, p.file_size, None)
    video = message.video or message.animation
    if video:
        return Media("video", video.file_id, video.file_size, getattr(video, "file_name", None))
    if message.document:
        d = message.document
        mime = (d.mime_type or "").lower()
        kind = "image_document" if mime.startswith("image/") else "video" if mime.startswith("video/") else "other"
        return Media(kind, d.file_id, d.file_size, d.file_name)
    return None


async def watermark_command(message: Message, command: CommandObject, bot: Bot, store: AppStore,
                            snapshots: SnapshotReader, settings: Settings, account: Account | None,
                            lang: str) -> None:
    if account is None:
        await message.answer(t("watermark.need_start", lang))
        return
    marks, allowed = await asyncio.to_thread(_load, store, snapshots, settings, account.user_id)
    if not allowed:
        await message.answer(t("watermark.paid_only", lang))
        return
    # split(None, 1): `/watermark text` followed by a newline or several spaces is still the text verb
    verb, rest = ((command.args or "").split(None, 1) + ["", ""])[:2]
    verb, rest = verb.lower(), rest.strip()
    # The media is in this message, or in the one it answers (an owner who sent the photo first, then /watermark)
    media = media_of(message) or (media_of(message.reply_to_message) if message.reply_to_message else None)
    if verb == "logo":
        await _logo(message, bot, settings, account.user_id, media, lang)
    elif media is not None and not verb:
        await _mark_media(message, bot, marks, media, lang)
    elif not verb:
        await message.answer(describe(marks, lang), reply_markup=keyboard(marks, lang))
    else:
        await _change(message, store, settings, account.user_id, verb, rest, lang)


async def _change(message: Message, store: AppStore, settings: Settings, user_id: int, verb: str, value: str,
                  lang: str) -> None:
    if verb == "text":
        try:
            text = wm.clean_text(value)
        except wm.InvalidSpec:
            text = None
        if text is None or len(text) > MAX_TEXT:
            await message.answer(t("watermark.error.text", lang, limit=MAX_TEXT))
            return
        await asyncio.to_thread(_save, store, user_id, text=text)
        await asyncio.to_thread(_drop_logo, settings, user_id)  # the newest choice is the mark
    elif verb == "position" and _position(value) is not None:
        await asyncio.to_thread(_save, store, user_id, position=_position(value))
    elif verb == "opacity" and _opacity(value) is not None:
        await asyncio.to_thread(_save, store, user_id, opacity=_opacity(value))
    elif verb == "tile" and value.lower() in ("on", "off"):
        await asyncio.to_thread(_save, store, user_id, tile=value.lower() == "on")
    else:
        await message.answer(t("watermark.error.usage", lang) + "\n\n" + usage(lang))
        return
    await message.answer(t("watermark.saved", lang))


def _position(value: str) -> str | None:
    """`bottom-right`, `bottom right`, `Bottom_Right`, `centre`: one of POSITIONS, or None."""
    word = "-".join(value.lower().replace("_", " ").replace("-", " ").split())
    word = POSITION_WORDS.get(word, word)
    return word if word in wm.POSITIONS else None


def _opacity(value: str) -> int | None:
    """`40` or `40%` within OPACITY_RANGE, else None. ASCII digits only: str.isdigit() also accepts `²`, which
    int() refuses."""
    digits = value.strip().removesuffix("%").strip()
    if not digits.isascii() or not digits.isdecimal() or len(digits) > 3:
        return None
    return int(digits) if OPACITY_RANGE[0] <= int(digits) <= OPACITY_RANGE[1] else None


async def _download(bot: Bot, media: Media, lang: str, message: Message, destination) -> bool:
    """Download within Telegram's limit, checked before asking for the file and again from getFile's answer."""
    limit = wm.TELEGRAM_DOWNLOAD_LIMIT
    if media.size is not None and media.size > limit:
        await message.answer(_too_big(media.size, lang))
        return False
    try:
        file = await bot.get_file(media.file_id)
    except TelegramBadRequest as e:  # "file is too big" when Telegram did not report a size in the message
        await message.answer(_too_big(None, lang) if "too big" in e.message.lower()
                             else t("watermark.error.download", lang))
        return False
    if file.file_path is None or (file.file_size or 0) > limit:
        await message.answer(_too_big(file.file_size, lang) if (file.file_size or 0) > limit
                             else t("watermark.error.download", lang))
        return False
    try:
        # aiogram's default is 30 s, short for 20 MB on a slow link to the Bot API
        await bot.download_file(file.file_path, destination=destination, timeout=DOWNLOAD_TIMEOUT)
    except (aiohttp.ClientError, asyncio.TimeoutError):  # what the file download raises (not a Bot API call)
        await message.answer(t("watermark.error.download", lang))
        return False
    return True


def _too_big(size: int | None, lang: str) -> str:
    limit = wm.TELEGRAM_DOWNLOAD_LIMIT // 2**20
    shown = fmt_decimal(size / 2**20, lang, 1) if size else f"> {limit}"
    return t("watermark.error.file_too_big", lang, mb=limit, size=shown)


def _result_too_big(lang: str) -> str:
    return t("watermark.error.result_too_big", lang, limit=UPLOAD_LIMIT // 2**20)


async def _mark_media(message: Message, bot: Bot, marks: MarkSettings, media: Media, lang: str) -> None:
    if media.kind == "other":
        await message.answer(t("watermark.error.not_media", lang))
        return
    try:
        spec = await asyncio.to_thread(marks.spec)
    except wm.WatermarkError as e:  # a stored logo or text that no longer passes (e.g. deleted by hand)
        await message.answer(error_text(e, lang))
        return
    if spec is None:
        await message.answer(t("watermark.no_mark", lang))
        return
    try:
        if media.kind == "video":
            await _mark_video(message, bot, spec, media, lang)
        else:
            await _mark_photo(message, bot, spec, media, lang)
    except wm.WatermarkError as e:
        await message.answer(error_text(e, lang))


async def _mark_photo(message: Message, bot: Bot, spec: wm.WatermarkSpec, media: Media, lang: str) -> None:
    buf = io.BytesIO()
    if not await _download(bot, media, lang, message, buf):
        return
    as_file = media.kind == "image_document"
    await bot.send_chat_action(message.chat.id, "upload_document" if as_file else "upload_photo")
    marked = await asyncio.to_thread(wm.watermark_photo, buf.getvalue(), spec)
    if len(marked) > UPLOAD_LIMIT:
        await message.answer(_result_too_big(lang))
        return
    if not as_file and len(marked) > PHOTO_UPLOAD_LIMIT:
        as_file = True  # sendPhoto would refuse it; as a file it arrives intact
    if as_file:
        name = Path(media.file_name or "image").stem + "_watermarked" + _suffix(marked)
        await message.answer_document(BufferedInputFile(marked, filename=name))
    else:
        await message.answer_photo(BufferedInputFile(marked, filename="watermarked.jpg"))


def _suffix(image: bytes) -> str:
    with Image.open(io.BytesIO(image)) as im:
        return {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}.get(im.format, ".png")


async def _mark_video(message: Message, bot: Bot, spec: wm.WatermarkSpec, media: Media, lang: str) -> None:
    with tempfile.TemporaryDirectory(prefix="analyticbot-wm-") as tmp:
        src, dst = Path(tmp) / "source", Path(tmp) / "marked.mp4"
        if not await _download(bot, media, lang, message, src):
            return
        await message.answer(t("watermark.working", lang))
        await bot.send_chat_action(message.chat.id, "upload_video")
        async with jobs.slot("video", VIDEO_JOBS):
            info = await asyncio.to_thread(wm.watermark_video, src, dst, spec)
        # A 20 MB source re-encoded at CRF 23 can come out far larger (a 4K HEVC clip, say); Telegram would
        # answer 413 to the upload.
        if dst.stat().st_size > UPLOAD_LIMIT:
            await message.answer(_result_too_big(lang))
            return
        data = await asyncio.to_thread(dst.read_bytes)
    await message.answer_video(BufferedInputFile(data, filename="watermarked.mp4"), width=info.width,
                               height=info.height, duration=round(info.duration), supports_streaming=True)


async def _logo(message: Message, bot: Bot, settings: Settings, user_id: int, media: Media | None,
                lang: str) -> None:
    if media is None or media.kind not in ("photo", "image_document"):
        await message.answer(t("watermark.logo_how", lang))
        return
    buf = io.BytesIO()
    if not await _download(bot, media, lang, message, buf):
        return
    try:
        await asyncio.to_thread(_store_logo, settings, user_id, buf.getvalue())
    except wm.WatermarkError as e:
        await message.answer(error_text(e, lang))
        return
    await message.answer(t("watermark.logo_saved", lang))


async def settings_button(query: CallbackQuery, store: AppStore, snapshots: SnapshotReader, settings: Settings,
                          account: Account | None, lang: str) -> None:
    _, field, value = (query.data.split(":") + ["", ""])[:3]
    if account is None:
        await query.answer()
        return
    marks, allowed = await asyncio.to_thread(_load, store, snapshots, settings, account.user_id)
    if not allowed:
        await query.answer(t("watermark.paid_only", lang), show_alert=True)
        return
    if field == "pos" and value in wm.POSITIONS:
        change = {"position": value} if value != marks.position else {}
    elif field == "tile" and value in ("on", "off"):
        change = {"tile": value == "on"} if (value == "on") != marks.tile else {}
    else:  # a stale or forged button
        await query.answer()
        return
    if not change:  # a second tap on the same button: Telegram refuses an edit that changes nothing
        await query.answer()
        return
    await asyncio.to_thread(_save, store, account.user_id, **change)
    marks, _ = await asyncio.to_thread(_load, store, snapshots, settings, account.user_id)
    await query.answer(t("watermark.saved", lang))
    if isinstance(query.message, Message):  # an InaccessibleMessage (too old) cannot be edited
        try:
            await query.message.edit_text(describe(marks, lang), reply_markup=keyboard(marks, lang))
        except TelegramBadRequest:  # the settings message was deleted meanwhile: the change is saved anyway
            pass


def router() -> Router:
    r = Router(name="protection")
    r.message.register(watermark_command, Command("watermark"))
    r.callback_query.register(settings_button, F.data.startswith("wm:"))
    return r
