# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    loyalty_membership_program_id = fields.Many2one(
        related="company_id.loyalty_membership_program_id", readonly=False
    )
    loyalty_points_validity_days = fields.Integer(
        related="company_id.loyalty_membership_program_id.loyalty_points_validity_days",
        readonly=False,
    )
    loyalty_pending_days = fields.Integer(
        related="company_id.loyalty_membership_program_id.loyalty_pending_days",
        readonly=False,
    )
    loyalty_inactivity_days = fields.Integer(
        related="company_id.loyalty_membership_program_id.loyalty_inactivity_days",
        readonly=False,
    )
