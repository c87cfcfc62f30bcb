"""/watermark through the real dispatcher: settings, marking real photos (Pillow) and videos (the imageio-ffmpeg
binary), the logo, and every refusal (free plan, oversized files, non-images, bad settings) in each language.

Telegram is faked at the session (tests/bot/fake_telegram.py): the photo or video a handler sends back is the
bytes it uploaded, decoded here with Pillow or ffmpeg.
"""

from __future__ import annotations

import asyncio
import io
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import aiohttp
import imageio_ffmpeg
import numpy as np
import pytest
from aiogram.types import Update
from PIL import Image

from analyticbot.appstore.models import Order, User
from analyticbot.payments.ledger import utcnow
from analyticbot.privacy import logo_path
from bot import protection
from bot import watermark as wm
from bot.app import create_dispatcher
from bot.i18n import LANGS, t
from tests.bot.fake_telegram import (T0, FakeTelegramSession, chat_json, error, make_bot, private_message,
                                     user_json)
from tests.bot.test_onboarding import callback
from tests.bot.test_watermark import CORNERS, encode, gradient, pixels
from tests.bot.test_watermark import region_change as change

OWNER = 1001
W, H = 320, 240
_update_ids = iter(range(5_000_000, 6_000_000))


# -- Telegram side ---------------------------------------------------------------------------------------------
def media_message(kind: str, file_id: str, *, caption: str | None = "/watermark", user_id: int = OWNER,
                  language_code: str | None = "en", file_size: int | None = None, mime: str | None = None,
                  file_name: str | None = None, reply_to: dict | None = None, message_id: int = 10) -> Update:
    """A private message carrying a photo, video or document, as Telegram delivers it (caption entities too)."""
    message = {"message_id": message_id, "date": int(T0), "chat": chat_json(user_id, "private"),
               "from": user_json(user_id, language_code=language_code)}
    sized = {"file_size": file_size} if file_size is not None else {}
    if kind == "photo":
        message["photo"] = [{"file_id": f"{file_id}_small", "file_unique_id": "s", "width": 90, "height": 67},
                            {"file_id": file_id, "file_unique_id": "b", "width": W, "height": H, **sized}]
    elif kind == "video":
        message["video"] = {"file_id": file_id, "file_unique_id": "v", "width": W, "height": H, "duration": 1,
                            "mime_type": mime or "video/mp4", **sized}
    else:
        message["document"] = {"file_id": file_id, "file_unique_id": "d", "file_name": file_name or "file.bin",
                               "mime_type": mime or "application/octet-stream", **sized}
    if caption is not None:
        message["caption"] = caption
        if caption.startswith("/"):
            message["caption_entities"] = [{"type": "bot_command", "offset": 0,
                                            "length": len(caption.split()[0])}]
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return Update.model_validate({"update_id": next(_update_ids), "message": message})


class Owner:
    """One chat with the bot: the real dispatcher over a fake Telegram session, on the test's store."""

    def __init__(self, store, *, lang: str = "en", paid: bool = True, registered: bool = True,
                 user_id: int = OWNER):
        self.store, self.lang, self.user_id = store, lang, user_id
        self.session = FakeTelegramSession()
        self.bot, self.dp = make_bot(self.session), create_dispatcher(store)
        with store.transaction() as s:
            if registered:
                s.add(User(user_id=user_id, language=lang, time_zone="UTC"))
            if paid:  # a Payme order paid yesterday: Pro for a month (what the webhook receiver records)
                yesterday = utcnow() - timedelta(days=1)
                s.add(Order(user_id=user_id, plan_code="pro_month", gateway="payme", amount_tiyin=11_500_000,
                            currency="UZS", status="paid", created_at=yesterday, paid_at=yesterday))

    def feed(self, update: Update) -> list:
        before = len(self.session.calls)
        asyncio.run(self.dp.feed_update(self.bot, update))
        return self.session.calls[before:]

    def say(self, text: str, **kw) -> list[str]:
        """Send a text message; the texts the bot answered."""
        calls = self.feed(private_message(text, user_id=self.user_id, language_code=kw.pop("language_code",
                                                                                           self.lang), **kw))
        return [c.method.text for c in calls if c.name == "sendMessage"]

    def send(self, kind: str, file_id: str, data: bytes | None = None, **kw) -> list:
        if data is not None:
            self.session.add_file(file_id, data)
        kw.setdefault("language_code", self.lang)
        return self.feed(media_message(kind, file_id, user_id=self.user_id, **kw))

    def user(self) -> User:
        with self.store.transaction() as s:
            u = s.get(User, self.user_id)
            return User(watermark_text=u.watermark_text, watermark_position=u.watermark_position,
                        watermark_opacity=u.watermark_opacity, watermark_tile=u.watermark_tile)


