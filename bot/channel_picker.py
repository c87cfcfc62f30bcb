"""Which of the owner's channels a command means: a typed argument (@username, username, title in any case, or the
bare channel id), the only channel when there is one, or inline buttons to pick from several.

Only the owner's own channels (`channel_reads.owned_channels`) are ever candidates, so an argument that names
somebody else's channel resolves exactly like one that names nothing: the caller answers "not found" for both
and never reveals that the channel exists. Button data carries the channel id; forged data is checked against
the same ownership list when it comes back.
"""

from __future__ import annotations

import re
import unicodedata

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from analyticbot.appstore.channels import bare_channel_id

PICK_PREFIX = "pick"
MAX_ARG = 256  # longer than any title or username Telegram allows
_CALLBACK_RE = re.compile(r"^pick:([a-z]{1,16}):(-?\d{1,20})$")
BUTTON_TEXT_MAX = 60


def clean_argument(text: str | None) -> str | None:
    """The argument as typed, stripped; None when empty, too long, or holding control characters (which no
    title or username can contain: answered as not found, never matched loosely)."""
    arg = (text or "").strip()
    if not arg:
        return None
    if len(arg) > MAX_ARG or any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co") for c in arg):
        return ""
    return arg


def _bare_id(channel_id: int) -> int:
    """Telegram shows channel ids as -100<bare id> to bots and as <bare id> in t.me/c/ links."""
    return bare_channel_id(channel_id) or abs(channel_id)


def resolve(channels: dict[int, dict], arg: str) -> dict | None:
    """The owned channel `arg` names, or None. Username and title compare case-insensitively; a title shared by
    two of the owner's channels is ambiguous and resolves to neither (the picker shows both)."""
    if not arg:
        return None
    folded = arg.casefold()
    found = by_bare_id(channels, _bare_id(int(arg))) if re.fullmatch(r"-?\d{1,20}", arg) else None
    found = found or by_username(channels, folded.removeprefix("@"))
    if found is not None:
        return found
    titled = [ch for ch in channels.values() if (ch.get("title") or "").casefold() == folded]
    return titled[0] if len(titled) == 1 else None


def by_bare_id(channels: dict[int, dict], bare_id: int) -> dict | None:
    return next((ch for ch in channels.values() if _bare_id(ch["channel_id"]) == bare_id), None)


def by_username(channels: dict[int, dict], username: str) -> dict | None:
    name = username.casefold()
    if not name:  # a bare "@" names nothing, not every channel without a username
        return None
    return next((ch for ch in channels.values() if (ch.get("username") or "").casefold() == name), None)


def picker_keyboard(channels: dict[int, dict], command: str) -> InlineKeyboardMarkup:
    """One button per channel, by title; the data says which command and which channel."""
    ordered = sorted(channels.values(), key=lambda ch: ((ch.get("title") or "").casefold(), ch["channel_id"]))
    rows = []
    for ch in ordered:
        title = ch.get("title") or (f"@{ch['username']}" if ch.get("username") else str(ch["channel_id"]))
        if len(title) > BUTTON_TEXT_MAX:
            title = title[:BUTTON_TEXT_MAX - 1] + "…"
        rows.append([InlineKeyboardButton(text=title, callback_data=f"{PICK_PREFIX}:{command}:{ch['channel_id']}")])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def parse_pick(data: str | None) -> tuple[str, int] | None:
    """(command, channel id) of a picker button's data, or None when it is not one."""
    m = _CALLBACK_RE.match(data or "")
    return (m.group(1), int(m.group(2))) if m else None
