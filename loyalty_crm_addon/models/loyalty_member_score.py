# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models

from ..kpi.scoring import SEGMENTS


class LoyaltyMemberScore(models.Model):
    """A member's segment, churn risk and points habit, one narrow row per
    scored member (kpi/scoring.py): written by the daily segment run in
    set-based SQL (only the rows that changed), read by the contact's
    fields. The id is the member's."""

    _name = "loyalty.member.score"
    _description = "Loyalty Member Score"
    _log_access = False

    partner_id = fields.Many2one(
        "res.partner", string="Member", required=True, ondelete="cascade", readonly=True
    )
    segment = fields.Selection(SEGMENTS, readonly=True)
    churn_score = fields.Integer(string="Churn Risk", readonly=True)
    churn_reason = fields.Char(string="Churn Risk Reason", readonly=True)
    points_habit = fields.Selection(
        [("earn_only", "Earns Only"), ("redeemer", "Redeems")], readonly=True
    )

    _sql_constraints = [
        ("partner_uniq", "unique(partner_id)", "One score per member."),
    ]

    def init(self):
        cr = self.env.cr
        cr.execute(
            """CREATE INDEX IF NOT EXISTS loyalty_member_score_segment_idx
               ON loyalty_member_score (segment)"""
        )
        # The daily run rewrites the scores that moved in place (HOT).
        cr.execute(
            """
            SELECT 1 FROM pg_class
             WHERE relname = 'loyalty_member_score'
               AND 'fillfactor=80' = ANY(COALESCE(reloptions, '{}'))
            """
        )
        if not cr.fetchone():
            cr.execute("ALTER TABLE loyalty_member_score SET (fillfactor = 80)")
