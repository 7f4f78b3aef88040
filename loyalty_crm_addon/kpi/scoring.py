# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Segments and churn risk of members, set-based.

The score (0-100) weighs three signals, each measured against the member's
own buying rhythm (the mean number of days between their orders):

* recency: days since the last order over that rhythm, ``x``;
  ``x² / (x² + 4)`` is 0.2 when an order is just due, 0.5 at twice the
  rhythm, 0.8 at four times;
* frequency: orders of the last ``WINDOW_DAYS`` against those the rhythm
  expects in that window (the shortfall, 0-1);
* spend: untaxed amount of the window against what the rhythm and the
  member's average order expect (the shortfall, 0-1).

``score = 100 × (0.6 recency + 0.25 frequency + 0.15 spend)``; the reason
names the signal weighing most. The member's own word counts too: their
last answer to the feedback question (NPS) of the last ``FEEDBACK_DAYS``
days adds ``DETRACTOR_RISK`` to the score when it is a detractor's (0-6),
named in the reason ("Gave 4/10 on 2026-03-02."), and takes
``PROMOTER_RELIEF`` off when it is a promoter's (9-10). A member with a
single order has no rhythm yet: the program's inactivity delay divided by
three stands in for it.

Where it is kept. A score moves every day for many members, so it is not
written on ``res_partner`` (a wide row under some fifty indexes: rewriting a
million of them took a minute). ``loyalty.member.score`` (table
``loyalty_member_score``) holds one narrow row per scored member, whose id
is the member's; the contact's fields read it (``res.partner``
computes them, searches them with a sub-select and joins the table to sort
and group by them, ``_field_to_sql``). The runs are methods of ``loyalty.member.score``
(``_score_members``, ``_read_scores``) and of
``loyalty.report.tier.snapshot`` (``_loyalty_backfill_program``); this file
holds their SQL and the domain and column builders of the contact's fields.
"""

from odoo.tools import SQL

SEGMENTS = [
    ("new", "New"),
    ("active", "Active"),
    ("at_risk", "At Risk"),
    ("inactive", "Inactive"),
]
WINDOW_DAYS = 180
NEW_DAYS = 30
AT_RISK_SCORE = 60
WEIGHTS = (0.6, 0.25, 0.15)
FEEDBACK_DAYS = 90
DETRACTOR_RISK = 25
PROMOTER_RELIEF = 10

# The res.partner fields kept in it, and their columns.
SCORE_COLUMNS = {
    "loyalty_segment": "segment",
    "loyalty_churn_score": "churn_score",
    "loyalty_churn_reason": "churn_reason",
    "loyalty_points_habit": "points_habit",
}

# The cards SCORE_SQL goes through, for the run's progress.
MEMBER_CARDS_SQL = """
    SELECT COUNT(*)
      FROM loyalty_card c
      JOIN loyalty_program pr ON pr.id = c.program_id
      JOIN res_company rc ON rc.loyalty_membership_program_id = pr.id
     WHERE c.partner_id IS NOT NULL
