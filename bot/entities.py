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
