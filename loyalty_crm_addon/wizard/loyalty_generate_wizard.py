# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import models

from ..engine.ledger import NATIVE_HISTORY


class LoyaltyGenerateWizard(models.TransientModel):
    _inherit = "loyalty.generate.wizard"

    def generate_coupons(self):
        """Odoo writes its "Gift For Customer" history lines of the cards
        made, membership cards included; a membership card's opening points
        are also its first ledger line, the history the addon shows."""
        return super(
            LoyaltyGenerateWizard, self.with_context(loyalty_history=NATIVE_HISTORY)
        ).generate_coupons()
