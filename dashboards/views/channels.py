"""Channels: find any channel and see what its owner sees in the bot and the Mini App (growth, reach, ERR/ER,
best times, top posts, how posts' views accrue), through the same `analyticbot.channel_reads` functions."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from analyticbot import channel_reads
from analyticbot.ml_summary import WEEKDAYS
from analyticbot.snapshot import SnapshotReader, SnapshotUnavailable
from dashboards import channels_reads, session

TITLE = "Channels"
ROLE = "viewer"
GROUP = "Channels"
URL = "channels"
ICON = ":material/campaign:"
PERIODS = (7, 30, 90)
TOP_POSTS = 20
DECAY_POSTS = 5  # decay curves of this many top posts: one line each stays readable


def render() -> None:
    session.guard(ROLE, TITLE)
    st.title(TITLE)
    try:
        with SnapshotReader(session.settings()).connect() as con:
            _render(con)
    except SnapshotUnavailable as exc:
        st.warning(f"{exc}.")


def _render(con) -> None:
    text = st.text_input("Search channels", key="channels.search", placeholder="title or @username")
    found = channels_reads.search(con, text)
    if not found:
        st.info(f"No channel matches “{text}”.")
        return
    labels = {ch["channel_id"]: channels_reads.label(ch) for ch in found}
    channel_id = st.selectbox("Channel", list(labels), format_func=labels.get, key="channels.pick")
    ch = next(c for c in found if c["channel_id"] == channel_id)
    days = st.radio("Period", PERIODS, format_func=lambda n: f"{n} days", horizontal=True, key="channels.days")
    ov = channel_reads.overview(con, ch, days)
    st.subheader(labels[channel_id])
    st.caption(f"Time zone {ch['time_zone'] or 'UTC'} · status {ch['status']}"
               + ("" if ch["reach_available"] else " · reach not available (a Telegram Desktop export has no views)"))
    _headline(ov)
    tabs = st.tabs(["Growth and reach", "Best times", "Top posts", "Decay"])
    with tabs[0]:
        _growth(ov)
    with tabs[1]:
        _best_times(con, ch)
    with tabs[2]:
        posts = _top_posts(con, ch)
    with tabs[3]:
        _decay(con, ch, posts)


def _number(v, pattern: str = "{:,.0f}") -> str:
    return "n/a" if v is None else pattern.format(v)


def _headline(ov: dict) -> None:
    """The overview's numbers as the owner reads them (trailing 30 days on the newest day for the post metrics)."""
    cols = st.columns(6)
    delta = None if ov["growth"] is None else f"{ov['growth']:+,} ({_number(ov['growth_pct'], '{:+.1%}')})"
    cols[0].metric("Subscribers", _number(ov["subscribers"]), delta)
    cols[1].metric(f"Posts ({ov['days']} d)", _number(ov["posts"]))
    cols[2].metric("Avg post reach", _number(ov["avg_post_reach"]))
    cols[3].metric("ERR", _number(ov["err"], "{:.1%}"))
    cols[4].metric("ERR24", _number(ov["err24"], "{:.1%}"))
    cols[5].metric("ER", _number(ov["er"], "{:.2%}"))
    if ov["date_to"] is not None:
        st.caption(f"{ov['date_from']:%Y-%m-%d} – {ov['date_to']:%Y-%m-%d} (the newest day in the snapshot).")


def _growth(ov: dict) -> None:
    if not ov["daily"]:
        st.info("No daily numbers for this channel yet.")
        return
    daily = pl.DataFrame(ov["daily"], infer_schema_length=None)
    base = alt.Chart(daily.to_pandas()).encode(x=alt.X("date:T", title=None))
    st.altair_chart(base.mark_line().encode(y=alt.Y("subscribers:Q", title="Subscribers",
                                                    scale=alt.Scale(zero=False))), width="stretch")
    st.altair_chart(base.mark_bar().encode(y=alt.Y("daily_reach:Q", title="Daily reach (views gained)")),
                    width="stretch")
    long = daily.select("date", "err", "err24", "er").unpivot(index="date", variable_name="metric")
    st.altair_chart(alt.Chart(long.to_pandas()).mark_line().encode(
        x=alt.X("date:T", title=None), y=alt.Y("value:Q", title="Rate", axis=alt.Axis(format="%")),
        color=alt.Color("metric:N", title=None)), width="stretch")
    st.dataframe(daily, hide_index=True, key="channels.daily")
    st.download_button("Daily numbers (CSV)", daily.write_csv(), file_name=f"channel_{ov['channel_id']}_daily.csv",
                       mime="text/csv", key="channels.daily_csv")


