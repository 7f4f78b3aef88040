# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models


class LoyaltyLedgerSourceMixin(models.AbstractModel):
    """Documents that move members' points (sales and POS orders): what they
    earned and spent, net of reversals, as their ledger lines say."""

    _name = "loyalty.ledger.source.mixin"
    _description = "Document moving loyalty points"

    loyalty_points_earned = fields.Float(
        compute="_compute_loyalty_points_ledger", compute_sudo=True
    )
    loyalty_points_spent = fields.Float(
        compute="_compute_loyalty_points_ledger", compute_sudo=True
    )

    @api.depends("loyalty_ledger_line_ids")
    def _compute_loyalty_points_ledger(self):
        for document in self:
            earned = spent = 0.0
            for line in document.loyalty_ledger_line_ids:
                kind = line.reversed_line_id.entry_type or line.entry_type
                if kind == "earn":
                    earned += line.points
                elif kind == "redeem":
                    spent -= line.points
            document.loyalty_points_earned = earned
            document.loyalty_points_spent = spent
