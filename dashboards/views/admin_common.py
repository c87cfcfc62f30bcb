"""What the admin pages share: the outcome of the last action (kept over the rerun that shows the fresh data),
running an action with its refusal shown, and a paginated table with its CSV."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from dashboards import auth
from dashboards.admin_panel import Page, to_csv

ROLE = "admin"
GROUP = "Admin"
FLASH = "dashboards.admin.flash"
CSV_MAX_ROWS = 100_000


def flash() -> None:
    """The message of the action before the rerun, once."""
    kind, text = st.session_state.pop(FLASH, (None, None))
    if kind == "success":
        st.success(text)
    elif kind == "error":
        st.error(text)


def run(action: Callable[[], Any], done: str | Callable[[Any], str]) -> None:
    """Run an admin action; success or refusal becomes the message shown after the rerun that reloads the
    data. Every refusal's sentence comes from dashboards.auth or dashboards.admin_panel."""
    try:
        result = action()
    except auth.AuthError as exc:
        st.session_state[FLASH] = ("error", exc.message)
    else:
        st.session_state[FLASH] = ("success", done(result) if callable(done) else done)
    st.rerun()


def page_number(key: str) -> int:
    return int(st.session_state.get(key, 1) or 1)


def table(page: Page, key: str, file_name: str, everything: Callable[[int], Page]) -> None:
    """One page of rows, the page picker, and every matching row (up to CSV_MAX_ROWS) as CSV: `everything(n)`
    reads the first n rows with the same filters."""
    st.session_state[key] = page.page  # filters may have left fewer pages than the picker was on
    st.caption(f"{page.total:,} rows · page {page.page} of {page.pages}")
    st.dataframe(page.rows, hide_index=True, width="stretch")
    left, right = st.columns(2)
    left.number_input("Page", min_value=1, max_value=page.pages, step=1, key=key)
    if page.total:
        rows = min(page.total, CSV_MAX_ROWS)
        # Made when the button is pressed, not on every rerun: `everything` opens its own session or connection.
        right.download_button(f"Download CSV ({rows:,} rows)", lambda: to_csv(everything(rows).rows),
                              file_name=file_name, mime="text/csv", key=f"{key}.csv")
