"""/watermark: the owner's mark (text or logo, position, opacity, tiling) and marking their photos and videos.

One flow, no conversation state: a photo, video or file sent with the caption `/watermark` comes back marked;
`/watermark logo` as the caption of an image stores it as the owner's logo. `/watermark` alone shows the
settings with buttons; `/watermark text|position|opacity|tile ...` changes them. The logo, once stored, is the
mark; setting a text again replaces it (a mark is one or the other, as `bot.watermark.WatermarkSpec` requires).

Paid plans only (`watermark` feature). Sizes are checked against what Telegram reports before anything is
downloaded: a bot may only download 20 MB (`getFile`), so a bigger file gets a reply, never a download attempt.
The image and video work (`bot.watermark`) runs in a thread; a video is marked in a temporary directory that is
removed whatever happens. A photo sent as a file comes back as a file, so Telegram does not recompress it.
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from PIL import Image, ImageOps

from analyticbot.appstore.db import AppStore
from analyticbot.appstore.models import User
from analyticbot.entitlements import plan_in_force
from analyticbot.privacy import logo_path
from analyticbot.settings import Settings
from analyticbot.snapshot import SnapshotReader
from bot import watermark as wm
from bot.context import Account
from bot.i18n import t

MAX_TEXT = 64  # users.watermark_text is VARCHAR(64)
OPACITY_RANGE = (5, 100)
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
        "\n\n" + t("watermark.usage", lang)


def keyboard(marks: MarkSettings, lang: str) -> InlineKeyboardMarkup:
    positions = [InlineKeyboardButton(text=("• " if p == marks.position else "") + t(f"watermark.pos.{p}", lang),
                                      callback_data=f"wm:pos:{p}") for p in wm.POSITIONS]
    tile = InlineKeyboardButton(text=t("watermark.button.tile_off" if marks.tile else "watermark.button.tile_on",
                                       lang), callback_data=f"wm:tile:{'off' if marks.tile else 'on'}")
    return InlineKeyboardMarkup(inline_keyboard=[positions[:2], positions[2:4], [positions[4], tile]])


def error_text(error: wm.WatermarkError, lang: str) -> str:
    key = next((k for cls, k in ERROR_KEYS.items() if isinstance(error, cls)), "watermark.error.spec")
    return t(key, lang, mb=wm.TELEGRAM_DOWNLOAD_LIMIT // 2**20, seconds=int(wm.MAX_VIDEO_SECONDS))


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
    verb, _, rest = (command.args or "").strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    media = media_of(message)
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
    elif verb == "position" and value.lower() in wm.POSITIONS:
        await asyncio.to_thread(_save, store, user_id, position=value.lower())
    elif verb == "opacity" and value.rstrip("%").isdigit() and \
            OPACITY_RANGE[0] <= int(value.rstrip("%")) <= OPACITY_RANGE[1]:
        await asyncio.to_thread(_save, store, user_id, opacity=int(value.rstrip("%")))
    elif verb == "tile" and value.lower() in ("on", "off"):
        await asyncio.to_thread(_save, store, user_id, tile=value.lower() == "on")
    else:
        await message.answer(t("watermark.error.usage", lang) + "\n\n" + t("watermark.usage", lang))
        return
    await message.answer(t("watermark.saved", lang))


async def _download(bot: Bot, media: Media, lang: str, message: Message, destination) -> bool:
    """Download within Telegram's limit, checked before asking for the file and again from getFile's answer."""
    limit = wm.TELEGRAM_DOWNLOAD_LIMIT
    if media.size is not None and media.size > limit:
        await message.answer(t("watermark.error.file_too_big", lang, mb=limit // 2**20,
                               size=f"{media.size / 2**20:.0f}"))
        return False
    file = await bot.get_file(media.file_id)
    if file.file_path is None or (file.file_size or 0) > limit:
        await message.answer(t("watermark.error.file_too_big", lang, mb=limit // 2**20,
                               size=f"{(file.file_size or 0) / 2**20:.0f}"))
        return False
    await bot.download_file(file.file_path, destination=destination)
    return True


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
        info = await asyncio.to_thread(wm.watermark_video, src, dst, spec)
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
        await asyncio.to_thread(_save, store, account.user_id, position=value)
    elif field == "tile" and value in ("on", "off"):
        await asyncio.to_thread(_save, store, account.user_id, tile=value == "on")
    else:  # a stale or forged button
        await query.answer()
        return
    marks, _ = await asyncio.to_thread(_load, store, snapshots, settings, account.user_id)
    await query.answer(t("watermark.saved", lang))
    if query.message is not None:
        await query.message.edit_text(describe(marks, lang), reply_markup=keyboard(marks, lang))


def router() -> Router:
    r = Router(name="protection")
    r.message.register(watermark_command, Command("watermark"))
    r.callback_query.register(settings_button, F.data.startswith("wm:"))
    return r
