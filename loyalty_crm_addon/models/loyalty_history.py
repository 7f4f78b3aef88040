# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, models
from odoo.exceptions import UserError

from ..engine.ledger import NATIVE_HISTORY


class LoyaltyHistory(models.Model):
    """Odoo's history lines of gift cards, eWallets and coupons. A membership
    card has none: its history is its ledger (README, "One history"), which
    the card form, the sales order, the till and the portal show."""

    _inherit = "loyalty.history"

    def _loyalty_membership_cards(self, card_ids):
        cards = self.env["loyalty.card"].sudo().browse(card_ids)
        return set(cards.filtered(lambda c: c.program_type == "loyalty").ids)

    def _loyalty_refuse(self):
        raise UserError(
            self.env._(
                "The history of a membership card is its points ledger: Odoo's "
                "history lines are not written for it."
            )
        )

    @api.model_create_multi
    def create(self, vals_list):
        members = self._loyalty_membership_cards(
            {vals["card_id"] for vals in vals_list if vals.get("card_id")}
        )
        if members:
            # Odoo's flows (sale and till orders, card generation) leave the
            # membership cards out; anyone else is refused.
            if self.env.context.get("loyalty_history") is not NATIVE_HISTORY:
                self._loyalty_refuse()
            vals_list = [v for v in vals_list if v.get("card_id") not in members]
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("card_id") and self._loyalty_membership_cards([vals["card_id"]]):
            self._loyalty_refuse()
        return super().write(vals)
