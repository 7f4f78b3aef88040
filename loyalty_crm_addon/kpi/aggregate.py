# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Points movements pre-aggregated per day, for the KPIs and the reports.

``loyalty.kpi.points.daily`` (table ``loyalty_kpi_points_daily``) holds, per
day × program × company × source × entry type, the points issued, redeemed,
expired and net and the number of ledger lines. Ledger lines are append-only
and their points, type, source, company and date never change, so the table
is kept by folding in the lines posted since a watermark (the highest line
id folded, ``loyalty.kpi.watermark``): a fold adds each new day's sums onto
its row (``INSERT ... ON CONFLICT DO UPDATE``), set-based, by id range.

The same fold keeps ``loyalty.kpi.member.activity``: each member's last day
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

The fold is ``loyalty.kpi.points.daily._fold_points``, the first fill of
the members' last days ``loyalty.kpi.member.activity._fill_activity``; this
file holds their SQL.
"""

from .sql import ISSUED_SQL, REDEEMED_SQL

# Earning and redeeming: what makes a member active.
ACTIVITY_TYPES = "('earn', 'redeem')"

# One row per ledger line with the aggregate's columns (``source`` '' stands
# for none; the unique key takes a company of none as 0).
LINE_COLUMNS = f"""
    l.date::date AS day, l.program_id, l.company_id,
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
    ON CONFLICT (day, program_id, (COALESCE(company_id, 0)), source, entry_type)
    DO UPDATE SET
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
# range (lines are append-only: the day only moves forward). Known members
# are updated in place, only new ones inserted (they alone take an id).
FOLD_ACTIVITY_SQL = f"""
    WITH latest AS (
        SELECT l.program_id, l.partner_id, MAX(l.date)::date AS last_day
          FROM loyalty_ledger_line l
         WHERE l.id > %(after)s AND l.id <= %(upto)s
           AND l.program_id IS NOT NULL AND l.partner_id IS NOT NULL
           AND l.entry_type IN {ACTIVITY_TYPES}
         GROUP BY 1, 2
    ),
    moved AS (
        UPDATE loyalty_kpi_member_activity a SET last_day = n.last_day
          FROM latest n
         WHERE a.program_id = n.program_id AND a.partner_id = n.partner_id
           AND a.last_day < n.last_day
    )
    INSERT INTO loyalty_kpi_member_activity AS a (program_id, partner_id, last_day)
    SELECT n.program_id, n.partner_id, n.last_day FROM latest n
     WHERE NOT EXISTS (
         SELECT 1 FROM loyalty_kpi_member_activity a
          WHERE a.program_id = n.program_id AND a.partner_id = n.partner_id)
    ON CONFLICT (program_id, partner_id) DO UPDATE SET
        last_day = GREATEST(a.last_day, EXCLUDED.last_day)
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
