"""Finding a channel for the team's Channels page. What the page then shows about it comes from
`analyticbot.channel_reads` (the reads behind the bot and the Mini App), so the team sees the owner's numbers.

The team may look at any channel: the search returns rows shaped like `channel_reads.owned_channels` values,
which is what every `channel_reads` function takes.
"""

from __future__ import annotations

from analyticbot.snapshot import TEXT_ORDER, ReadConnection

SEARCH_LIMIT = 50
_CHANNEL = ("channel_id, title, username, time_zone, status, reach_available, owner_user_id "
            "FROM marts.dim_channels")
_BY_TITLE = f"ORDER BY lower(title) {TEXT_ORDER}, channel_id"


def _like(text: str) -> str:
    """A LIKE pattern that matches `text` literally anywhere (its own % and _ escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(con: ReadConnection, text: str = "", limit: int = SEARCH_LIMIT) -> list[dict]:
    """Channels whose title or @username contains `text` (any case; a leading @ is ignored), by title. An empty
    search lists every channel up to `limit`. A channel id typed in full finds that channel too."""
    text = (text or "").strip().lstrip("@").strip()
    if not text:
        return con.query(f"SELECT {_CHANNEL} {_BY_TITLE} LIMIT ?", [limit]).to_dicts()
    pattern = _like(text.lower())
    by_id = int(text) if text.lstrip("-").isdigit() else None
    return con.query(
        f"SELECT {_CHANNEL} WHERE lower(title) LIKE ? ESCAPE '\\' OR lower(coalesce(username, '')) LIKE ? ESCAPE '\\' "
        f"OR channel_id = ? {_BY_TITLE} LIMIT ?", [pattern, pattern, by_id, limit]).to_dicts()


def channel(con: ReadConnection, channel_id: int) -> dict | None:
    rows = con.query(f"SELECT {_CHANNEL} WHERE channel_id = ?", [channel_id]).to_dicts()
    return rows[0] if rows else None


def label(ch: dict) -> str:
    """How the page names a channel in its picker: the title, and the @username when it has one."""
    name = ch["title"] or str(ch["channel_id"])
    return f"{name} (@{ch['username']})" if ch.get("username") else name
