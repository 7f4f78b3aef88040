# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Points movements pre-aggregated per day, for the KPIs and the reports.

``loyalty_kpi_points_daily`` holds, per day × program × company × source ×
entry type, the points issued, redeemed, expired and net and the number of
ledger lines. Ledger lines are append-only and their points, type, source,
company and date never change, so the table is kept by folding in the lines
posted since a watermark (the highest line id folded,
``loyalty_kpi_watermark``): a fold adds each new day's sums onto its row
(``INSERT ... ON CONFLICT DO UPDATE``), set-based, by id range.

The same fold keeps ``loyalty_kpi_member_activity``: each member's last day
of earning or redeeming in a program, for the inactive rate (a member is
active when that day falls in the window, as long as no folded activity is
dated after the window's end; the KPI engine reads the ledger otherwise).

Readers are exact at any time: they read the aggregate for the lines up to
the watermark plus the raw lines above it (an index range on the primary
key: the few lines posted since the last fold).

A fold first takes a SHARE lock on the ledger table in a transaction of its
own, then reads: every transaction that was inserting lines has ended, so
no line with an id under the new watermark can still appear later (ids come
from a sequence, so an uncommitted low id is the one way a watermark could
skip a line). New posts wait for the fold's short transaction. Posting does
not write the aggregate itself: every order of a day would update the same
row and serialise (or fail to serialise) concurrent checkouts.
"""

from odoo.tools import SQL

from .sql import ISSUED_SQL, REDEEMED_SQL

TABLE_SQL = """
    CREATE TABLE IF NOT EXISTS loyalty_kpi_points_daily (
        id serial PRIMARY KEY,
        day date NOT NULL,
        program_id int NOT NULL,
        company_id int NOT NULL DEFAULT 0,
        source varchar NOT NULL DEFAULT '',
        entry_type varchar NOT NULL,
        points_issued numeric NOT NULL DEFAULT 0,
        points_redeemed numeric NOT NULL DEFAULT 0,
        points_expired numeric NOT NULL DEFAULT 0,
        points_net numeric NOT NULL DEFAULT 0,
        line_count int NOT NULL DEFAULT 0,
        UNIQUE (day, program_id, company_id, source, entry_type)
    );
    CREATE INDEX IF NOT EXISTS loyalty_kpi_points_daily_program_day_idx
        ON loyalty_kpi_points_daily (program_id, day);
    CREATE TABLE IF NOT EXISTS loyalty_kpi_watermark (
        name varchar PRIMARY KEY,
        last_id int NOT NULL DEFAULT 0
    );
    INSERT INTO loyalty_kpi_watermark (name, last_id) VALUES ('points', 0)
        ON CONFLICT DO NOTHING;
    CREATE TABLE IF NOT EXISTS loyalty_kpi_member_activity (
        program_id int NOT NULL,
        partner_id int NOT NULL,
        last_day date NOT NULL,
        PRIMARY KEY (program_id, partner_id)
    );
    CREATE INDEX IF NOT EXISTS loyalty_kpi_member_activity_day_idx
        ON loyalty_kpi_member_activity (program_id, last_day) INCLUDE (partner_id);
"""

# Earning and redeeming: what makes a member active.
ACTIVITY_TYPES = "('earn', 'redeem')"

# One row per ledger line with the aggregate's columns (``company_id`` 0 and
# ``source`` '' stand for none, so that the unique key holds).
LINE_COLUMNS = f"""
    l.date::date AS day, l.program_id, COALESCE(l.company_id, 0) AS company_id,
    COALESCE(l.source, '') AS source, l.entry_type,
    {ISSUED_SQL} AS points_issued,
    {REDEEMED_SQL} AS points_redeemed,
    CASE WHEN l.entry_type = 'expire' THEN -l.points ELSE 0 END AS points_expired,
    l.points AS points_net
"""

FOLD_SQL = f"""
    INSERT INTO loyalty_kpi_points_daily (
        day, program_id, company_id, source, entry_type, points_issued,
        points_redeemed, points_expired, points_net, line_count)
    SELECT day, program_id, company_id, source, entry_type, SUM(points_issued),
           SUM(points_redeemed), SUM(points_expired), SUM(points_net), COUNT(*)
      FROM (SELECT {LINE_COLUMNS} FROM loyalty_ledger_line l
             WHERE l.id > %(after)s AND l.id <= %(upto)s
               AND l.program_id IS NOT NULL) l
     GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (day, program_id, company_id, source, entry_type) DO UPDATE SET
        points_issued = loyalty_kpi_points_daily.points_issued
                        + EXCLUDED.points_issued,
        points_redeemed = loyalty_kpi_points_daily.points_redeemed
                          + EXCLUDED.points_redeemed,
        points_expired = loyalty_kpi_points_daily.points_expired
                         + EXCLUDED.points_expired,
        points_net = loyalty_kpi_points_daily.points_net + EXCLUDED.points_net,
        line_count = loyalty_kpi_points_daily.line_count + EXCLUDED.line_count
"""

# Each member's last day of activity per program, from the lines of an id
# range (lines are append-only: the day only moves forward).
FOLD_ACTIVITY_SQL = f"""
    INSERT INTO loyalty_kpi_member_activity (program_id, partner_id, last_day)
    SELECT l.program_id, l.partner_id, MAX(l.date)::date
      FROM loyalty_ledger_line l
     WHERE l.id > %(after)s AND l.id <= %(upto)s
       AND l.program_id IS NOT NULL AND l.partner_id IS NOT NULL
       AND l.entry_type IN {ACTIVITY_TYPES}
     GROUP BY 1, 2
    ON CONFLICT (program_id, partner_id) DO UPDATE SET
        last_day = GREATEST(loyalty_kpi_member_activity.last_day, EXCLUDED.last_day)
"""

# The partners who earned or redeemed in a program between %(since)s and
# %(end)s (dates), read from the ledger lines.
ACTIVE_LINES_SQL = f"""
    SELECT l.partner_id FROM loyalty_ledger_line l
     WHERE l.program_id = %(program)s AND l.entry_type IN {ACTIVITY_TYPES}
       AND l.date >= %(since)s AND l.date < %(end)s
"""
# The same as the readers see them: the folded last days, the lines above
# the watermark.
ACTIVE_MEMBERS_SQL = f"""
    SELECT a.partner_id FROM loyalty_kpi_member_activity a
     WHERE a.program_id = %(program)s AND a.last_day >= %(since)s
    UNION ALL
    {ACTIVE_LINES_SQL}
       AND l.id > (SELECT last_id FROM loyalty_kpi_watermark WHERE name = 'points')
"""

# The points movements as the readers see them: the aggregate up to the
# watermark, the raw lines above it (``line_count`` says how many lines a row
# stands for).
POINTS_DAILY_SQL = f"""
    SELECT a.id, a.day, a.program_id, a.company_id, a.source, a.entry_type,
           a.points_issued, a.points_redeemed, a.points_expired, a.points_net,
           a.line_count
      FROM loyalty_kpi_points_daily a
    UNION ALL
    SELECT -l.id, {LINE_COLUMNS}, 1
      FROM loyalty_ledger_line l
     WHERE l.id > (SELECT last_id FROM loyalty_kpi_watermark WHERE name = 'points')
       AND l.program_id IS NOT NULL
"""


def create_tables(cr):
    cr.execute(TABLE_SQL)
    # A database folded before the activity table existed: fill it up to
    # the watermark once.
    cr.execute(
        """
        SELECT last_id FROM loyalty_kpi_watermark WHERE name = 'points'
           AND NOT EXISTS (SELECT 1 FROM loyalty_kpi_member_activity)
        """
    )
    row = cr.fetchone()
    if row and row[0]:
        cr.execute(SQL(FOLD_ACTIVITY_SQL, after=0, upto=row[0]))


def fold_points(cr, batch_size=2000000, on_batch=None):
    """Fold the ledger lines posted since the watermark into the daily
    aggregate, ``batch_size`` ids per transaction step; returns the span of
    ids folded. ``cr`` must be at the start of its transaction (the lock
    comes before the snapshot); ``on_batch(done)`` may commit, the next step
    locks again."""
    folded = 0
    # Members' last days are folded once for every line up to the top (a
    # last day only moves forward, so folding a line again is harmless: a
    # run stopped between steps folds them again). Per step, each step
    # would touch nearly every member again.
    activity_upto = 0
    while True:
        cr.execute("LOCK TABLE loyalty_ledger_line IN SHARE MODE")
        cr.execute(
            """
            SELECT w.last_id, (SELECT MAX(id) FROM loyalty_ledger_line)
              FROM loyalty_kpi_watermark w WHERE w.name = 'points' FOR UPDATE
            """
        )
        after, top = cr.fetchone()
        if not top or top <= after:
            return folded
        upto = min(top, after + batch_size)
        cr.execute(SQL(FOLD_SQL, after=after, upto=upto))
        if activity_upto < upto:
            cr.execute(SQL(FOLD_ACTIVITY_SQL, after=after, upto=top))
            activity_upto = top
        cr.execute(
            "UPDATE loyalty_kpi_watermark SET last_id = %s WHERE name = 'points'",
            [upto],
        )
        folded += upto - after
        if on_batch:
            on_batch(folded)
        if upto == top:
            return folded
