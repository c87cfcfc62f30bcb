"""The first page after login: who is logged in, and which published snapshot the pages read."""

from __future__ import annotations

import streamlit as st

from analyticbot.snapshot import SnapshotReader
from dashboards import session

TITLE = "Home"
ROLE = "viewer"
GROUP = "Overview"
URL = "home"
ICON = ":material/home:"


def render() -> None:
    principal = session.guard(ROLE, TITLE)
    st.title("AnalyticBot")
    st.markdown(f"Logged in as **{principal.username}**, role **{principal.role}**.")
    version = SnapshotReader(session.settings()).current_version()
    if version is None:
        st.warning("No published snapshot yet: run `make demo` (or the pipeline) and the pages fill in.")
    else:
        st.caption(f"Published snapshot {version}.")
