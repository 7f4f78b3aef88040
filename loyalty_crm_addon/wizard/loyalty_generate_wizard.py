# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..engine.ledger import NATIVE_HISTORY


class LoyaltyGenerateWizard(models.TransientModel):
    _inherit = "loyalty.generate.wizard"

    def generate_coupons(self):
        """Odoo's "Gift For Customer" history lines of the cards made; a
        membership card's opening points are a ledger line, its history."""
        return super(
            LoyaltyGenerateWizard, self.with_context(loyalty_history=NATIVE_HISTORY)
        ).generate_coupons()
