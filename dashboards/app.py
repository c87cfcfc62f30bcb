"""The team's dashboards (issue 7): `make dashboards` serves this with `streamlit run dashboards/app.py`.

Nobody sees a page before logging in; after that, the navigation lists the pages of `dashboards.views.PAGES`
that the account's role may open.
"""

from __future__ import annotations

import streamlit as st

from dashboards import session
from dashboards.views import PAGES, login

st.set_page_config(page_title="AnalyticBot", page_icon=":material/insights:", layout="wide")

principal = session.current_principal()
session.write_cookie()
if principal is None:
    page = st.navigation([st.Page(login.render, title="Log in", url_path="login", default=True)],
                         position="hidden")
else:
    sections: dict[str, list] = {}
    allowed = [p for p in PAGES if principal.can(p.ROLE)]
    for n, module in enumerate(allowed):
        sections.setdefault(module.GROUP, []).append(
            st.Page(module.render, title=module.TITLE, url_path=module.URL, icon=module.ICON, default=n == 0))
    with st.sidebar:
        st.markdown(f"**{principal.username}** · {principal.role}")
        st.button("Log out", on_click=session.log_out, key="logout")
    page = st.navigation(sections)
page.run()