"""
SCORE_SQL = """
    WITH upto AS (
        -- Batches are ranges of card holders (keyset on the partner id): the
        -- order facts of a range are one index range, read in order.
        SELECT COALESCE((
            SELECT c.partner_id FROM loyalty_card c
              JOIN res_company rc ON rc.loyalty_membership_program_id = c.program_id
             WHERE c.partner_id > %(last)s
             ORDER BY c.partner_id OFFSET %(limit)s - 1 LIMIT 1), 2147483647) AS pid
    ),
    batch AS (
        SELECT c.id AS card_id, c.partner_id AS pid, c.create_date,
               pr.loyalty_inactivity_days AS inactivity,
               COALESCE(pr.company_id, rc.id) AS company_id
          FROM loyalty_card c
          JOIN loyalty_program pr ON pr.id = c.program_id
          JOIN res_company rc ON rc.loyalty_membership_program_id = pr.id
         WHERE c.partner_id > %(last)s AND c.partner_id <= (SELECT pid FROM upto)
    ),
    answers AS (
        -- The member's last answer to the feedback question (NPS) of the
        -- last days (index range on the member).
        SELECT DISTINCT ON (f.partner_id) f.partner_id, f.score AS nps,
               f.date::date AS nps_day
          FROM loyalty_feedback f
         WHERE f.partner_id > %(last)s AND f.partner_id <= (SELECT pid FROM upto)
           AND f.date >= %(feedback_since)s AND f.date < %(today)s::date + 1
         ORDER BY f.partner_id, f.date DESC, f.id DESC
    ),
    holders AS (
        SELECT b.*, rp.loyalty_last_activity_date AS last_activity,
               ms.segment AS old_segment, ms.points_habit AS old_habit,
               a.nps, a.nps_day
          FROM batch b JOIN res_partner rp ON rp.id = b.pid
          LEFT JOIN loyalty_member_score ms ON ms.partner_id = b.pid
          LEFT JOIN answers a ON a.partner_id = b.pid
    ),
    stats AS (
        -- The members' orders, from the order facts (kpi/order_facts.py):
        -- one ordered index range per batch.
        SELECT f.partner_id, f.company_id, COUNT(*) AS n, MIN(f.day) AS first,
               MAX(f.day) AS last, SUM(f.amount) AS amount,
               COUNT(*) FILTER (WHERE f.day > %(window_start)s) AS n_recent,
               COALESCE(SUM(f.amount) FILTER (WHERE f.day > %(window_start)s), 0)
                   AS amount_recent
          FROM loyalty_kpi_order f
         WHERE f.partner_id > %(last)s AND f.partner_id <= (SELECT pid FROM upto)
           AND f.day <= %(today)s
         GROUP BY 1, 2
    ),
    rhythm AS (
        SELECT h.card_id, h.pid, h.inactivity, h.last_activity, h.old_segment,
               h.old_habit, h.nps, h.nps_day,
               LEAST(h.create_date::date, s.first) AS since,
               COALESCE(s.n, 0) AS n, s.amount, COALESCE(s.n_recent, 0) AS n_recent,
               COALESCE(s.amount_recent, 0) AS amount_recent, s.last,
               GREATEST(CASE WHEN s.n >= 2
                             THEN (s.last - s.first)::float / (s.n - 1)
                             ELSE h.inactivity / 3.0 END, 1.0) AS gap,
               %(today)s::date - COALESCE(s.last, h.create_date::date) AS recency,
               LEAST(%(window)s, %(today)s::date
                     - COALESCE(s.first, h.create_date::date)) AS span
          FROM holders h
          LEFT JOIN stats s ON s.partner_id = h.pid AND s.company_id = h.company_id
    ),
    signals AS (
        SELECT r.*, (r.recency / r.gap) ^ 2 / ((r.recency / r.gap) ^ 2 + 4) AS s_r,
               CASE WHEN r.n = 0 OR r.span / r.gap < 1 THEN 0
                    ELSE GREATEST(0, 1 - r.n_recent / (r.span / r.gap)) END AS s_f,
               CASE WHEN r.n = 0 OR r.span / r.gap < 1 OR r.amount <= 0 THEN 0
                    ELSE GREATEST(0, 1 - r.amount_recent
                         / (r.span / r.gap * r.amount / r.n)) END AS s_m
          FROM rhythm r
    ),
    scored AS (
        SELECT s.*,
               ROUND(100 * (%(w_r)s * s_r + %(w_f)s * s_f + %(w_m)s * s_m))::int
                   AS base_score,
               CASE WHEN %(w_r)s * s_r >= GREATEST(%(w_f)s * s_f, %(w_m)s * s_m)
                    THEN 'r'
                    WHEN %(w_f)s * s_f >= %(w_m)s * s_m THEN 'f' ELSE 'm' END
                   AS factor,
               COALESCE(s.old_habit = 'redeemer', FALSE) OR rd.x IS NOT NULL
                   AS redeemer,
               s.old_habit IS NOT NULL OR er.x IS NOT NULL AS earner
          FROM signals s
          -- Ledger lines are never deleted: a redeemer stays one, and so
          -- does an earner. Index probes (partial redeem index, tier index)
          -- only for the members not known to be one yet.
          LEFT JOIN LATERAL (
              SELECT 1 AS x FROM loyalty_ledger_line l
               WHERE s.old_habit IS DISTINCT FROM 'redeemer'
                 AND l.card_id = s.card_id AND l.entry_type = 'redeem' LIMIT 1
          ) rd ON TRUE
          LEFT JOIN LATERAL (
              SELECT 1 AS x FROM loyalty_ledger_line l
               WHERE s.old_habit IS NULL
                 AND l.card_id = s.card_id AND l.tier_qualifying AND l.points > 0
               LIMIT 1
          ) er ON TRUE
    ),
    judged AS (
        -- The member's last answer moves the score: up for a detractor,
        -- down for a promoter.
        SELECT sc.*,
               GREATEST(0, LEAST(100, base_score + CASE
                   WHEN nps <= %(detractor_max)s THEN %(detractor_risk)s
                   WHEN nps >= %(promoter_min)s THEN -%(promoter_relief)s
                   ELSE 0 END))::int AS score,
               CASE WHEN nps <= %(detractor_max)s THEN replace(replace(
                   %(t_detractor)s, '{score}', nps::text), '{date}', nps_day::text)
               END AS said
          FROM scored sc
    ),
    final AS MATERIALIZED (
        -- One row per member (their first card, when they hold several).
        SELECT DISTINCT ON (pid) pid, card_id, old_segment, score,
               CASE WHEN since >= %(new_since)s THEN 'new'
                    WHEN COALESCE(last_activity, since)
                         <= %(today)s::date - inactivity THEN 'inactive'
                    WHEN score >= %(at_risk)s THEN 'at_risk'
                    ELSE 'active' END AS segment,
               CASE WHEN said IS NOT NULL AND n > 0 AND base_score < 20 THEN said
                    ELSE concat_ws(' ', CASE WHEN n = 0 THEN %(t_none)s
                    WHEN base_score < 20 THEN %(t_fine)s
                    WHEN factor = 'r' THEN replace(replace(%(t_recency)s,
                         '{date}', last::text), '{rhythm}', ROUND(gap)::text)
                    WHEN factor = 'f' THEN replace(replace(%(t_frequency)s,
                         '{orders}', n_recent::text),
                         '{expected}', ROUND((span / gap)::numeric, 1)::text)
                    ELSE replace(replace(%(t_spend)s,
                         '{amount}', ROUND(amount_recent::numeric, 2)::text),
                         '{expected}',
                         ROUND((span / gap * amount / n)::numeric, 2)::text)
               END, said) END AS reason,
               CASE WHEN redeemer THEN 'redeemer'
                    WHEN earner THEN 'earn_only' END AS habit
          FROM judged
         ORDER BY pid, card_id
    ),
    updated AS (
        INSERT INTO loyalty_member_score AS ms (
            id, partner_id, segment, churn_score, churn_reason, points_habit)
        SELECT pid, pid, segment, score, reason, habit FROM final
        ON CONFLICT (id) DO UPDATE
           SET segment = excluded.segment, churn_score = excluded.churn_score,
               churn_reason = excluded.churn_reason,
               points_habit = excluded.points_habit
         WHERE (ms.segment, ms.churn_score, ms.churn_reason, ms.points_habit)
               IS DISTINCT FROM (excluded.segment, excluded.churn_score,
                                 excluded.churn_reason, excluded.points_habit)
        RETURNING ms.partner_id
    )
    SELECT (SELECT COUNT(*) FROM batch), (SELECT MAX(pid) FROM batch),
           (SELECT COUNT(*) FROM updated),
           -- Members the run moves into the at-risk segment (not those
           -- scored for the first time, nor those at risk already).
           (SELECT COALESCE(array_agg(card_id ORDER BY card_id), '{}')
              FROM final
             WHERE segment = 'at_risk' AND old_segment IS NOT NULL
               AND old_segment <> 'at_risk')
