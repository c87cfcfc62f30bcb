"""The Streamlit side of `dashboards.auth`: the store, the client's address, who is logged in on this browser tab,
and `guard(role)` at the top of every page.

Streamlit keeps `st.session_state` per browser tab on the server; the tab holds only a session token there, and
each rerun resumes it through `auth.resume` (idle and absolute expiry, allowlist, role read afresh). A reload of
the page starts a new Streamlit session and so asks for a new login: Streamlit cannot set cookies, and a token in
the URL would end up in logs and browser history.
"""

from __future__ import annotations

import streamlit as st

from analyticbot.appstore.db import AppStore
from analyticbot.settings import Settings, get_settings
from dashboards import auth

TOKEN = "dashboards.token"
NOTICE = "dashboards.notice"  # a message for the login page: why the last session ended
PRINCIPAL = "dashboards.principal"


def settings() -> Settings:
    return get_settings()


@st.cache_resource(show_spinner=False)
def _store(app_db_url: str) -> AppStore:
    return AppStore(settings())


def store() -> AppStore:
    """One engine per store URL for the whole server process, shared by every tab."""
    return _store(settings().app_db_url)


def client_address() -> str | None:
    """The TCP peer of this tab's connection. `st.context.ip_address` hides loopback peers (None for them, as for
    "unknown"), and the allowlist must tell the two apart, so this reads the peer the way Streamlit itself does.
    Behind a reverse proxy this is the proxy's address: allowlist the proxy, and filter clients there."""
    try:
        from streamlit import runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not runtime.exists():
            return None
        client = runtime.get_instance().get_client(ctx.session_id)
        return getattr(getattr(client, "client_context", None), "remote_ip", None)
    except Exception:  # noqa: BLE001 - an internal API that moved: unknown, which the allowlist refuses
        return None


def current_principal() -> auth.Principal | None:
    """Who is logged in on this tab, or None (with the reason kept for the login page)."""
    token = st.session_state.get(TOKEN)
    principal = None
    if token:
        try:
            principal = auth.resume(store(), settings(), token, client_address())
        except auth.AuthError as exc:
            st.session_state.pop(TOKEN, None)
            st.session_state[NOTICE] = exc.message
    st.session_state[PRINCIPAL] = principal
    return principal


def log_in(token: str) -> None:
    st.session_state[TOKEN] = token
    st.session_state.pop(NOTICE, None)


def log_out() -> None:
    auth.logout(store(), st.session_state.pop(TOKEN, None), client_address())
    st.session_state[PRINCIPAL] = None
    st.session_state[NOTICE] = "You have logged out."


def guard(role: str, page: str) -> auth.Principal:
    """The logged-in principal if they hold `role`; otherwise the page says why, the refusal is audited, and the
    page stops here. Navigation already lists only the pages a role may open: this is the second lock."""
    principal = st.session_state.get(PRINCIPAL)
    try:
        return auth.require(principal, role)
    except auth.AuthError as exc:
        if principal is not None:
            auth.record_refusal(store(), principal, "open_page", page, reason="role")
        st.error(exc.message)
        st.stop()
