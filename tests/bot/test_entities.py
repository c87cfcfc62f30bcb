"""Long texts cut into messages Telegram takes: at most 4096 UTF-16 units and 100 entities each, cut at paragraph
breaks, entities moved to each part's offsets and never split."""

from __future__ import annotations

import pytest

from bot.entities import TextBuilder, entity_text, split_message, utf16_len


def sections(n: int) -> TextBuilder:
    out = TextBuilder()
    for i in range(n):
        if i:
            out.add("\n\n")
        out.add_custom_emoji("📢", f"id{i}").add(f" Канал {i} ʻ").add("\n")
        out.add_custom_emoji("📈", f"up{i}").add(" " + "подписчики " * 12)
    return out


def test_a_text_that_fits_is_one_part_unchanged():
    text = sections(3)
    [(part, entities)] = split_message(text.text, text.entities)
    assert part == text.text and entities == text.entities


def test_parts_fit_start_at_paragraphs_and_keep_every_entity_whole():
    text = sections(40)
    assert utf16_len(text.text) > 4096
    parts = split_message(text.text, text.entities)
    assert len(parts) > 1
    assert all(utf16_len(p) <= 4096 for p, _ in parts)
    assert "\n\n".join(p for p, _ in parts) == text.text  # cut at paragraph breaks only, nothing lost
    assert all(p.startswith("📢") for p, _ in parts)
    moved = [(entity_text(p, e), e.custom_emoji_id) for p, es in parts for e in es]
    assert moved == [(entity_text(text.text, e), e.custom_emoji_id) for e in text.entities]


def test_at_most_100_entities_a_part():
    text = TextBuilder()
    for i in range(150):
        text.add_custom_emoji("🔥", f"e{i}")
    [(part, entities)] = split_message(text.text, text.entities)
    assert part == text.text and [e.custom_emoji_id for e in entities] == [f"e{i}" for i in range(100)]


@pytest.mark.parametrize("limit", [7, 10, 33])
def test_a_paragraph_longer_than_the_limit_is_cut_outside_entities(limit):
    text = TextBuilder().add("ab").add_custom_emoji("👁", "x").add("cdefgh" * 5).add_custom_emoji("📈", "y").add("z")
    parts = split_message(text.text, text.entities, limit=limit)
    assert "".join(p for p, _ in parts) == text.text
    assert all(utf16_len(p) <= limit for p, _ in parts)
    kept = [(entity_text(p, e), e.custom_emoji_id) for p, es in parts for e in es]
    assert kept == [("👁", "x"), ("📈", "y")]
