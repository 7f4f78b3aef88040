# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class LoyaltyProgram(models.Model):
    """Engagement settings of a membership program: achievements, earn
    campaigns and the points of a feedback answer."""

    _inherit = "loyalty.program"  # pylint: disable=consider-merging-classes-inherited

    loyalty_feedback_points = fields.Float(
        string="Feedback Points",
        help="Points a member gets for answering the feedback question "
        "(once per answer); 0 = nothing.",
    )
    loyalty_achievement_ids = fields.One2many(
        "loyalty.achievement", "program_id", string="Achievements"
    )
    loyalty_campaign_ids = fields.One2many(
        "loyalty.campaign", "program_id", string="Campaigns"
    )

    _sql_constraints = [
        (
            "loyalty_feedback_points_positive",
            "CHECK(loyalty_feedback_points >= 0)",
            "Feedback points cannot be negative.",
        ),
    ]
