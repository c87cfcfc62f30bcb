"""The pages, and which role each needs. The navigation offers a principal only the pages their role allows;
each page also calls `session.guard` with the same role first.

A page is a module with `TITLE`, `ROLE`, `GROUP` (the navigation section) and `render()`; add it to `PAGES`."""

from __future__ import annotations

from types import ModuleType

from dashboards.views import (admin_audit, admin_export, admin_payments, admin_settings, admin_users, channels,
                             churn, cohorts, health, home, revenue)

PAGES: list[ModuleType] = [home, revenue, cohorts, churn, channels, health,
                           admin_users, admin_payments, admin_settings, admin_export, admin_audit]
