# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import fields, models


class LoyaltyLedgerAdjust(models.TransientModel):
    _name = "loyalty.ledger.adjust"
    _description = "Adjust a member's loyalty points"

    partner_id = fields.Many2one("res.partner", string="Member", required=True)
    current_balance = fields.Float(related="partner_id.loyalty_balance")
    points = fields.Float(
        required=True,
        help="Points to add; a negative number removes points.",
    )
    reason = fields.Char(required=True)

    def action_confirm(self):
        self.ensure_one()
        self.partner_id.loyalty_adjust_points(self.points, self.reason)
        return {"type": "ir.actions.act_window_close"}
