"""AnalyticBot shared core: settings, stores, the Telegram source contract and the readers' query API.

Everything that more than one layer (Dagster, serving, bot, dashboards) needs lives here, so that no layer
writes the same SQL or reads the environment twice.
"""