def texts(calls: list) -> list[str]:
    return [c.method.text for c in calls if c.name == "sendMessage"]


def only(calls: list, name: str):
    [call] = [c for c in calls if c.name == name]
    return call


# -- real media --------------------------------------------------------------------------------------------------
def assert_marked_only_at(before: np.ndarray, after: np.ndarray, position: str) -> None:
    assert after.shape == before.shape
    for name, box in CORNERS.items():
        if name == position:
            assert change(before, after, box) > 4, name  # white text at 50% opacity on a quarter of the box
        else:
            assert change(before, after, box) < 2, name


PHOTO = encode(gradient(W, H), "JPEG", quality=95)  # small: the bench measures 1080p


def make_video(tmp_path: Path, seconds: float = 1.0) -> bytes:
    """A short H.264 + AAC MP4 of one flat colour, made with the same ffmpeg binary the bot uses."""
    out = tmp_path / "clip.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"color=c=0x406080:s={W}x{H}:r=10:d={seconds}",
                    "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    str(out)], check=True, timeout=60)
    return out.read_bytes()


def first_frame(video: bytes, tmp_path: Path) -> np.ndarray:
    """Decode the first frame with ffmpeg (what a player would show)."""
    path = tmp_path / "returned.mp4"
    path.write_bytes(video)
    raw = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         check=True, capture_output=True, timeout=60).stdout
    return np.frombuffer(raw, np.uint8).reshape(H, W, 3).astype(np.int16)


