"""The Streamlit side of `dashboards.auth`: the store, the client's address, who is logged in on this browser tab,
and `guard(role)` at the top of every page.

Streamlit keeps `st.session_state` per browser tab on the server; the tab holds only a session token there, and
each rerun resumes it through `auth.resume` (idle and absolute expiry, allowlist, role read afresh).

A reload, or a link opened in a new tab (the churn page's "open in the admin panel"), starts a new Streamlit
session. So that it does not ask for a new login, the token is also kept in a browser cookie (`COOKIE`), which a
new session reads from its connection's request (`st.context.cookies`). Streamlit has no API to set a cookie: a
login hands it to the browser in a one-line script (`write_cookie`), and a logout or an ended session forgets it
the same way. It is a session cookie (gone when the browser closes), `SameSite=Strict` (never sent from another
site) and `Secure` over HTTPS; it cannot be `HttpOnly`, being written by a script. It grants nothing by itself:
every rerun checks the token as before, and the server-side session ends at logout, idle or absolute expiry.
A token in the URL instead would end up in logs and browser history.
"""

from __future__ import annotations

import json

import streamlit as st

from analyticbot.appstore.db import AppStore
from analyticbot.settings import Settings, get_settings
from dashboards import auth

TOKEN = "dashboards.token"
NOTICE = "dashboards.notice"  # a message for the login page: why the last session ended
PRINCIPAL = "dashboards.principal"
COOKIE = "analyticbot_dashboards"  # the browser's copy of the session token
_COOKIE_CHANGE = "dashboards.cookie"  # for the browser on this run: a token to keep, or "" to forget it
# The cookie a session was opened with stays in `st.context.cookies` for the session's whole life, after a logout
# too: a token this tab has seen end is not tried again.
_SPENT = "dashboards.spent"


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


def _cookie_token() -> str | None:
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no connection (AppTest, a bare script run): no cookie
        return None
    # AppTest's stand-in connection answers with a mock, not a cookie
    return token if isinstance(token, str) and token and token != st.session_state.get(_SPENT) else None


def current_principal() -> auth.Principal | None:
    """Who is logged in on this tab (its token, or the browser's cookie in a new tab or after a reload), or None
    (with the reason kept for the login page)."""
    token = st.session_state.get(TOKEN) or _cookie_token()
    principal = None
    if token:
        try:
            principal = auth.resume(store(), settings(), token, client_address())
            st.session_state[TOKEN] = token
        except auth.AuthError as exc:
            _forget(token)
            st.session_state[NOTICE] = exc.message
    st.session_state[PRINCIPAL] = principal
    return principal


def log_in(token: str) -> None:
    st.session_state[TOKEN] = token
    st.session_state[_COOKIE_CHANGE] = token
    st.session_state.pop(NOTICE, None)


def log_out() -> None:
    token = st.session_state.get(TOKEN)
    auth.logout(store(), token, client_address())
    _forget(token)
    st.session_state[PRINCIPAL] = None
    st.session_state[NOTICE] = "You have logged out."


def _forget(token: str | None) -> None:
    """This tab's session is over: drop its token, never try it again from the cookie, and clear the cookie."""
    st.session_state.pop(TOKEN, None)
    st.session_state[_SPENT] = token
    st.session_state[_COOKIE_CHANGE] = ""


def _cookie_script(token: str) -> str:
    """The script that keeps `token` in the browser's cookie, or forgets the cookie when `token` is empty."""
    attributes = "; Path=/; SameSite=Strict" + ("" if token else "; Max-Age=0")
    return ("<script>document.cookie = " + json.dumps(f"{COOKIE}={token}{attributes}")
            + ' + (location.protocol === "https:" ? "; Secure" : "");</script>')


def write_cookie() -> None:
    """Hand this run's cookie change (after a login, a logout or an ended session) to the browser; app.py calls it
    on every run, before the page."""
    change = st.session_state.pop(_COOKIE_CHANGE, None)
    if change is not None:
        st.html(_cookie_script(change), unsafe_allow_javascript=True)


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
