"""Admin: runtime settings (feature flags) in the operational store, read by the running services without a
restart. A value is JSON; every change is audited with the value before and after."""

from __future__ import annotations

import streamlit as st

from dashboards import admin_panel, session
from dashboards.views import admin_common as common

TITLE = "Runtime settings"
ROLE = common.ROLE
GROUP = common.GROUP
URL = "admin-settings"
ICON = ":material/toggle_on:"


def render() -> None:
    principal = session.guard(ROLE, TITLE)
    st.title(TITLE)
    common.flash()
    store, settings = session.store(), session.settings()
    with store.transaction() as s:
        current = admin_panel.runtime_settings(s)
    if current.is_empty():
        st.info("No runtime settings yet.")
    else:
        st.dataframe(current, hide_index=True, width="stretch")
    with st.form("settings.set"):
        st.markdown("**Create or change a setting**")
        key = st.text_input("Name", key="settings.key", placeholder="feature.new_digest")
        value = st.text_area("Value (JSON)", key="settings.value", placeholder='true, 3, "text", [1, 2] or {"a": 1}')
        if st.form_submit_button("Save"):
            common.run(lambda: admin_panel.set_runtime_setting(store, settings, principal, key, value),
                       f"Saved {key.strip()}.")
    if not current.is_empty():
        with st.form("settings.delete"):
            st.markdown("**Delete a setting**")
            name = st.selectbox("Name", current["key"].to_list(), key="settings.delete_key")
            if st.form_submit_button("Delete"):
                common.run(lambda: admin_panel.delete_runtime_setting(store, settings, principal, name),
                           f"Deleted {name}.")
