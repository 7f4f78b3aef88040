# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class SaleLoyaltyRewardWizard(models.TransientModel):
    """Odoo's reward selection of a quotation (the Rewards button) says what
    the member has to spend; each reward says what it costs (the view's
    ``loyalty_reward_radio`` widget)."""

    _inherit = "sale.loyalty.reward.wizard"

    loyalty_points_available = fields.Float(
        string="Points to Spend", compute="_compute_loyalty_points_available"
    )
    loyalty_point_name = fields.Char(compute="_compute_loyalty_points_available")
    loyalty_member_id = fields.Many2one(
        "res.partner", compute="_compute_loyalty_points_available"
    )

    @api.depends("order_id")
    def _compute_loyalty_points_available(self):
        for wizard in self:
            order = wizard.order_id.sudo()
            program = order.company_id.loyalty_membership_program_id
            card = program and order._loyalty_card_for(program)
            wizard.loyalty_member_id = card.partner_id.id if card else False
            wizard.loyalty_points_available = (
                order._get_real_points_for_coupon(card) if card else 0.0
            )
            wizard.loyalty_point_name = (
                (program.portal_point_name or self.env._("Points")) if card else False
            )
