"""Admin: any marts or ml table of the published snapshot as CSV or Parquet, up to a row cap. An export is an
audited admin action (who took which data, when, from where); a table over the cap is refused and audited."""

from __future__ import annotations

import streamlit as st

from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable
from dashboards import admin_panel, session
from dashboards.views import admin_common as common

TITLE = "Data export"
ROLE = common.ROLE
GROUP = common.GROUP
URL = "admin-export"
ICON = ":material/download:"
READY = "dashboards.admin.export"  # the last export, until the next one


def render() -> None:
    principal = session.guard(ROLE, TITLE)
    st.title(TITLE)
    common.flash()
    snapshots = SnapshotReader(session.settings())
    try:
        with snapshots.connect() as con:
            tables, version = admin_panel.snapshot_tables(con), con.version
    except SnapshotUnavailable:
        st.warning("No published snapshot yet: run `make demo` (or the pipeline) and its tables show here.")
        return
    st.caption(f"Snapshot {version}; at most {admin_panel.EXPORT_MAX_ROWS:,} rows per export.")
    with st.form("export"):
        table = st.selectbox("Table", tables, key="export.table")
        fmt = st.radio("Format", admin_panel.EXPORT_FORMATS, horizontal=True, key="export.format",
                       format_func=str.upper)
        if st.form_submit_button("Prepare the export"):
            st.session_state.pop(READY, None)
            common.run(lambda: _prepare(principal, snapshots, table, fmt),
                       lambda export: f"{export.table}: {export.rows:,} rows, ready to download.")
    export = st.session_state.get(READY)
    if export is not None:
        st.download_button(f"Download {export.file_name}", export.data, file_name=export.file_name,
                           mime=export.mime, key="export.download")


def _prepare(principal, snapshots, table, fmt):
    export = admin_panel.export_table(session.store(), session.settings(), snapshots, principal, table, fmt)
    st.session_state[READY] = export
    return export
