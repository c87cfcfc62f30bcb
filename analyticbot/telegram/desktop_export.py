"""Telegram Desktop "Export chat history" (`result.json`) of one channel -> the normalised contract.

What an export can and cannot tell (DESIGN.md "Telegram data"):

- Times come from ``date_unixtime`` / ``edited_unixtime`` (UTC seconds, as strings). ``date`` and ``edited``
  are the exporter's local wall-clock time without a zone and are never used.
- There are no views, forwards or reply counts: every snapshot carries ``None`` for them (unavailable, not
  zero). Reactions are the only counters, read at ``exported_at``.
- There is no ``grouped_id``. An album is exported as consecutive photo/video messages with the same
  ``date_unixtime``; such a run of two or more gets a synthetic ``grouped_id`` = the first message id of the run.
  The first id is stable across re-exports, and message ids are never equal to a real Telegram ``grouped_id``
  (those are 64-bit random-looking numbers), so the two cannot be confused downstream.
- An edited message exports only its current content. It yields the original revision (``revision_at`` =
  ``posted_at``, ``edited_at`` empty) and an edit revision (``revision_at`` = ``edited_at``), both with the
  current content: what the post looked like before the edit is not in the file.
- ``content_type`` follows the media keys (``photo``; ``media_type`` video_file/animation/video_message -> video,
  voice_message -> voice, audio_file -> audio, sticker; ``poll``; any other ``file`` -> document; location,
  contact and the like -> other). ``has_media`` is true for everything but text, polls included, as telethon's
  ``message.media`` is. ``text_length`` counts code points of the plain text, entity markup removed.
- ``channel_id`` is the bare positive id the export writes (the same number as telethon's ``Channel.id``);
  a "marked" ``-100...`` id passed by the caller is accepted and unmarked.

Failure is split in two. A file that cannot be a channel export at all (truncated or malformed JSON, a list at
the top level, no ``messages`` list, a personal chat or a group) raises `ExportFormatError`. A bad message
(unknown ``type``, missing or non-integer ``id``, missing or non-numeric ``date_unixtime``, duplicate id)
becomes a ``rejected_records`` row and the rest of the file loads. A bad optional field of an otherwise good
message (``edited_unixtime``, ``reactions``) drops only that field, again with a ``rejected_records`` row
(record key ``"<id>:<field>"``), so ``rejected_records`` may hold more rows than ``messages_rejected``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from analyticbot.telegram.contract import RawBatch, rejected, utc_naive

SOURCE = "export"

CHANNEL_CHAT_TYPES = ("public_channel", "private_channel")

# Desktop's media_type values -> contract.CONTENT_TYPES. A "file" with any other (or no) media_type is a document.
_MEDIA_TYPES = {
    "video_file": "video",
    "animation": "video",
    "video_message": "video",
    "voice_message": "voice",
    "audio_file": "audio",
    "sticker": "sticker",
}

# Keys Desktop writes for message media that has no file: a shared location, contact, game, invoice, ...
_OTHER_MEDIA_KEYS = (
    "location_information", "place_name", "contact_information", "contact_vcard", "game_title",
    "invoice_information", "live_location_period_seconds", "giveaway_information", "todo_list",
)

_ALBUM_CONTENT = ("photo", "video")


class ExportFormatError(ValueError):
    """The whole file is unusable as a channel export. The message names the file and what is wrong."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass
class ExportResult:
    channel_id: int
    title: str
    batch: RawBatch
    exported_at: datetime  # naive UTC; observed_at of the channel row and of every reactions snapshot
    messages_read: int  # entries in the file's "messages" list, service messages included
    messages_rejected: int  # messages refused as a whole (see rejected_records for the reasons)
    messages_skipped: int = 0  # service messages ("joined channel", "pinned message", ...): not posts


class _Rejected(Exception):
    """A message that cannot be loaded; the text is the reason stored in rejected_records."""


