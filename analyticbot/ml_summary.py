"""What the models say, as text for `analyticbot demo` / `analyticbot summary`: each channel's best posting slots
and the customers most at risk of churning, read from the published snapshot (never the live warehouse).
"""

from __future__ import annotations

from analyticbot.settings import Settings
from analyticbot.snapshot import ReadConnection, SnapshotReader, SnapshotUnavailable

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # ml.best_time_slots.weekday: 0 = Monday


def _has_table(con: ReadConnection, schema: str, name: str) -> bool:
    found = con.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? "
                      "AND table_name = ?", [schema, name])
    return bool(found["n"][0])


def _signed_pct(relative: float | None) -> str:
    """1.23 (x the channel's average post) -> "+23%"."""
    if relative is None:
        return "?"
    return f"{(relative - 1.0) * 100:+.0f}%"


def slot_text(weekday: int, hour: int, relative: float | None, lower: float | None, upper: float | None) -> str:
    """ "Tue 18:00 +23% (-4%..+52%)": local weekday and hour, expected reach against the channel's average post,
    and the 80% interval of a typical post there."""
    text = f"{WEEKDAYS[int(weekday) % 7]} {int(hour):02d}:00 {_signed_pct(relative)}"
    if lower is not None and upper is not None:
        text += f" ({_signed_pct(lower)}..{_signed_pct(upper)})"
    return text


def format_best_slots(settings: Settings) -> str:
    """Each channel's three best local posting slots, or why there are none ("not enough data")."""
    try:
        with SnapshotReader(settings).connect() as con:
            if not _has_table(con, "ml", "best_time_slots"):
                return "Best times to post: not published yet (the best_time model has not run)."
            channels = con.query("SELECT channel_id, title, time_zone FROM marts.dim_channels ORDER BY title, "
                                 "channel_id")
            slots = con.query(
                "SELECT channel_id, weekday, hour, expected_relative_reach, relative_reach_lower, "
                "relative_reach_upper, source FROM ml.best_time_slots WHERE rank <= 3 ORDER BY channel_id, rank")
            status = (con.query("SELECT channel_id, status, reason FROM ml.channel_model_status "
                                "WHERE model = 'best_time'")
                      if _has_table(con, "ml", "channel_model_status") else None)
    except SnapshotUnavailable as exc:
        return str(exc)
    reasons = {} if status is None else {c: (s, r) for c, s, r in status.iter_rows()}
    by_channel: dict[int, list[tuple]] = {}
    for row in slots.iter_rows():
        by_channel.setdefault(row[0], []).append(row[1:])
    lines = ["Best times to post (the channel's local time; expected views at 24 h against its average post, "
             "80% range of a typical post):"]
    names = {c: f"{title or c} ({tz or 'UTC'})" for c, title, tz in channels.iter_rows()}
    width = max(map(len, names.values()), default=0)
    for channel_id, name in names.items():
        found = by_channel.get(channel_id, [])
        state, reason = reasons.get(channel_id, (None, None))
        if not found or state == "not_enough_data":
            why = f": {reason}" if reason else ""
            lines.append(f"  {name:<{width}}  not enough data{why}")
            continue
        shown = "   ".join(slot_text(w, h, r, lo, hi) for w, h, r, lo, hi, _ in found)
        note = "  [historical hourly mean: no model serves yet]" if found[0][-1] == "baseline" else ""
        lines.append(f"  {name:<{width}}  {shown}{note}")
    return "\n".join(lines)


def format_churn_risk(settings: Settings, limit: int = 5) -> str:
    """The `limit` paying customers most at risk of not renewing, with the top reasons. Customers who already
    asked to cancel are a known outcome, not a risk: they are counted on one line instead of filling the list."""
    try:
        with SnapshotReader(settings).connect() as con:
            if not _has_table(con, "ml", "churn_scores"):
                return "Churn risk: not published yet (no churn model could be trained)."
            top = con.query(
                "SELECT customer_id, plan_code, gateway, period_end, churn_probability, reason_1, reason_2, "
                "reason_3, source, model_version, scored_at FROM ml.churn_scores WHERE status = 'scored' "
                "ORDER BY risk_rank LIMIT ?", [limit])
            leaving = con.query("SELECT count(*) AS n FROM ml.churn_scores WHERE status = 'cancellation_requested'")
    except SnapshotUnavailable as exc:
        return str(exc)
    if top.is_empty():
        return "Churn risk: no paying customers to score."
    by = (f"model {top['model_version'][0]}" if top["source"][0] == "model"
          else "the best baseline: no churn model has passed its gate yet")
    lines = [f"Customers most at risk of not renewing (as of {top['scored_at'][0]:%Y-%m-%d %H:%M} UTC; scored by "
             f"{by}):",
             f"  {'customer':<16} {'plan':<16} {'gateway':<8} {'period end':<10} {'risk':>5}  why"]
    for row in top.iter_rows(named=True):
        why = "; ".join(r for r in (row["reason_1"], row["reason_2"], row["reason_3"]) if r) or "-"
        end = f"{row['period_end']:%Y-%m-%d}" if row["period_end"] is not None else "?"
        lines.append(f"  {row['customer_id']:<16} {row['plan_code'] or '?':<16} {row['gateway'] or '?':<8} "
                     f"{end:<10} {row['churn_probability']:>5.0%}  {why}")
    n = int(leaving["n"][0])
    if n:
        lines.append(f"  ... and {n} customer{'s' if n != 1 else ''} already asked to cancel at the end of the "
                     "paid period.")
    return "\n".join(lines)
