# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models
from odoo.tools import SQL

from ..kpi.aggregate import FOLD_ACTIVITY_SQL

INDEXES = (
    # Members active since a day (the inactive rate).
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_member_activity_day_idx
       ON loyalty_kpi_member_activity (program_id, last_day) INCLUDE (partner_id)""",
    # A contact's rows (merge, deletion).
    """CREATE INDEX IF NOT EXISTS loyalty_kpi_member_activity_partner_idx
       ON loyalty_kpi_member_activity (partner_id)""",
)


class LoyaltyKpiMemberActivity(models.Model):
    """Each member's last day of earning or redeeming in a program, folded
    with the daily points (kpi/aggregate.py), for the inactive rate."""

    _name = "loyalty.kpi.member.activity"
    _description = "Loyalty KPI Member Activity"
    _log_access = False
    _order = "last_day desc, id desc"

    program_id = fields.Many2one(
        "loyalty.program", required=True, ondelete="cascade", readonly=True
    )
    partner_id = fields.Many2one(
        "res.partner", string="Member", required=True, ondelete="cascade", readonly=True
    )
    last_day = fields.Date(string="Last Activity", required=True, readonly=True)

    _sql_constraints = [
        (
            "program_partner_uniq",
            "unique(program_id, partner_id)",
            "One last day per member and program.",
        ),
    ]

    def init(self):
        for statement in INDEXES:
            self.env.cr.execute(statement)
        self._fill_activity()

    @api.model
    def _fill_activity(self):
        """A database folded before the members' last days were kept: fill
        them up to the watermark once."""
        cr = self.env.cr
        cr.execute(
            """
            SELECT last_id FROM loyalty_kpi_watermark WHERE name = 'points'
               AND NOT EXISTS (SELECT 1 FROM loyalty_kpi_member_activity)
            """
        )
        row = cr.fetchone()
        if row and row[0]:
            cr.execute(SQL(FOLD_ACTIVITY_SQL, after=0, upto=row[0]))
