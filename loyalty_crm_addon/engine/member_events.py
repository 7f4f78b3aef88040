# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Model-free parts of member events: the queries of the daily scans and the
context of follow-ups written without tracking. The detection and the
follow-ups are methods of ``loyalty.member.event`` (its mixins
``loyalty.member.event.detection`` and ``loyalty.member.event.follow.up``)."""

from .member_figures import EXPIRING_SOON_SQL

NO_TRACKING = {
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "tracking_disable": True,
}

# A batch of a scan (keyset-paginated on its first column, ``%(last)s``),
# with the rows left after it, for the cron's progress (the scan reads them
# all anyway, to sort them).
SCAN_BATCH_SQL = """
    SELECT scan.*, COUNT(*) OVER () FROM ({query}) scan
     ORDER BY 1 LIMIT %(batch)s
"""

# Members with no earn nor redeem for the program's loyalty_inactivity_days.
INACTIVE_SQL = """
    SELECT DISTINCT ON (p.id) p.id, c.id, c.program_id,
           COALESCE(c.company_id, pr.company_id), c.loyalty_tier_id, a.last
      FROM loyalty_card c
      JOIN loyalty_program pr ON pr.id = c.program_id
      JOIN res_partner p ON p.id = c.partner_id
     CROSS JOIN LATERAL (
           SELECT COALESCE(p.loyalty_last_activity_date,
                           c.create_date::date) AS last
     ) a
     WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
       AND p.id > %(last)s
       AND a.last <= %(today)s::date - pr.loyalty_inactivity_days
     ORDER BY p.id, c.id
"""

# Members born on this day (``%(days)s``: the 28th and 29th of February in
# common years).
BIRTHDAY_SQL = """
    SELECT DISTINCT ON (p.id) p.id, c.id, c.program_id,
           COALESCE(c.company_id, pr.company_id)
      FROM res_partner p
      JOIN loyalty_card c ON c.partner_id = p.id
      JOIN loyalty_program pr ON pr.id = c.program_id
     WHERE pr.program_type = 'loyalty' AND pr.active AND p.active
       AND p.id > %(last)s
       AND EXTRACT(MONTH FROM p.loyalty_birthday) = %(month)s
       AND EXTRACT(DAY FROM p.loyalty_birthday) = ANY(%(days)s)
     ORDER BY p.id, c.id
"""

# Open lots by card and expiry date that expire within the program's
# loyalty_expiry_warning_days.
EXPIRING_SQL = f"""
    SELECT MIN(l.id), l.card_id, c.partner_id, c.program_id,
           COALESCE(c.company_id, pr.company_id), l.expiry_date,
           SUM(l.points_residual)
      FROM loyalty_ledger_line l
      JOIN loyalty_card c ON c.id = l.card_id
      JOIN loyalty_program pr ON pr.id = c.program_id
     WHERE {EXPIRING_SOON_SQL}
       AND c.partner_id IS NOT NULL
     GROUP BY l.card_id, l.expiry_date, c.partner_id, c.program_id,
              c.company_id, pr.company_id
    HAVING MIN(l.id) > %(last)s
     ORDER BY MIN(l.id)
"""  # noqa: S608 -- our own fragment
