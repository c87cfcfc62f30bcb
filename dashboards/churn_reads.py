"""The churn-risk list the team works from: `ml.churn_scores` (riskiest first, with the model's top three
reasons) next to each customer's tenure and last payment, from the published snapshot.

Tenure is counted the way the model counts it (`models_ml.churn.features_at`): from the customer's first paid
full period (proration lines are part-period top-ups, not a start) to the moment the scores were cut. The last
payment is the newest charge (refunds and disputes are not payments) at or before that moment, so a row shows
what the model saw. SQL runs on both engines (`?` placeholders, no engine-specific functions).
"""

from __future__ import annotations

import polars as pl

from analyticbot.snapshot import ReadConnection, SnapshotReader

TABLE = "ml.churn_scores"
STATUSES = ("scored", "cancellation_requested")
ADMIN_USERS_URL = "admin-users"  # the admin panel's users page (dashboards/views/admin_users.py)
COLUMNS = ("risk_rank", "customer_id", "user_id", "plan_code", "gateway", "churn_probability", "status",
           "reason_1", "reason_2", "reason_3", "tenure_days", "last_payment_at", "last_payment_usd",
           "last_payment_gateway", "period_end", "source", "model_version", "scored_at")

_RANKED = """
WITH scores AS (
    SELECT * FROM ml.churn_scores WHERE status IN ({statuses})
),
first_paid AS (
    SELECT p.customer_id, min(p.paid_at) AS first_paid_at
    FROM marts.fct_subscription_periods AS p INNER JOIN scores AS s ON s.customer_id = p.customer_id
    WHERE NOT coalesce(p.is_proration, FALSE) AND p.paid_at <= s.scored_at
    GROUP BY p.customer_id
),
charges AS (
    SELECT c.customer_id, c.occurred_at, c.amount_usd, c.gateway,
           row_number() OVER (PARTITION BY c.customer_id ORDER BY c.occurred_at DESC, c.payment_id DESC) AS recency
    FROM marts.fct_payments AS c INNER JOIN scores AS s ON s.customer_id = c.customer_id
    WHERE c.movement_type = 'charge' AND c.occurred_at <= s.scored_at
)
SELECT s.risk_rank, s.customer_id, s.user_id, s.plan_code, s.gateway, s.churn_probability, s.status,
       s.reason_1, s.reason_2, s.reason_3,
       CAST(s.scored_at AS DATE) - CAST(f.first_paid_at AS DATE) AS tenure_days,
       c.occurred_at AS last_payment_at, CAST(c.amount_usd AS DOUBLE PRECISION) AS last_payment_usd,
       c.gateway AS last_payment_gateway, s.period_end, s.source, s.model_version, s.scored_at
FROM scores AS s
LEFT JOIN first_paid AS f ON f.customer_id = s.customer_id
LEFT JOIN charges AS c ON c.customer_id = s.customer_id AND c.recency = 1
ORDER BY s.risk_rank
"""


def _statuses(statuses: tuple[str, ...]) -> tuple[str, ...]:
    bad = [s for s in statuses if s not in STATUSES]
    if bad or not statuses:
        raise ValueError(f"statuses must be among {', '.join(STATUSES)}")
    return statuses


def available(con: ReadConnection) -> bool:
    """Whether the snapshot holds scores at all (no churn model could be trained yet: no table, or an empty one)."""
    schema, table = TABLE.split(".")
    found = con.query("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = ? "
                      "AND table_name = ?", [schema, table])
    return bool(found["n"][0])


def summary(con: ReadConnection) -> dict:
    """How many customers are scored and how (model or baseline, which version, when)."""
    rows = con.query("SELECT status, source, model_version, max(scored_at) AS scored_at, count(*) AS customers "
                     "FROM ml.churn_scores GROUP BY status, source, model_version").to_dicts()
    by_status = {s: sum(r["customers"] for r in rows if r["status"] == s) for s in STATUSES}
    scored = [r for r in rows if r["status"] == "scored"] or rows
    return {"customers": sum(r["customers"] for r in rows), "by_status": by_status,
            "source": scored[0]["source"] if scored else None,
            "model_version": scored[0]["model_version"] if scored else None,
            "scored_at": max((r["scored_at"] for r in rows if r["scored_at"] is not None), default=None)}


def count(con: ReadConnection, statuses: tuple[str, ...] = ("scored",)) -> int:
    statuses = _statuses(statuses)
    found = con.query(f"SELECT count(*) AS n FROM ml.churn_scores WHERE status IN ({', '.join('?' for _ in statuses)})",
                      list(statuses))
    return int(found["n"][0])


def ranked(con: ReadConnection, statuses: tuple[str, ...] = ("scored",), *, offset: int = 0,
           limit: int | None = None) -> list[dict]:
    """Customers by risk rank (riskiest first) with tenure and last payment; `limit` rows from `offset` (all of
    them without a limit: the CSV export)."""
    statuses = _statuses(statuses)
    sql = _RANKED.format(statuses=", ".join("?" for _ in statuses))
    params: list = list(statuses)
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [int(limit), max(int(offset), 0)]
    return con.query(sql, params).to_dicts()


def frame(rows: list[dict]) -> pl.DataFrame:
    """`ranked` rows as a frame with every column, typed even where a page has only nulls in one."""
    return pl.DataFrame(rows, schema_overrides={"last_payment_usd": pl.Float64, "user_id": pl.Int64},
                        infer_schema_length=None).select(COLUMNS) if rows else pl.DataFrame(
        schema={c: pl.String for c in COLUMNS})


def export_csv(reader: SnapshotReader, version: str, statuses: tuple[str, ...]) -> bytes:
    """The whole ranked list of snapshot `version` as CSV: what the page shows, every page of it. Called when the
    download is clicked (a connection of its own), pinned to the version the page showed."""
    with reader.connect(version) as con:
        return frame(ranked(con, statuses)).write_csv().encode()


def admin_link(user_id: int | None) -> str | None:
    """The customer on the admin panel's users page (a relative URL: it works under any base path). Customers
    known only by a Stripe customer id have no Telegram account to open there."""
    return None if user_id is None else f"{ADMIN_USERS_URL}?user={int(user_id)}"