# -- settings ------------------------------------------------------------------------------------------------------
def test_watermark_is_registered_and_listed_in_help():
    from bot.app import COMMANDS

    assert "watermark" in COMMANDS
    for lang in LANGS:
        assert "/watermark" in t("help.text", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_settings_are_shown_and_changed_in_the_owners_language(store, lang):
    owner = Owner(store, lang=lang)
    calls = owner.feed(private_message("/watermark", user_id=OWNER, language_code=lang))
    shown = only(calls, "sendMessage").method
    assert shown.text.startswith(t("watermark.settings", lang, mark=t("watermark.mark.none", lang),
                                   position=t("watermark.pos.bottom-right", lang), opacity=50,
                                   tile=t("watermark.off", lang)))
    buttons = [b.callback_data for row in shown.reply_markup.inline_keyboard for b in row]
    assert buttons == [f"wm:pos:{p}" for p in wm.POSITIONS] + ["wm:tile:on"]

    saved = [t("watermark.saved", lang)]
    assert owner.say("/watermark text © @my_channel") == saved
    assert owner.say("/watermark position Top Left") == saved  # spaces and capitals are understood
    assert owner.say("/watermark opacity 80%") == saved
    assert owner.say("/watermark tile on") == saved
    u = owner.user()
    assert (u.watermark_text, u.watermark_position, u.watermark_opacity, u.watermark_tile) == (
        "© @my_channel", "top-left", 80, True)
    [text] = owner.say("/watermark")
    assert text.startswith(t("watermark.settings", lang, mark="«© @my_channel»",
                             position=t("watermark.pos.top-left", lang), opacity=80, tile=t("watermark.on", lang)))


BAD_SETTINGS = ["/watermark position upper-left", "/watermark opacity 150", "/watermark opacity 4",
                "/watermark opacity ²", "/watermark opacity half", "/watermark tile maybe", "/watermark position",
                "/watermark colour red"]
BAD_TEXTS = ["abc\x1b[31mred", "two\nlines", "tab\there", "rtl\u202eevil", "x" * 65, "   "]


@pytest.mark.parametrize("lang", LANGS)
def test_bad_settings_get_the_usage_and_change_nothing(store, lang):
    owner = Owner(store, lang=lang)
    for bad in BAD_SETTINGS:
        [reply] = owner.say(bad)
        assert reply == t("watermark.error.usage", lang) + "\n\n" + protection.usage(lang), bad
    assert "/watermark opacity" in reply and "/watermark tile" in reply
    u = owner.user()
    assert (u.watermark_position, u.watermark_opacity, u.watermark_tile) == ("bottom-right", 50, False)


@pytest.mark.parametrize("lang", LANGS)
def test_text_with_control_characters_or_too_long_is_refused(store, lang):
    owner = Owner(store, lang=lang)
    assert owner.say("/watermark text ok") == [t("watermark.saved", lang)]
    for text in BAD_TEXTS:
        assert owner.say(f"/watermark text {text}") == [t("watermark.error.text", lang, limit=protection.MAX_TEXT)]
    assert owner.user().watermark_text == "ok"  # the old mark stays


def test_text_after_a_line_break_or_several_spaces_is_still_the_text(store):
    owner = Owner(store)
    assert owner.say("/watermark  text   @chan  ") == [t("watermark.saved", "en")]
    assert owner.user().watermark_text == "@chan"
    # the verb on its own line: what follows is the text (its own line break inside would be refused)
    assert owner.say("/watermark text\n@other") == [t("watermark.saved", "en")]
    assert owner.user().watermark_text == "@other"


def test_buttons_change_position_and_tiling_and_ignore_repeats_and_forgeries(store):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    calls = owner.feed(callback("wm:pos:top-left"))
    assert only(calls, "answerCallbackQuery").method.text == t("watermark.saved", "en")
    edited = only(calls, "editMessageText").method
    assert t("watermark.pos.top-left", "en") in edited.text
    assert "• " + t("watermark.pos.top-left", "en") in [b.text for row in edited.reply_markup.inline_keyboard
                                                          for b in row]
    calls = owner.feed(callback("wm:tile:on"))
    assert only(calls, "editMessageText").method.reply_markup.inline_keyboard[-1][-1].callback_data == "wm:tile:off"
    assert (owner.user().watermark_position, owner.user().watermark_tile) == ("top-left", True)
    # the same button again changes nothing, so nothing is edited (Telegram refuses an unchanged edit)
    calls = owner.feed(callback("wm:pos:top-left"))
    assert [c.name for c in calls] == ["answerCallbackQuery"]
    for forged in ("wm:pos:../../etc", "wm:tile:maybe", "wm:", "wm:opacity:1"):
        calls = owner.feed(callback(forged))
        assert [c.name for c in calls] == ["answerCallbackQuery"] and calls[0].method.text is None
    assert (owner.user().watermark_position, owner.user().watermark_tile) == ("top-left", True)


# -- marking photos ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("position", ["bottom-right", "top-left"])
def test_a_photo_comes_back_marked_in_the_chosen_corner(store, position):
    owner = Owner(store)
    owner.say("/watermark text @my_channel")
    owner.say("/watermark opacity 100")
    owner.say(f"/watermark position {position}")
    calls = owner.send("photo", "ph1", PHOTO)
    assert [c.method.file_id for c in calls if c.name == "getFile"] == ["ph1"]  # the largest size, not a thumb
    sent = only(calls, "sendPhoto").method
    assert sent.chat_id == OWNER
    assert_marked_only_at(pixels(PHOTO), pixels(sent.photo.data), position)
    assert texts(calls) == []  # no error reply


def test_tiled_mark_covers_the_whole_photo(store):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    owner.say("/watermark tile on")
    sent = only(owner.send("photo", "ph1", PHOTO), "sendPhoto").method
    before, after = pixels(PHOTO), pixels(sent.photo.data)
    for name, box in CORNERS.items():
        assert change(before, after, box) > 3, name


def test_replying_watermark_to_a_photo_marks_that_photo(store):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    owner.session.add_file("ph_earlier", PHOTO)
    earlier = media_message("photo", "ph_earlier", caption=None, message_id=3).message.model_dump(
        mode="json", exclude_none=True)
    update = private_message("/watermark", user_id=OWNER).model_dump(mode="json", exclude_none=True)
    update["message"]["reply_to_message"] = earlier
    calls = owner.feed(Update.model_validate(update))
    assert_marked_only_at(pixels(PHOTO), pixels(only(calls, "sendPhoto").method.photo.data), "bottom-right")


def test_an_image_file_comes_back_as_a_file_in_its_format_with_transparency(store):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    owner.say("/watermark opacity 100")
    rgba = gradient(W, H).convert("RGBA")
    rgba.putalpha(200)
    png = encode(rgba, "PNG")
    calls = owner.send("document", "doc1", png, mime="image/png", file_name="poster.png")
    doc = only(calls, "sendDocument").method.document
    assert doc.filename == "poster_watermarked.png"
    with Image.open(io.BytesIO(doc.data)) as out:
        assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (W, H))
    assert_marked_only_at(pixels(png), pixels(doc.data), "bottom-right")
    assert not owner.session.called("sendPhoto")  # a file is not recompressed as a photo


