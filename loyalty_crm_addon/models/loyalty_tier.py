# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class LoyaltyTier(models.Model):
    _name = "loyalty.tier"
    _description = "Loyalty Tier"
    _order = "program_id, sequence, threshold, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    program_id = fields.Many2one(
        "loyalty.program", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="program_id.company_id", store=True)
    sequence = fields.Integer(default=10)
    threshold = fields.Float(
        required=True,
        help="Points earned within the program's tier window to reach this tier.",
    )
    earn_multiplier = fields.Float(default=1.0, digits=(16, 2))
    color = fields.Integer()

    _sql_constraints = [
        (
            "threshold_unique",
            "UNIQUE(program_id, threshold)",
            "Two tiers of a program cannot share a threshold.",
        ),
        ("threshold_positive", "CHECK(threshold >= 0)", "Thresholds cannot be negative."),
        (
            "multiplier_positive",
            "CHECK(earn_multiplier >= 0)",
            "An earn multiplier cannot be negative.",
        ),
    ]

    @api.constrains("program_id")
    def _check_program_type(self):
        for tier in self:
            if tier.program_id.program_type != "loyalty":
                raise ValidationError(
                    _("Tiers belong to membership (loyalty card) programs only.")
                )
