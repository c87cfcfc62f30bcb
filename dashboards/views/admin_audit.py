"""Admin: the audit log: who did what, when, from which address, with the values before and after and how it
ended (bot, admin panel and command line alike). Filters, pages, CSV."""

from __future__ import annotations

import streamlit as st

from dashboards import admin_panel, session
from dashboards.views import admin_common as common

TITLE = "Audit log"
ROLE = common.ROLE
GROUP = common.GROUP
URL = "admin-audit"
ICON = ":material/history:"
ANY = "any"


def render() -> None:
    session.guard(ROLE, TITLE)
    st.title(TITLE)
    with session.store().transaction() as s:
        actions = admin_panel.audit_actions(s)
        cols = st.columns(4)
        action = cols[0].selectbox("Action", (ANY, *actions), key="audit.action")
        outcome = cols[1].selectbox("Outcome", (ANY, *admin_panel.AUDIT_OUTCOMES), key="audit.outcome")
        source = cols[2].selectbox("Source", (ANY, *admin_panel.AUDIT_SOURCES), key="audit.source")
        username = cols[3].text_input("Dashboards account", key="audit.account")
        cols = st.columns(3)
        target = cols[0].text_input("Target (user id, setting, table, ...)", key="audit.target")
        since = cols[1].date_input("From (UTC day)", value=None, key="audit.since")
        until = cols[2].date_input("To (UTC day)", value=None, key="audit.until")
        filters = dict(action=None if action == ANY else action, outcome=None if outcome == ANY else outcome,
                       source=None if source == ANY else source, username=username, target=target, since=since,
                       until=until)
        page = admin_panel.audit_page(s, page=common.page_number("audit.page"), **filters)
    common.table(page, "audit.page", "audit-log.csv", lambda n: _everything(n, filters))


def _everything(n: int, filters: dict) -> admin_panel.Page:
    with session.store().transaction() as s:
        return admin_panel.audit_page(s, size=n, **filters)
