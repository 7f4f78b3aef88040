# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Progress of achievements (``loyalty.achievement``), set-based: one
statement per achievement and batch of cards computes every member's
progress from the ledger (orders, spend, streak), the referrals or the
feedback answers, and writes it into ``loyalty_achievement_member``.

Parameters of every query: ``program``, ``cards`` (int[] or NULL for every
card of the program), ``tiers`` (int[] or NULL for every tier), ``start``
and ``end`` (timestamps, ``end`` excluded; NULL = unbounded)."""

# The members in scope: cards of the program (of the tiers).
SCOPE_SQL = """
    scope AS (
        SELECT c.id AS card_id, c.partner_id
          FROM loyalty_card c
         WHERE c.program_id = %(program)s AND c.partner_id IS NOT NULL
           AND c.active
           AND (%(cards)s::int[] IS NULL OR c.id = ANY(%(cards)s::int[]))
           AND (%(tiers)s::int[] IS NULL OR c.loyalty_tier_id = ANY(%(tiers)s::int[]))
    )
"""

# Orders that earned points in the window, not taken back in full
# (cancelled orders, full refunds).
ORDERS_SQL = """
    orders AS (
        SELECT s.partner_id, l.sale_order_id, l.pos_order_id, MIN(l.date) AS date
          FROM scope s
          JOIN loyalty_ledger_line l ON l.card_id = s.card_id
         WHERE l.entry_type = 'earn'
           AND (l.sale_order_id IS NOT NULL OR l.pos_order_id IS NOT NULL)
           AND (%(start)s::timestamp IS NULL OR l.date >= %(start)s::timestamp)
           AND (%(end)s::timestamp IS NULL OR l.date < %(end)s::timestamp)
           AND l.points + COALESCE((SELECT SUM(r.points) FROM loyalty_ledger_line r
                                     WHERE r.reversed_line_id = l.id), 0) > 0
         GROUP BY s.partner_id, l.sale_order_id, l.pos_order_id
    )
"""

GOAL_SQL = {
    # number of orders
    "orders": f"""
        WITH {SCOPE_SQL}, {ORDERS_SQL}
        SELECT partner_id, COUNT(*) FROM orders GROUP BY partner_id
    """,
    # amount spent: the orders' totals
    "spend": f"""
        WITH {SCOPE_SQL}, {ORDERS_SQL}
        SELECT o.partner_id,
               SUM(COALESCE(so.amount_total, po.amount_total, 0))
          FROM orders o
          LEFT JOIN sale_order so ON so.id = o.sale_order_id
          LEFT JOIN pos_order po ON po.id = o.pos_order_id
         GROUP BY o.partner_id
    """,
    # longest run of consecutive months with an order
    "streak": f"""
        WITH {SCOPE_SQL}, {ORDERS_SQL},
        months AS (
            SELECT DISTINCT partner_id,
                   (EXTRACT(YEAR FROM date) * 12 + EXTRACT(MONTH FROM date))::int AS m
              FROM orders
        ), runs AS (
            SELECT partner_id,
                   m - ROW_NUMBER() OVER (PARTITION BY partner_id ORDER BY m) AS grp
              FROM months
        )
        SELECT partner_id, MAX(n) FROM (
            SELECT partner_id, grp, COUNT(*) AS n FROM runs GROUP BY partner_id, grp
        ) r GROUP BY partner_id
    """,
    # referrals converted
    "referrals": f"""
        WITH {SCOPE_SQL}
        SELECT s.partner_id, COUNT(*)
          FROM scope s
          JOIN loyalty_referral r ON r.referrer_id = s.partner_id
         WHERE r.state = 'converted'
           AND (%(start)s::timestamp IS NULL
                OR r.conversion_date >= %(start)s::timestamp)
           AND (%(end)s::timestamp IS NULL
                OR r.conversion_date < %(end)s::timestamp)
         GROUP BY s.partner_id
    """,
    # feedback answers given
    "feedback": f"""
        WITH {SCOPE_SQL}
        SELECT s.partner_id, COUNT(*)
          FROM scope s
          JOIN loyalty_feedback f ON f.partner_id = s.partner_id
         WHERE (%(start)s::timestamp IS NULL OR f.date >= %(start)s::timestamp)
           AND (%(end)s::timestamp IS NULL OR f.date < %(end)s::timestamp)
         GROUP BY s.partner_id
    """,
}

# Writes the progress of one achievement and period (``%(query)s`` is a goal
# query above): new rows for members with progress, running rows updated;
# done rows are never touched.
UPSERT_SQL = """
    WITH progress(partner_id, value) AS ({query})
    INSERT INTO loyalty_achievement_member
           (achievement_id, partner_id, program_id, company_id, period,
            period_start, progress, state,
            create_uid, create_date, write_uid, write_date)
    SELECT %(achievement)s, p.partner_id, %(program)s, %(company)s, %(period)s,
           %(period_start)s, p.value, 'running',
           %(uid)s, now() at time zone 'UTC', %(uid)s, now() at time zone 'UTC'
      FROM progress p
     WHERE p.value > 0
    ON CONFLICT (achievement_id, partner_id, period) DO UPDATE
       SET progress = EXCLUDED.progress, write_uid = EXCLUDED.write_uid,
           write_date = EXCLUDED.write_date
     WHERE loyalty_achievement_member.state = 'running'
       AND loyalty_achievement_member.progress IS DISTINCT FROM EXCLUDED.progress
"""  # noqa: S608 -- our own fragments

# Running rows of the period that reached the target (of the cards given).
REACHED_SQL = """
    SELECT m.id FROM loyalty_achievement_member m
     WHERE m.achievement_id = %(achievement)s AND m.period = %(period)s
       AND m.state = 'running' AND m.progress >= %(target)s
       AND (%(cards)s::int[] IS NULL OR m.partner_id IN (
            SELECT partner_id FROM loyalty_card WHERE id = ANY(%(cards)s::int[])))
"""