def _best_times(con, ch: dict) -> None:
    best = channel_reads.best_times(con, ch)
    slots = pl.DataFrame(best["slots"], infer_schema_length=None)
    if slots.is_empty():
        st.info(f"No best times yet: {best.get('reason') or best['status']}.")
    else:
        if best.get("source") == "baseline":
            st.caption("From the channel's historical hourly mean: no model serves this channel yet.")
        shown = slots.with_columns(day=pl.col("weekday").map_elements(lambda w: WEEKDAYS[w % 7],
                                                                      return_dtype=pl.String))
        st.dataframe(shown.head(10).select("rank", "day", "hour", "expected_relative_reach", "relative_reach_lower",
                                           "relative_reach_upper", "posts_observed"),
                     hide_index=True, key="channels.slots")
        st.download_button("Best times (CSV)", slots.write_csv(),
                           file_name=f"channel_{ch['channel_id']}_best_times.csv", mime="text/csv",
                           key="channels.slots_csv")
    cells = pl.DataFrame(channel_reads.heatmap(con, ch)["cells"], infer_schema_length=None)
    if cells.is_empty():
        return
    cells = cells.with_columns(day=pl.col("weekday").map_elements(lambda w: WEEKDAYS[w % 7], return_dtype=pl.String))
    st.altair_chart(alt.Chart(cells.to_pandas()).mark_rect().encode(
        x=alt.X("hour:O", title=f"Hour ({ch['time_zone'] or 'UTC'})"),
        y=alt.Y("day:O", sort=list(WEEKDAYS), title=None),
        color=alt.Color("mean_views_24h_per_subscriber:Q", title="Views 24 h / subscriber"),
        tooltip=["day", "hour", "posts", "mean_views_24h_per_subscriber"]), width="stretch")
    st.download_button("Heatmap (CSV)", cells.write_csv(), file_name=f"channel_{ch['channel_id']}_heatmap.csv",
                       mime="text/csv", key="channels.heatmap_csv")


def _top_posts(con, ch: dict) -> list[dict]:
    sort = st.selectbox("Top posts by", channel_reads.POST_SORTS, key="channels.sort")
    page = channel_reads.posts_page(con, ch, sort=sort, order="desc", limit=TOP_POSTS, cursor=None)
    posts = page["items"]
    if not posts:
        st.info("No posts yet.")
        return []
    frame = pl.DataFrame(posts, infer_schema_length=None)
    st.dataframe(frame, hide_index=True, key="channels.posts",
                 column_config={"link": st.column_config.LinkColumn("Post", display_text="open"),
                                "er": st.column_config.NumberColumn("ER", format="percent")})
    st.download_button("Top posts (CSV)", frame.write_csv(), file_name=f"channel_{ch['channel_id']}_top_posts.csv",
                       mime="text/csv", key="channels.posts_csv")
    return posts


def _decay(con, ch: dict, posts: list[dict]) -> None:
    curves = []
    for post in posts[:DECAY_POSTS]:
        detail = channel_reads.post_detail(con, ch, post["message_id"])
        curves += [{"message_id": post["message_id"], **d} for d in (detail or {}).get("decay", [])]
    if not curves:
        st.info("No decay curves: views at fixed ages need repeated readings of each post.")
        return
    frame = pl.DataFrame(curves, infer_schema_length=None)
    st.caption(f"Share of the latest views reached by each age, for the top {min(DECAY_POSTS, len(posts))} posts.")
    st.altair_chart(alt.Chart(frame.to_pandas()).mark_line(point=True).encode(
        x=alt.X("age_hours:Q", title="Post age (hours)"),
        y=alt.Y("share_of_latest:Q", title="Share of latest views", axis=alt.Axis(format="%")),
        color=alt.Color("message_id:N", title="Post")), width="stretch")
    st.download_button("Decay curves (CSV)", frame.write_csv(), file_name=f"channel_{ch['channel_id']}_decay.csv",
                       mime="text/csv", key="channels.decay_csv")