"""

SNAPSHOT_SQL = """
    DELETE FROM loyalty_report_tier_snapshot WHERE month = %(month)s;
    INSERT INTO loyalty_report_tier_snapshot (
        month, program_id, company_id, tier_id, segment, member_count,
        create_uid, create_date, write_uid, write_date)
    SELECT %(month)s, c.program_id, COALESCE(c.company_id, pr.company_id),
           c.loyalty_tier_id, ms.segment, COUNT(*),
           %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
      FROM loyalty_card c
      JOIN loyalty_program pr ON pr.id = c.program_id
      LEFT JOIN loyalty_member_score ms ON ms.partner_id = c.partner_id
     WHERE pr.id IN (SELECT loyalty_membership_program_id FROM res_company)
       AND c.partner_id IS NOT NULL
     GROUP BY 2, 3, 4, 5;
"""


BACKFILL_SQL = """
    WITH months AS (
        SELECT generate_series(
                   date_trunc('month', %(today)s::date)
                       - make_interval(months => %(months)s),
                   date_trunc('month', %(today)s::date) - interval '1 month',
                   interval '1 month')::date AS month
    ),
    todo AS (
        SELECT month FROM months m WHERE NOT EXISTS (
            SELECT 1 FROM loyalty_report_tier_snapshot s
             WHERE s.program_id = %(program)s AND s.month = m.month)
    ),
    cards AS (
        SELECT c.id, c.create_date, COALESCE(c.company_id, pr.company_id) AS company_id,
               pr.loyalty_tier_window_days AS window
          FROM loyalty_card c JOIN loyalty_program pr ON pr.id = c.program_id
         WHERE pr.id = %(program)s
    ),
    held AS (
        SELECT t.month, c.id, c.company_id,
               (SELECT COALESCE(SUM(l.points), 0) FROM loyalty_ledger_line l
                 WHERE l.card_id = c.id AND l.tier_qualifying
                   AND l.date < t.month + interval '1 month'
                   AND l.date >= t.month + interval '1 month'
                                - make_interval(days => c.window)) AS points
          FROM todo t JOIN cards c
            ON c.create_date < t.month + interval '1 month'
            OR EXISTS (SELECT 1 FROM loyalty_ledger_line l
                        WHERE l.card_id = c.id
                          AND l.date < t.month + interval '1 month')
    )
    INSERT INTO loyalty_report_tier_snapshot (
        month, program_id, company_id, tier_id, segment, member_count,
        create_uid, create_date, write_uid, write_date)
    SELECT h.month, %(program)s, h.company_id,
           (SELECT t.id FROM loyalty_tier t
             WHERE t.program_id = %(program)s AND t.threshold <= h.points
             ORDER BY t.threshold DESC LIMIT 1),
           NULL, COUNT(*),
           %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
      FROM held h GROUP BY 1, 3, 4
