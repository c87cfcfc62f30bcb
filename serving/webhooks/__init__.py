"""Payment webhook receivers: their own FastAPI app, separate from the read-only TWA API.

Run with ``make webhooks`` (uvicorn ``serving.webhooks:app``)."""

from serving.webhooks.app import app, create_app

__all__ = ["app", "create_app"]
