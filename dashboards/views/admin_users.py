"""Admin: find a user (Telegram id, or a channel's title or @username), see them (language, zone, role, plan in
force, channels, orders), and suspend them, change their plan or give them the bot's admin role. `?user=<id>`
opens one user directly. Every change is an audited admin action (dashboards.admin_panel)."""

from __future__ import annotations

import streamlit as st

from analyticbot.payments.catalogue import PLANS_BY_CODE
from analyticbot.snapshot import SnapshotReader
from dashboards import admin_panel, session
from dashboards.views import admin_common as common

TITLE = "Users"
ROLE = common.ROLE
GROUP = common.GROUP
URL = "admin-users"
ICON = ":material/manage_accounts:"


def render() -> None:
    principal = session.guard(ROLE, TITLE)
    st.title(TITLE)
    common.flash()
    store, settings = session.store(), session.settings()
    query = st.text_input("Search by Telegram user id, channel title or @username", key="users.search")
    if query.strip():
        with store.transaction() as s:
            found = admin_panel.search_users(s, query)
        if found:
            st.dataframe(found, hide_index=True, width="stretch")
        else:
            st.info(f"No user matches {query.strip()!r}.")
    typed = st.text_input("Open user (Telegram id)", value=st.query_params.get("user", ""), key="users.open")
    if not typed.strip():
        return
    if not typed.strip().isdigit() or len(typed.strip()) > 19:
        st.error("A Telegram user id is a number, like 123456789.")
        return
    user_id = int(typed.strip())
    st.query_params["user"] = str(user_id)  # the address of this view, to share or bookmark
    snapshots = SnapshotReader(settings)
    user = admin_panel.user_detail(store, snapshots, user_id)
    if user is None:
        st.warning(f"No user {user_id}: they have not started the bot.")
        return
    _show(user)
    _actions(principal, user, snapshots)


def _show(user: dict) -> None:
    st.subheader(f"User {user['user_id']}")
    plan = user["plan"]
    until = f" until {plan['until']} UTC" if plan["until"] else ""
    st.markdown(
        f"- Language **{user['language']}**, time zone **{user['time_zone']}**\n"
        f"- Bot role **{user['role']}**\n"
        f"- Started the bot {user['created_at']} UTC; "
        f"{'blocked the bot ' + user['blocked_at'] + ' UTC' if user['blocked_at'] else 'has not blocked the bot'}\n"
        f"- {'**Suspended** since ' + user['suspended_at'] + ' UTC' if user['suspended_at'] else 'Not suspended'}\n"
        f"- Plan in force **{plan['plan_code']}** ({plan['source']}){until}")
    st.markdown("**Channels**")
    if user["channels"]:
        st.dataframe(user["channels"], hide_index=True, width="stretch")
    else:
        st.caption("No channels.")
    st.markdown("**Orders**")
    if user["orders"]:
        st.dataframe(user["orders"], hide_index=True, width="stretch")
    else:
        st.caption("No orders.")


def _actions(principal, user: dict, snapshots: SnapshotReader) -> None:
    store, settings = session.store(), session.settings()
    user_id = user["user_id"]
    st.markdown("**Change**")
    suspended, admin = bool(user["suspended_at"]), user["role"] == "admin"
    toggles = (
        ("Lift the suspension", "users.unsuspend", f"User {user_id} may use the bot again.") if suspended else
        ("Suspend", "users.suspend", f"User {user_id} is suspended: the bot now refuses them politely."),
        ("Revoke the bot admin role", "users.revoke_admin", f"User {user_id} is no longer a bot admin.") if admin
        else ("Grant the bot admin role", "users.grant_admin",
              f"User {user_id} is a bot admin now (/user, /broadcast)."))
    changes = (lambda: admin_panel.set_suspended(store, settings, principal, user_id, not suspended),
               lambda: admin_panel.set_bot_admin(store, settings, principal, user_id, not admin))
    for column, (label, key, done), change in zip(st.columns(2), toggles, changes):
        if column.button(label, key=key):
            common.run(change, done)
    with st.form("users.plan"):
        code = st.text_input("Grant a plan", key="users.plan_code",
                             help=f"One of {', '.join(PLANS_BY_CODE)}: one period from now, replacing an earlier "
                                  "grant; free ends the grant. Periods paid on a gateway stay.")
        if st.form_submit_button("Change plan"):
            common.run(lambda: admin_panel.change_plan(store, settings, snapshots, principal, user_id, code),
                       lambda plan: f"Plan in force for user {user_id}: {plan.spec.plan_code} ({plan.source}).")
