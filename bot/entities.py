"""Message text with entities whose offsets and lengths Telegram counts in UTF-16 code units.

Python counts code points: "📈" is one code point and two UTF-16 units, so an offset from `len()` lands inside a
surrogate pair after the first emoji. Cyrillic and Uzbek's ʻ (U+02BB) are one unit each.
"""

from __future__ import annotations

from aiogram.types import MessageEntity


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TextBuilder:
    """Appends text and records entities at their UTF-16 offsets as it goes (never by searching the text)."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._units = 0
        self.entities: list[MessageEntity] = []

    def add(self, text: str) -> "TextBuilder":
        self._parts.append(text)
        self._units += utf16_len(text)
        return self

    def add_custom_emoji(self, fallback: str, custom_emoji_id: str | None) -> "TextBuilder":
        """The fallback emoji is what non-premium clients (and notifications) show; with an id, premium clients
        draw the custom emoji over exactly those units."""
        if custom_emoji_id:
            self.entities.append(MessageEntity(type="custom_emoji", offset=self._units, length=utf16_len(fallback),
                                               custom_emoji_id=custom_emoji_id))
        return self.add(fallback)

    def extend(self, other: "TextBuilder") -> "TextBuilder":
        """Appends another builder's text, its entities moved to where that text now starts."""
        self.entities += [e.model_copy(update={"offset": e.offset + self._units}) for e in other.entities]
        self._parts += other._parts
        self._units += other._units
        return self

    @property
    def text(self) -> str:
        return "".join(self._parts)


def entity_text(text: str, entity: MessageEntity) -> str:
    """The substring an entity covers, cut in UTF-16 units as Telegram cuts it."""
    raw = text.encode("utf-16-le")
    return raw[entity.offset * 2:(entity.offset + entity.length) * 2].decode("utf-16-le")


MESSAGE_LIMIT = 4096  # UTF-16 units of text in one message (a caption: 1024)
ENTITY_LIMIT = 100  # entities Telegram applies in one message; it ignores the rest


def split_message(text: str, entities: list[MessageEntity], limit: int = MESSAGE_LIMIT,
                  max_entities: int = ENTITY_LIMIT) -> list[tuple[str, list[MessageEntity]]]:
    """Cut a long text into messages of at most `limit` UTF-16 units, at a paragraph break where one fits, else
    a line break, else anywhere outside an entity; each part's entities are moved to its own offsets, and at most
    `max_entities` kept per part (the first ones: Telegram would drop the rest, our custom emoji fall back to the
    plain emoji they cover)."""
    units = [0]  # units[i]: UTF-16 offset of code point i
    for ch in text:
        units.append(units[-1] + (2 if ord(ch) > 0xFFFF else 1))
    spans = sorted((e.offset, e.offset + e.length) for e in entities)
    parts, start = [], 0  # start: code point index
    while start < len(text):
        end = len(text)
        if units[end] - units[start] > limit:
            fits = max(i for i in range(start, end + 1) if units[i] - units[start] <= limit)
            end = _cut(text, units, spans, start, fits)
        parts.append((start, end))
        start = end
        while start < len(text) and text[start] == "\n":  # the break itself starts no part
            start += 1
    out = []
    for a, b in parts:
        lo, hi = units[a], units[b]
        kept = [e.model_copy(update={"offset": e.offset - lo}) for e in entities
                if lo <= e.offset and e.offset + e.length <= hi]
        out.append((text[a:b], kept[:max_entities]))
    return out


def _cut(text: str, units: list[int], spans: list[tuple[int, int]], start: int, fits: int) -> int:
    """Where a part that may run to code point `fits` ends: before the last paragraph break, else line break,
    else at `fits` moved back out of any entity it would split."""
    for sep in ("\n\n", "\n"):
        at = text.rfind(sep, start + 1, fits + len(sep) - 1)
        if at > start:
            return at
    cut = fits
    for lo, hi in spans:
        if units[start] < lo < units[cut] < hi:
            cut = units.index(lo)
    return cut if cut > start else fits
