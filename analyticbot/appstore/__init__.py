"""The operational store: users, channels (and later ledgers, audit log). SQLite by default, PostgreSQL in
production, SQLAlchemy 2 with Alembic migrations. Bot, webhooks and admin panel write it; Dagster reads it."""
