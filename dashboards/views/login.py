"""The login page: username, password and the authenticator code; on an account's first login, the enrolment
QR code instead of the code. Every message comes from `dashboards.auth`."""

from __future__ import annotations

import streamlit as st

from dashboards import auth, session

ENROL = "dashboards.enrol"  # the open enrolment step: its token, URI and QR image


def render() -> None:
    st.title("AnalyticBot dashboards")
    notice = st.session_state.get(session.NOTICE)
    if notice:
        st.info(notice)
    if st.session_state.get(ENROL):
        _enrol(st.session_state[ENROL])
    else:
        _login_form()


def _login_form() -> None:
    with st.form("login"):
        username = st.text_input("Username", key="login.username")
        password = st.text_input("Password", type="password", key="login.password")
        code = st.text_input("Authenticator code", key="login.code",
                             help="The 6 digits your authenticator app shows. Leave it empty on your first login: "
                                  "the next step sets the app up.")
        submitted = st.form_submit_button("Log in", type="primary")
    if not submitted:
        return
    try:
        step = auth.login(session.store(), session.settings(), username, password, code, session.client_address())
    except auth.LoginRefused as exc:
        st.error(exc.message)
        return
    if step.stage == "enrol":
        st.session_state[ENROL] = {"token": step.token, "uri": step.enrolment.uri, "png": step.enrolment.qr_png}
    else:
        session.log_in(step.token)
    st.rerun()


def _enrol(pending: dict) -> None:
    st.subheader("Set up your second factor")
    st.write("Scan this QR code with an authenticator app (Aegis, Google Authenticator, 1Password, ...), then "
             "enter the 6-digit code it shows. From now on every login asks for a fresh code from the app.")
    st.image(pending["png"], width=240)
    with st.expander("Cannot scan? Add the account by hand"):
        st.code(pending["uri"], language=None)
    with st.form("enrol"):
        code = st.text_input("Code from the app", key="enrol.code")
        submitted = st.form_submit_button("Confirm", type="primary")
    if st.button("Cancel"):
        st.session_state.pop(ENROL, None)
        st.rerun()
    if not submitted:
        return
    try:
        step = auth.complete_enrolment(session.store(), session.settings(), pending["token"], code,
                                       session.client_address())
    except (auth.SessionExpired, auth.AccountLocked) as exc:
        st.session_state.pop(ENROL, None)
        st.session_state[session.NOTICE] = exc.message
        st.rerun()
    except auth.LoginRefused as exc:
        st.error(exc.message)
        return
    st.session_state.pop(ENROL, None)
    session.log_in(step.token)
    st.rerun()