"""


def _scored(condition):
    """The contacts whose score row meets ``condition`` (on ``ms``)."""
    return SQL(
        "(SELECT ms.partner_id FROM loyalty_member_score ms WHERE %s)", condition
    )


NEGATIONS = {
    "!=": "=",
    "<>": "=",
    "not in": "in",
    "not like": "like",
    "not ilike": "ilike",
}
LIKES = {
    "like": SQL("LIKE"),
    "ilike": SQL("ILIKE"),
    "=like": SQL("LIKE"),
    "=ilike": SQL("ILIKE"),
}
COMPARISONS = {op: SQL(op) for op in ("=", "<", "<=", ">", ">=")}


def score_domain(fname, operator, value):
    """The res.partner domain of ``(fname, operator, value)`` on a field
    kept in the score table, with the ORM's meaning: a contact that was
    never scored holds no value, and negative operators include the
    contacts without a value, as on a stored field."""
    column = SQL.identifier("ms", SCORE_COLUMNS[fname])
    if operator in NEGATIONS:
        positive = score_domain(fname, NEGATIONS[operator], value)
        return ["!", *positive]
    if operator == "in":
        values = list(value) if isinstance(value, (list, tuple, set)) else [value]
        present = [v for v in values if v is not False and v is not None]
        domain = [("id", "in", _scored(SQL("%s = ANY(%s)", column, present)))]
        if len(present) < len(values):
            domain = ["|", *domain, *score_domain(fname, "=", False)]
        return domain
    if operator == "=" and (value is False or value is None):
        return [("id", "not in", _scored(SQL("%s IS NOT NULL", column)))]
    if operator in LIKES:
        pattern = value if operator.startswith("=") else f"%{value}%"
        condition = SQL("%s %s %s", column, LIKES[operator], pattern)
    elif operator in COMPARISONS:
        condition = SQL("%s %s %s", column, COMPARISONS[operator], value)
    else:
        raise ValueError(f"Unsupported operator {operator!r} on {fname}")
    return [("id", "in", _scored(condition))]


def score_column_sql(alias, fname, query):
    """The SQL value of a score field of the contacts ``alias`` (a join on
    the score table in ``query``; a sub-select without one)."""
    column = SCORE_COLUMNS[fname]
    if query is None:
        return SQL(
            "(SELECT ms.%s FROM loyalty_member_score ms WHERE ms.partner_id = %s)",
            SQL.identifier(column),
            SQL.identifier(alias, "id"),
        )
    score = query.make_alias(alias, "loyalty_score")
    query.add_join(
        "LEFT JOIN",
        score,
        "loyalty_member_score",
        SQL(
            "%s = %s", SQL.identifier(score, "partner_id"), SQL.identifier(alias, "id")
        ),
    )
    return SQL.identifier(score, column)
