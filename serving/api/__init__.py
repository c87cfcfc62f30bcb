"""The Telegram Mini App: a read-only API over the published snapshot, and the page at /app/ that uses it.

`uvicorn serving.api:app` (`make api`). BOT_TOKEN must be set: initData is signed with it."""

from serving.api.app import create_app

app = create_app()