@pytest.mark.parametrize("lang", LANGS)
def test_a_photo_before_any_mark_asks_for_one_and_downloads_nothing(store, lang):
    owner = Owner(store, lang=lang)
    calls = owner.send("photo", "ph1", PHOTO)
    assert texts(calls) == [t("watermark.no_mark", lang)]
    assert not owner.session.called("getFile")


# -- the logo ------------------------------------------------------------------------------------------------------
def test_a_logo_becomes_the_mark_and_a_new_text_replaces_it(store):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    owner.say("/watermark opacity 100")
    logo = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    logo.paste((230, 20, 20, 255), (10, 10, 110, 50))  # a red bar on a transparent background
    calls = owner.send("document", "logo1", encode(logo, "PNG"), caption="/watermark logo", mime="image/png",
                       file_name="logo.png")
    assert texts(calls) == [t("watermark.logo_saved", "en")]
    stored = logo_path(store.settings.data_dir, OWNER)
    with Image.open(stored) as kept:
        assert (kept.format, kept.mode, kept.size) == ("PNG", "RGBA", (120, 60))
    [shown] = owner.say("/watermark")
    assert shown.startswith(t("watermark.settings", "en", mark=t("watermark.mark.logo", "en"),
                              position=t("watermark.pos.bottom-right", "en"), opacity=100,
                              tile=t("watermark.off", "en")))

    marked = pixels(only(owner.send("photo", "ph1", PHOTO), "sendPhoto").method.photo.data)
    before = pixels(PHOTO)
    assert_marked_only_at(before, marked, "bottom-right")
    h, w = before.shape[:2]
    corner = marked[int(0.7 * h):, int(0.7 * w):]
    assert ((corner[..., 0] > 200) & (corner[..., 1] < 60)).sum() > 200  # the red of the logo, not white text

    assert owner.say("/watermark text @back") == [t("watermark.saved", "en")]
    assert not stored.exists()
    [shown] = owner.say("/watermark")
    assert "«@back»" in shown


@pytest.mark.parametrize("lang", LANGS)
def test_logo_needs_an_image(store, lang):
    owner = Owner(store, lang=lang)
    assert owner.say("/watermark logo") == [t("watermark.logo_how", lang)]
    calls = owner.send("document", "pdf1", b"%PDF-1.4 not an image", caption="/watermark logo",
                       mime="application/pdf", file_name="logo.pdf")
    assert texts(calls) == [t("watermark.logo_how", lang)]
    calls = owner.send("document", "fake1", b"GIF89a? no, plain text", caption="/watermark logo",
                       mime="image/png", file_name="logo.png")
    assert texts(calls) == [protection.error_text(wm.UnsupportedImage("x"), lang)]
    assert texts(calls) == [t("watermark.error.not_image", lang)]
    assert not logo_path(store.settings.data_dir, OWNER).exists()


