"""The test bot token and signed `Authorization` headers, as a Telegram client would send them."""

from __future__ import annotations

from serving.api.auth import sign_init_data

BOT_TOKEN = "123456789:test-token-for-the-mini-app-api"


def auth(user_id: int, token: str = BOT_TOKEN, **kw) -> dict[str, str]:
    return {"Authorization": "tma " + sign_init_data(token, user_id, **kw)}