def parse_export(path: Path, *, exported_at: datetime | None = None,
                 channel_id: int | None = None) -> ExportResult:
    """Parse a Desktop export of one channel into a `RawBatch`.

    `path` is the ``result.json`` file or the export folder holding it. `exported_at` is when the export was
    taken (aware, or naive UTC); without it the file's modification time is used, raised to the latest message
    or edit time if the mtime is older (a file copied without its times must not put the reactions snapshot
    before the posts it counts). `channel_id` overrides a missing id in the file and must match a present one.
    A missing file raises the usual `OSError`.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "result.json"
    document = _load_json(path)
    file_channel_id, title = _check_channel_export(path, document)
    channel_id = _resolve_channel_id(path, file_channel_id, channel_id)
    channel_ref = f"{channel_id}:{path.name}"
    now = datetime.now(timezone.utc)

    rejected_rows: list[dict] = []
    parsed: list[dict] = []  # accepted messages, in file order
    seen_ids: set[int] = set()
    rejected_keys: set[tuple[str, str]] = set()
    messages = document["messages"]
    skipped = 0
    messages_rejected = 0

    for index, message in enumerate(messages):
        # The message id when there is one (even a malformed one, to find it in the file), else its position.
        record_key: object = f"#{index}"
        if isinstance(message, dict) and isinstance(message.get("id"), (int, str)) and message["id"] != "":
            record_key = message["id"]
        try:
            if not isinstance(message, dict):
                raise _Rejected(f"message is a {type(message).__name__}, not an object")
            if message.get("type") == "service":
                skipped += 1
                continue
            post = _parse_message(message)
            if post["message_id"] in seen_ids:
                raise _Rejected("duplicate message id")
        except _Rejected as exc:
            messages_rejected += 1
            if (str(record_key), str(exc)) in rejected_keys:  # a third copy of an id: keep the natural key unique
                record_key = f"#{index}"
            rejected_keys.add((str(record_key), str(exc)))
            rejected_rows.append(rejected(SOURCE, channel_ref, record_key, str(exc), message, now))
            continue
        seen_ids.add(post["message_id"])
        for field_name, reason in post.pop("field_problems"):
            rejected_rows.append(
                rejected(SOURCE, channel_ref, f"{post['message_id']}:{field_name}", reason, message, now))
        parsed.append(post)

    if exported_at is None:
        exported_at = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).replace(tzinfo=None)
        latest = max((t for p in parsed for t in (p["posted_at"], p["edited_at"]) if t is not None), default=None)
        if latest is not None and latest > exported_at:
            exported_at = latest
    else:
        exported_at = utc_naive(exported_at)

    _infer_albums(parsed)

    posts: list[dict] = []
    snapshots: list[dict] = []
    for p in parsed:
        base = {
            "channel_id": channel_id, "message_id": p["message_id"], "grouped_id": p["grouped_id"],
            "posted_at": p["posted_at"], "deleted": False, "content_type": p["content_type"],
            "text_length": p["text_length"], "has_media": p["content_type"] != "text",
            "is_forward": p["is_forward"], "source_kind": SOURCE,
        }
        edited_at = p["edited_at"]
        if edited_at is None or edited_at > p["posted_at"]:
            posts.append({**base, "revision_at": p["posted_at"], "edited_at": None})
        if edited_at is not None:
            posts.append({**base, "revision_at": edited_at, "edited_at": edited_at})
        if p["reactions"] is not None:
            total, by_emoji = p["reactions"]
            snapshots.append({
                "channel_id": channel_id, "message_id": p["message_id"], "observed_at": exported_at,
                "views": None, "forwards": None, "replies": None, "reactions": total,
                "reactions_by_emoji": json.dumps(by_emoji, ensure_ascii=False, sort_keys=True),
            })

    channel_row = {
        "channel_id": channel_id, "observed_at": exported_at, "source_kind": SOURCE, "title": title or None,
        "username": None, "status": "active", "status_reason": None,
    }
    batch = RawBatch.from_rows({
        "telegram_channels": [channel_row],
        "telegram_posts": posts,
        "telegram_post_snapshots": snapshots,
        "rejected_records": rejected_rows,
    })
    return ExportResult(
        channel_id=channel_id, title=title, batch=batch, exported_at=exported_at, messages_read=len(messages),
        messages_rejected=messages_rejected, messages_skipped=skipped,
    )


def _load_json(path: Path) -> Any:
    raw = path.read_bytes()
    try:
        # Desktop writes UTF-8 without a BOM; an editor that re-saved the file may have added one.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExportFormatError(path, f"not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise ExportFormatError(path, "empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        # An error at the very end of the text means the file stops early: an interrupted export or copy.
        if not text[exc.pos:].strip():
            raise ExportFormatError(path, f"truncated JSON at line {exc.lineno} column {exc.colno}") from None
        raise ExportFormatError(
            path, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None


def _check_channel_export(path: Path, document: Any) -> tuple[int | None, str]:
    if not isinstance(document, dict):
        raise ExportFormatError(
            path, f"not a channel export: top level is a {type(document).__name__}, expected an object")
    if not isinstance(document.get("messages"), list):
        hint = ""
        if "chats" in document:
            hint = " (this is a whole-account export; export one channel with 'Export chat history')"
        raise ExportFormatError(path, f"not a channel export: no 'messages' list{hint}")
    chat_type = document.get("type")
    if chat_type not in CHANNEL_CHAT_TYPES:
        if chat_type is None:
            raise ExportFormatError(path, "not a channel export: no chat 'type'")
        raise ExportFormatError(path, f"chat type {chat_type!r} is not a channel")
    raw_id = document.get("id")
    file_channel_id = raw_id if _is_int(raw_id) and raw_id != 0 else None
    title = document.get("name")
    return file_channel_id, title if isinstance(title, str) else ""


def _resolve_channel_id(path: Path, file_channel_id: int | None, given: int | None) -> int:
    if given is not None:
        given = _unmark(given)
    if file_channel_id is not None:
        file_channel_id = _unmark(file_channel_id)
    if given is None and file_channel_id is None:
        raise ExportFormatError(path, "no integer channel 'id' in the file and none given")
    if given is not None and file_channel_id is not None and given != file_channel_id:
        raise ExportFormatError(path, f"export is of channel {file_channel_id}, expected channel {given}")
    return given if given is not None else file_channel_id


def _unmark(channel_id: int) -> int:
    """-1001234567890 (telethon's marked peer id) -> 1234567890; a bare id is returned as is."""
    if channel_id < 0:
        digits = str(-channel_id)
        if digits.startswith("100") and len(digits) > 3:
            return int(digits[3:])
        return -channel_id
    return channel_id


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _unixtime(message: dict, key: str) -> datetime:
    """UTC naive datetime from a ``*_unixtime`` field (a decimal string, or an int); `_Rejected` if unusable."""
    value = message[key]
    if _is_int(value):
        seconds = value
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    else:
        raise _Rejected(f"{key!r} is not numeric: {value!r}")
    try:
        return utc_naive(datetime.fromtimestamp(seconds, timezone.utc))
    except (OverflowError, OSError, ValueError):
        raise _Rejected(f"{key!r} is out of range: {value!r}") from None


def _parse_message(message: dict) -> dict:
    """The fields of one non-service message; raises `_Rejected` when the message cannot be a post."""
    if "type" not in message:
        raise _Rejected("missing 'type'")
    if message["type"] != "message":
        raise _Rejected(f"unknown message 'type': {message['type']!r}")
    if "id" not in message:
        raise _Rejected("missing 'id'")
    message_id = message["id"]
    if not _is_int(message_id) or message_id <= 0:
        raise _Rejected(f"'id' is not a positive integer: {message_id!r}")
    if "date_unixtime" not in message:
        # Exports made before Desktop 3.x (2021) have only the local-time "date": no way to know the UTC time.
        raise _Rejected("missing 'date_unixtime' (the local 'date' is not used)")
    posted_at = _unixtime(message, "date_unixtime")
    text_length = _text_length(message.get("text", ""))

    field_problems: list[tuple[str, str]] = []
    edited_at = None
    if "edited_unixtime" in message:
        try:
            edited_at = _unixtime(message, "edited_unixtime")
            if edited_at < posted_at:
                raise _Rejected(f"'edited_unixtime' {message['edited_unixtime']!r} is before 'date_unixtime'")
        except _Rejected as exc:
            edited_at = None
            field_problems.append(("edited", f"{exc}; edit revision dropped"))
    elif "edited" in message:
        field_problems.append(("edited", "'edited' without 'edited_unixtime'; edit revision dropped"))

    reactions = None
    if "reactions" in message:
        try:
            reactions = _reactions(message["reactions"])
        except _Rejected as exc:
            field_problems.append(("reactions", f"{exc}; reactions dropped"))

    return {
        "message_id": message_id, "posted_at": posted_at, "edited_at": edited_at,
        "content_type": _content_type(message), "text_length": text_length,
        "is_forward": "forwarded_from" in message, "grouped_id": None,
        "reactions": reactions, "field_problems": field_problems,
    }


def _text_length(text: Any) -> int:
    """Characters (code points) of the plain text. Desktop writes either a string or a list of strings and
    entity objects ``{"type": "bold", "text": "..."}``."""
    if isinstance(text, str):
        return len(text)
    if isinstance(text, list):
        total = 0
        for part in text:
            if isinstance(part, str):
                total += len(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                total += len(part["text"])
            else:
                raise _Rejected(f"'text' part is neither a string nor an entity with text: {part!r}")
        return total
    raise _Rejected(f"'text' is neither a string nor a list: {type(text).__name__}")


def _content_type(message: dict) -> str:
    if "photo" in message:
        return "photo"
    if "poll" in message:
        return "poll"
    media_type = message.get("media_type")
    if media_type in _MEDIA_TYPES:
        return _MEDIA_TYPES[media_type]
    if "file" in message:
        return "document"
    if any(key in message for key in _OTHER_MEDIA_KEYS):
        return "other"
    return "text"


def _reactions(reactions: Any) -> tuple[int, dict[str, int]]:
    """Total and per-key counts: an emoji itself, ``custom:<document_id>`` or ``paid`` (Telegram Stars)."""
    if not isinstance(reactions, list):
        raise _Rejected(f"'reactions' is not a list: {type(reactions).__name__}")
    by_key: dict[str, int] = {}
    for reaction in reactions:
        if not isinstance(reaction, dict):
            raise _Rejected(f"reaction is not an object: {reaction!r}")
        count = reaction.get("count")
        if not _is_int(count) or count < 0:
            raise _Rejected(f"reaction 'count' is not a non-negative integer: {count!r}")
        kind = reaction.get("type")
        if kind == "emoji" and isinstance(reaction.get("emoji"), str):
            key = reaction["emoji"]
        elif kind == "custom_emoji" and reaction.get("document_id") is not None:
            key = f"custom:{reaction['document_id']}"
        elif kind == "paid":
            key = "paid"
        else:
            raise _Rejected(f"unknown reaction: {reaction!r}")
        by_key[key] = by_key.get(key, 0) + count
    return sum(by_key.values()), by_key


def _infer_albums(parsed: list[dict]) -> None:
    """Give runs of consecutive photo/video messages with the same time a shared synthetic grouped_id.

    Desktop drops grouped_id, but an album's messages are sent together and export one after another with the
    same date_unixtime. Two separate photos posted within the same second would be merged too; that is rare for
    a channel and costs only the album-vs-post count, not any counter.
    """
    run: list[dict] = []

    def close(run: list[dict]) -> None:
        if len(run) >= 2:
            for p in run:
                p["grouped_id"] = run[0]["message_id"]

    for p in parsed:
        if (run and p["content_type"] in _ALBUM_CONTENT and p["posted_at"] == run[-1]["posted_at"]
                and p["is_forward"] == run[-1]["is_forward"]):
            run.append(p)
            continue
        close(run)
        run = [p] if p["content_type"] in _ALBUM_CONTENT else []
    close(run)