def test_a_huge_logo_is_kept_small(store):
    owner = Owner(store)
    big = Image.new("RGBA", (2200, 1100), (0, 128, 255, 255))
    owner.send("document", "big", encode(big, "PNG"), caption="/watermark logo", mime="image/png")
    with Image.open(logo_path(store.settings.data_dir, OWNER)) as kept:
        assert kept.size == (protection.LOGO_SIDE, protection.LOGO_SIDE // 2)


# -- videos ----------------------------------------------------------------------------------------------------
def test_a_video_comes_back_marked_and_playable(store, tmp_path):
    owner = Owner(store)
    owner.say("/watermark text @my_channel")
    owner.say("/watermark opacity 100")
    clip = make_video(tmp_path)
    calls = owner.send("video", "vid1", clip, file_size=len(clip))
    assert texts(calls) == [t("watermark.working", "en")]
    sent = only(calls, "sendVideo").method
    assert (sent.width, sent.height, sent.duration, sent.supports_streaming) == (W, H, 1, True)
    returned = tmp_path / "out.mp4"
    returned.write_bytes(sent.video.data)
    info = wm.probe_video(returned)  # ffmpeg reads it back: H.264 with the audio kept
    assert (info.width, info.height, info.video_codec, info.audio_codec) == (W, H, "h264", "aac")
    assert 0.8 < info.duration < 1.3
    before = np.full((H, W, 3), (0x40, 0x60, 0x80), np.int16)
    assert_marked_only_at(before, first_frame(sent.video.data, tmp_path), "bottom-right")


def test_a_video_file_is_marked_and_a_broken_one_gets_a_reply(store, tmp_path):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    clip = make_video(tmp_path, 0.5)
    calls = owner.send("document", "viddoc", clip, mime="video/mp4", file_name="clip.mp4")
    assert only(calls, "sendVideo").method.video.data[4:8] == b"ftyp"
    calls = owner.send("video", "broken", b"\x00\x00\x00\x18ftypmp42 but nothing else")
    assert texts(calls)[-1] == t("watermark.error.not_video", "en")
    assert not [c for c in calls if c.name == "sendVideo"]


# -- refusals ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_free_plan_is_refused_and_nothing_is_downloaded(store, lang):
    owner = Owner(store, lang=lang, paid=False)
    with store.transaction() as s:
        s.get(User, OWNER).watermark_text = "@chan"
    for calls in (owner.send("photo", "ph1", PHOTO), owner.send("video", "v1", b"x" * 100),
                  owner.feed(private_message("/watermark", language_code=lang)),
                  owner.feed(private_message("/watermark text @new", language_code=lang))):
        assert texts(calls) == [t("watermark.paid_only", lang)]
    assert not owner.session.called("getFile") and not owner.session.called("sendPhoto")
    assert owner.user().watermark_text == "@chan"
    calls = owner.feed(callback("wm:pos:center", language_code=lang))
    assert only(calls, "answerCallbackQuery").method.text == t("watermark.paid_only", lang)
    assert owner.user().watermark_position == "bottom-right"


def test_an_expired_order_is_the_free_plan(store):
    owner = Owner(store, paid=False)
    with store.transaction() as s:
        long_ago = utcnow() - timedelta(days=45)
        s.add(Order(user_id=OWNER, plan_code="pro_month", gateway="payme", amount_tiyin=11_500_000,
                    currency="UZS", status="paid", created_at=long_ago, paid_at=long_ago))
    assert owner.say("/watermark") == [t("watermark.paid_only", "en")]


@pytest.mark.parametrize("lang", LANGS)
def test_oversized_files_get_a_reply_and_no_getfile_call(store, lang):
    owner = Owner(store, lang=lang)
    owner.say("/watermark text @chan")
    two_gb = 2 * 1024 ** 3
    for kind, extra in (("video", {}), ("photo", {}), ("document", {"mime": "image/png"}),
                        ("document", {"mime": "video/mp4"})):
        calls = owner.send(kind, "huge", file_size=two_gb, **extra)
        [reply] = texts(calls)
        assert reply == protection._too_big(two_gb, lang)
        assert "2048" in reply and "20" in reply
    calls = owner.send("video", "just_over", file_size=wm.TELEGRAM_DOWNLOAD_LIMIT + 1)
    assert len(texts(calls)) == 1
    assert not owner.session.called("getFile")


def test_getfile_refusing_a_big_file_without_a_reported_size_gets_a_reply(store):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    owner.session.fail("getFile", error(400, "Bad Request: file is too big"))
    calls = owner.send("video", "nosize")
    assert texts(calls) == [protection._too_big(None, "en")]
    assert not [c for c in calls if c.name == "sendVideo"]


@pytest.mark.parametrize("lang", LANGS)
def test_non_image_documents_are_refused(store, lang):
    owner = Owner(store, lang=lang)
    owner.say("/watermark text @chan")
    calls = owner.send("document", "pdf", b"%PDF-1.4", mime="application/pdf", file_name="a.pdf")
    assert texts(calls) == [t("watermark.error.not_media", lang)]
    assert not owner.session.called("getFile")  # the kind alone says no
    # named and typed as an image, but it is not one: downloaded, looked at, refused
    calls = owner.send("document", "fake", b"just some text, not a PNG", mime="image/png", file_name="a.png")
    assert texts(calls) == [t("watermark.error.not_image", lang)]
    gif = encode(gradient(W, H), "GIF")  # a real image in a format the mark does not write
    calls = owner.send("document", "gif", gif, mime="image/gif", file_name="a.gif")
    assert texts(calls) == [t("watermark.error.not_image", lang)]
    assert not owner.session.called("sendDocument")


def test_someone_who_never_picked_a_language_gets_english(store):
    for code in (None, "de"):
        owner = Owner(store, registered=False, paid=False, user_id=3003)
        calls = owner.send("photo", "ph1", PHOTO, language_code=code)
        assert texts(calls) == [t("watermark.need_start", "en")]
        assert owner.say("/watermark", language_code=code) == [t("watermark.need_start", "en")]
        assert not owner.session.called("getFile")


def test_a_registered_owner_with_the_default_language_is_answered_in_english(store):
    with store.transaction() as s:
        s.add(User(user_id=4004))  # e.g. registered by a channel connected before /start: the column default
    owner = Owner(store, registered=False, user_id=4004)
    assert owner.say("/watermark text \x07", language_code="ru") == [
        t("watermark.error.text", "en", limit=protection.MAX_TEXT)]


@pytest.mark.parametrize("lang", LANGS)
def test_every_error_has_words_in_every_language(lang):
    errors = [wm.ImageTooLarge("x"), wm.UnsupportedImage("x"), wm.VideoTooLarge("x"), wm.VideoTooLong("x"),
              wm.UnsupportedVideo("x"), wm.VideoFailed("x"), wm.InvalidSpec("x")]
    replies = [protection.error_text(e, lang) for e in errors]
    assert len(set(replies)) == len(errors)
    assert all("watermark." not in r and "{" not in r for r in replies)
    assert "180" in protection.error_text(wm.VideoTooLong("x"), lang)


def test_video_work_leaves_no_temporary_files(store, tmp_path, monkeypatch):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    clip = make_video(tmp_path, 0.5)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where TemporaryDirectory puts its folders
    assert only(owner.send("video", "ok", clip), "sendVideo")
    assert texts(owner.send("video", "bad", b"not a video at all"))[-1] == t("watermark.error.not_video", "en")
    assert list(scratch.iterdir()) == []


def test_a_result_too_big_to_upload_gets_a_reply(store, tmp_path, monkeypatch):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    clip = make_video(tmp_path, 0.5)
    monkeypatch.setattr(protection, "UPLOAD_LIMIT", 1000)  # stands for Telegram's 50 MB upload limit
    calls = owner.send("video", "v", clip)
    assert texts(calls)[-1] == t("watermark.error.result_too_big", "en", limit=0)
    assert not [c for c in calls if c.name == "sendVideo"]


def test_a_photo_too_big_for_sendphoto_comes_back_as_a_file(store, monkeypatch):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    monkeypatch.setattr(protection, "PHOTO_UPLOAD_LIMIT", 1000)  # stands for sendPhoto's 10 MB
    calls = owner.send("photo", "ph1", PHOTO)
    assert only(calls, "sendDocument").method.document.filename == "image_watermarked.jpg"
    assert not [c for c in calls if c.name == "sendPhoto"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_failed_download_gets_a_reply(store, lang):
    owner = Owner(store, lang=lang)
    owner.say("/watermark text @chan")
    calls = owner.send("photo", "gone")  # getFile answers without a file_path (the file is no longer there)
    assert texts(calls) == [t("watermark.error.download", lang)]

    async def broken(*args, **kwargs):
        raise aiohttp.ClientPayloadError("connection reset")
        yield b""

    owner.session.add_file("ph1", PHOTO)
    owner.session.stream_content = broken
    calls = owner.send("photo", "ph1")
    assert texts(calls) == [t("watermark.error.download", lang)]
    assert not [c for c in calls if c.name == "sendPhoto"]


def test_videos_sent_at_once_are_marked_one_after_another(store, tmp_path, monkeypatch):
    owner = Owner(store)
    owner.say("/watermark text @chan")
    clip = make_video(tmp_path, 0.5)
    running, most = [0], [0]
    real = wm.watermark_video

    def counted(src, dst, spec):
        running[0] += 1
        most[0] = max(most[0], running[0])
        try:
            return real(src, dst, spec)
        finally:
            running[0] -= 1

    monkeypatch.setattr(wm, "watermark_video", counted)
    for n in range(3):
        owner.session.add_file(f"v{n}", clip)

    async def together():
        await asyncio.gather(*(owner.dp.feed_update(owner.bot, media_message("video", f"v{n}", user_id=OWNER))
                               for n in range(3)))

    asyncio.run(together())
    assert len(owner.session.called("sendVideo")) == 3 and most[0] == protection.VIDEO_JOBS == 1
